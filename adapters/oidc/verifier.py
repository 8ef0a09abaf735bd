"""``JwksIdTokenVerifier``: the ``IdTokenVerifier`` port against Apple's and Google's JWKS.

The signature is checked with joserfc, pinned to the one algorithm that fits the key's type
(RS256 for RSA, ES256 for EC), so ``none``, HS* and a mismatched ``alg`` are refused. Claims
go through joserfc's ``JWTClaimsRegistry`` (iss, aud, exp with leeway, iat, sub), then our
nonce rule. Each provider's JWKS is fetched lazily over one aiohttp session and cached for
``cache_ttl``; a token whose ``kid`` is unknown triggers a refetch, but fetches for one
provider are at least ``refetch_interval`` apart, so bogus kids cannot make us hammer it.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import attrs
from joserfc import errors as jose_errors
from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey

from momentic_core.errors import Invalid, Unauthenticated, Unavailable
from momentic_core.model.accounts import VerifiedIdToken

GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
APPLE_ISSUERS = ("https://appleid.apple.com",)
_ALG_FOR_KTY = {"RSA": "RS256", "EC": "ES256"}
_DECODE_ERRORS = (jose_errors.JoseError, ValueError, TypeError, KeyError, UnicodeError)


@attrs.frozen
class ProviderConfig:
    issuers: tuple[str, ...]
    jwks_url: str
    client_ids: tuple[str, ...]


@attrs.define
class _ProviderKeys:
    keys: dict[str, RSAKey | ECKey] = attrs.field(factory=dict)
    expires_at: datetime | None = None  # of the last good fetch; None: nothing cached
    last_fetch: datetime | None = None  # of the last attempt, good or not
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _invalid(reason: str) -> Unauthenticated:
    return Unauthenticated(f"The ID token is not valid: {reason}.", code="invalid_id_token")


class JwksIdTokenVerifier:
    def __init__(
        self,
        providers: Mapping[str, ProviderConfig],
        clock: Callable[[], datetime] = _utc_now,
        cache_ttl: timedelta = timedelta(hours=1),
        refetch_interval: timedelta = timedelta(seconds=60),
        leeway: timedelta = timedelta(seconds=60),
        http_timeout: float = 5.0,
    ) -> None:
        self._providers = dict(providers)
        self._clock = clock
        self._cache_ttl = cache_ttl
        self._refetch_interval = refetch_interval
        self._leeway = int(leeway.total_seconds())
        self._timeout = aiohttp.ClientTimeout(total=http_timeout)
        self._state = {name: _ProviderKeys() for name in self._providers}
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def verify(self, provider: str, id_token: str, nonce: str | None) -> VerifiedIdToken:
        config = self._providers.get(provider)
        if config is None:
            raise Invalid("This sign-in provider is not supported.", code="unknown_provider")
        try:
            header = jws.extract_compact(id_token.encode()).headers()
        except _DECODE_ERRORS:
            raise _invalid("malformed token") from None
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise _invalid("no key id")
        key = await self._key(provider, config, kid)
        if key is None:
            raise _invalid("unknown signing key")
        try:
            claims = jwt.decode(id_token, key, algorithms=[_ALG_FOR_KTY[key.key_type]]).claims
        except _DECODE_ERRORS:
            raise _invalid("bad signature or algorithm") from None
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock().timestamp()),
            leeway=self._leeway,
            iss={"essential": True, "values": list(config.issuers)},
            aud={"essential": True, "values": list(config.client_ids)},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except jose_errors.ExpiredTokenError:
            raise _invalid("expired") from None
        except jose_errors.ClaimError as error:
            raise _invalid(f"bad or missing claim {error.claim}") from None
        token_nonce = claims.get("nonce")
        if nonce is None:
            if token_nonce is not None:
                raise _invalid("unexpected nonce")
        elif not isinstance(token_nonce, str) or not hmac.compare_digest(
            token_nonce.encode(), nonce.encode()
        ):
            raise _invalid("nonce mismatch")
        email = claims.get("email")
        verified = claims.get("email_verified")
        return VerifiedIdToken(
            provider=provider,
            subject=claims["sub"],
            email=email if isinstance(email, str) and email else None,
            # Apple sends "true"/"false" strings, Google a bool.
            email_verified=verified is True
            or (isinstance(verified, str) and verified.lower() == "true"),
        )

    async def _key(self, provider: str, config: ProviderConfig, kid: str) -> RSAKey | ECKey | None:
        state = self._state[provider]
        async with state.lock:  # one fetch at a time per provider; waiters see its result
            now = self._clock()
            if state.expires_at is None or now >= state.expires_at:
                await self._fetch(config, state, now)
            elif kid not in state.keys and (
                state.last_fetch is None or now - state.last_fetch >= self._refetch_interval
            ):
                await self._fetch(config, state, now)
            return state.keys.get(kid)

    async def _fetch(self, config: ProviderConfig, state: _ProviderKeys, now: datetime) -> None:
        state.last_fetch = now
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.get(config.jwks_url) as response:
                response.raise_for_status()
                document = await response.json(content_type=None)
            keys = _parse_jwks(document)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise Unavailable(
                "The sign-in provider cannot be reached.", code="provider_unavailable"
            ) from error
        state.keys = keys
        state.expires_at = now + self._cache_ttl


def _parse_jwks(document: Any) -> dict[str, RSAKey | ECKey]:
    """The usable signing keys by kid; keys of other types, uses or algorithms are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWKS")
    keys: dict[str, RSAKey | ECKey] = {}
    for jwk in entries:
        if not isinstance(jwk, dict):
            continue
        kty, kid = jwk.get("kty"), jwk.get("kid")
        alg = _ALG_FOR_KTY.get(kty) if isinstance(kty, str) else None
        if alg is None or not isinstance(kid, str) or jwk.get("use", "sig") != "sig":
            continue
        if jwk.get("alg", alg) != alg:
            continue
        try:
            keys[kid] = RSAKey.import_key(jwk) if kty == "RSA" else ECKey.import_key(jwk)
        except _DECODE_ERRORS:
            continue
    return keys


def _ids(value: str | Iterable[str]) -> tuple[str, ...]:
    parts = value.split(",") if isinstance(value, str) else value
    return tuple(part.strip() for part in parts if part.strip())


def from_settings(
    google_client_ids: str | Iterable[str],
    apple_client_ids: str | Iterable[str],
    google_jwks_url: str,
    apple_jwks_url: str,
    *,
    clock: Callable[[], datetime] = _utc_now,
    cache_ttl: timedelta = timedelta(hours=1),
    refetch_interval: timedelta = timedelta(seconds=60),
) -> JwksIdTokenVerifier:
    """A verifier for the providers that have client ids (comma-separated or a sequence)."""
    providers: dict[str, ProviderConfig] = {}
    if google := _ids(google_client_ids):
        providers["google"] = ProviderConfig(GOOGLE_ISSUERS, google_jwks_url, google)
    if apple := _ids(apple_client_ids):
        providers["apple"] = ProviderConfig(APPLE_ISSUERS, apple_jwks_url, apple)
    return JwksIdTokenVerifier(providers, clock, cache_ttl, refetch_interval)
