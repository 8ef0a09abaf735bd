"""Access tokens: JWTs signed with ES256 only, through joserfc.

Claims: iss, aud, sub, exp, iat, jti, typ="access", sid (session), ver (token version),
role. Anything else (alg none, HS256 with the public key, another iss or aud, a refresh
token, an expired token) is refused.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path

from joserfc import errors as jose_errors
from joserfc import jwt
from joserfc.jwk import ECKey

from momentic_core.errors import Unauthenticated
from momentic_core.model.accounts import AccessClaims, Role, User

ALGORITHM = "ES256"


def load_or_create_key(pem: str | None, path: Path | None) -> ECKey:
    """The signing key from PEM text, or from a file (created on first use), or a fresh one."""
    if pem:
        return ECKey.import_key(pem)
    if path is not None:
        if path.exists():
            return ECKey.import_key(path.read_bytes())
        key = ECKey.generate_key("P-256", private=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(key.as_pem(private=True))
        return key
    return ECKey.generate_key("P-256", private=True)


class JoseTokenSigner:
    def __init__(
        self,
        key: ECKey,
        issuer: str = "momentic",
        audience: str = "momentic-api",
        access_ttl: timedelta = timedelta(minutes=15),
    ) -> None:
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self.access_ttl = access_ttl
        # Tokens whose signature and claims checked out, with their claims: a client sends
        # the same token with every request for its lifetime, and an ECDSA verification
        # costs more than the rest of a small request's Python. Expiry is checked again on
        # every use; revocation is the session check's business, as without the cache.
        self._verified: dict[str, AccessClaims] = {}

    VERIFIED_CACHE_SIZE = 20_000

    def issue_access(self, user: User, session_id: int, now: datetime) -> str:
        iat = int(now.timestamp())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user.id),
            "iat": iat,
            "exp": iat + int(self.access_ttl.total_seconds()),
            "jti": secrets.token_urlsafe(12),
            "typ": "access",
            "sid": session_id,
            "ver": user.token_version,
            "role": user.role.value,
        }
        return jwt.encode({"alg": ALGORITHM, "typ": "JWT"}, claims, self._key, [ALGORITHM])

    def verify_access(self, token: str, now: datetime) -> AccessClaims:
        claims = self._verified.get(token)
        if claims is not None:
            if now < claims.expires_at:
                return claims
            del self._verified[token]  # the full check below says why it is refused
        claims = self._verify_access(token, now)
        if len(self._verified) >= self.VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = claims
        return claims

    def _verify_access(self, token: str, now: datetime) -> AccessClaims:
        invalid = Unauthenticated("The access token is not valid.", code="invalid_token")
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
        except (jose_errors.JoseError, ValueError, TypeError, UnicodeError):
            raise invalid from None
        if decoded.header.get("alg") != ALGORITHM:
            raise invalid
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
            typ={"essential": True, "value": "access"},
        )
        try:
            registry.validate(decoded.claims)
        except jose_errors.ExpiredTokenError:
            raise Unauthenticated("The access token has expired.", code="token_expired") from None
        except jose_errors.JoseError:
            raise invalid from None
        c = decoded.claims
        try:
            return AccessClaims(
                user_id=int(c["sub"]),
                session_id=int(c["sid"]),
                token_version=int(c["ver"]),
                role=Role(c["role"]),
                expires_at=datetime.fromtimestamp(int(c["exp"]), tz=now.tzinfo),
            )
        except (KeyError, ValueError, TypeError):
            raise invalid from None
