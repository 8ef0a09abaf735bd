"""Two-factor authentication: TOTP (RFC 6238) through pyotp, with recovery codes.

Enrolment: ``enrol`` makes a secret (160 bits, base32) and answers it once with its
otpauth:// URI (for a QR code); it is pending, and never asked for, until ``confirm``
takes a code of it. Confirming answers ten single-use recovery codes, once: the store
keeps their HMAC only. The secret is stored sealed (``ports.Sealer``), never answered
again and never logged. ``disable`` takes the password (for an account that has one) and
a code.

Codes: six digits of 30-second steps, SHA-1 (what every authenticator app does). A code
of the current step or of one step either side (clock drift) is accepted, nothing further;
each step at most once, and never one at or before the last step accepted (a code seen by
someone else is spent, and so is an older one). A recovery code stands in for a code
wherever one is asked for, once. Every attempt counts against ``mfa:ip`` and ``mfa:user``
(services.throttle), like a password guess.

Sign-in: with a password (v1 and legacy) or with Apple/Google, an account whose
authenticator is confirmed gets no tokens: 403 ``mfa_required`` carrying ``mfa_token``, a
challenge valid ``CHALLENGE_TTL``; ``sign_in`` exchanges challenge plus code for the
tokens. The challenge is signed (HMAC) and bound to the account's password, so it dies
with a password change or reset.

Staff: with the runtime setting ``staff_mfa_required``, admin and moderator accounts
without a confirmed authenticator get 403 ``mfa_enrolment_required`` from staff routes
(``require_staff_enrolment``) until they enrol; everything else, enrolment included, still
answers them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
import pyotp

from momentic_core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    MomenticError,
    NotFound,
    Unauthenticated,
)
from momentic_core.model.accounts import Principal, Role, TokenPair, User
from momentic_core.model.mfa import MfaStatus, Totp
from momentic_core.policies import permissions
from momentic_core.ports import Clock, PasswordHasher, Sealer, UnitOfWork, UnitOfWorkFactory
from momentic_core.services.accounts import Accounts, DeviceInfo
from momentic_core.services.config import Config
from momentic_core.services.throttle import Throttle

# Stable codes of this module (problem+json ``code``).
MFA_REQUIRED = "mfa_required"
MFA_ENROLMENT_REQUIRED = "mfa_enrolment_required"
INVALID_MFA_CODE = "invalid_mfa_code"
INVALID_MFA_TOKEN = "invalid_mfa_token"
MFA_ALREADY_ENABLED = "mfa_already_enabled"
MFA_NOT_PENDING = "mfa_not_pending"
MFA_NOT_ENABLED = "mfa_not_enabled"
CODES = (
    MFA_REQUIRED, MFA_ENROLMENT_REQUIRED, INVALID_MFA_CODE, INVALID_MFA_TOKEN,
    MFA_ALREADY_ENABLED, MFA_NOT_PENDING, MFA_NOT_ENABLED,
)

ISSUER = "Momentic"
STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # a code of one step before or after now is accepted; two is not
RECOVERY_CODES = 10
CHALLENGE_TTL = timedelta(minutes=5)
_TOTP_CODE = re.compile(r"[0-9]{6}")
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
RECOVERY_CODE = re.compile(r"[a-z2-9]{5}-[a-z2-9]{5}")


def totp_of(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def step_at(now: datetime) -> int:
    """The RFC 6238 time step (T) of ``now``."""
    return int(now.timestamp()) // STEP_SECONDS


def code_at_step(secret: str, step: int) -> str:
    return totp_of(secret).generate_otp(step)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The step within the drift whose code ``code`` is (the latest, if several), or None.
    Every candidate is compared, in constant time each."""
    if not _TOTP_CODE.fullmatch(code):
        return None
    current = step_at(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at_step(secret, step), code):
            found = step
    return found


def _bad_code() -> Invalid:
    return Invalid("The code is wrong, expired or used already.", code=INVALID_MFA_CODE,
                   field="code")


def _bad_token() -> Unauthenticated:
    return Unauthenticated("The sign-in challenge is unknown or has expired; sign in "
                           "again.", code=INVALID_MFA_TOKEN)


@attrs.frozen
class Enrolment:
    """Answered once: the secret in clear and its otpauth:// URI."""

    secret: str
    otpauth_uri: str
    digits: int = DIGITS
    period: int = STEP_SECONDS


class TwoFactor:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        throttle: Throttle,
        config: Config,
        hasher: PasswordHasher,
        sealer: Sealer,
        accounts: Accounts,
        secret: bytes,
        random_secret: Callable[[], str] = pyotp.random_base32,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._throttle = throttle
        self._config = config
        self._hasher = hasher
        self._sealer = sealer
        self._accounts = accounts
        self._key = hmac.new(secret, b"momentic mfa", hashlib.sha256).digest()
        self._random_secret = random_secret
        accounts.second_factor = self.challenge_for  # sign-ins ask for the code

    # ------------------------------------------------------------------ enrolment

    async def status(self, who: Principal) -> MfaStatus:
        async with self._uow(read_only=True) as tx:
            totp = await tx.totp.get(who.user_id)
        return MfaStatus.of(totp)

    async def enrol(self, who: Principal) -> Enrolment:
        """A new pending secret (replacing a pending one). Raises Conflict(code=
        "mfa_already_enabled")."""
        secret = self._random_secret()
        async with self._uow() as tx:
            user = await tx.users.get(who.user_id)
            found = await tx.totp.get(who.user_id)
            if found is not None and found.enabled:
                raise Conflict("Two-factor authentication is on already; turn it off "
                               "first to enrol another authenticator.",
                               code=MFA_ALREADY_ENABLED)
            await tx.totp.put_pending(Totp(
                user_id=user.id, secret=self._sealer.seal(secret),
                created_at=self._clock.now(),
            ))
        uri = totp_of(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
        return Enrolment(secret=secret, otpauth_uri=uri)

    async def confirm(self, who: Principal, code: str) -> list[str]:
        """Turn the pending authenticator on with one of its codes; the ten recovery codes,
        answered this once. Raises Conflict(code="mfa_not_pending"), Invalid(code=
        "invalid_mfa_code"), RateLimited."""
        await self._count(who.user_id, None)
        now = self._clock.now()
        async with self._uow(read_only=True) as tx:
            totp = await tx.totp.get(who.user_id)
        if totp is None or totp.enabled:
            raise Conflict("There is no authenticator waiting for confirmation; enrol "
                           "first (POST /v1/me/2fa).", code=MFA_NOT_PENDING)
        step = matching_step(self._sealer.open(totp.secret), code.strip(), now)
        if step is None:
            raise _bad_code()
        codes = [self._new_recovery_code() for _ in range(RECOVERY_CODES)]
        hashes = tuple(self._recovery_hash(who.user_id, c) for c in codes)
        async with self._uow() as tx:
            if not await tx.totp.confirm(who.user_id, now, step, hashes):
                raise Conflict("There is no authenticator waiting for confirmation.",
                               code=MFA_NOT_PENDING)
        return codes

    async def disable(self, who: Principal, password: str | None, code: str) -> None:
        """Turn two-factor authentication off: the password (an account without one, made
        by social sign-in, gives none) and a code or a recovery code. Raises Conflict(code=
        "mfa_not_enabled"), Unauthenticated(code="invalid_credentials"), Invalid(code=
        "invalid_mfa_code"), RateLimited."""
        await self._throttle.check("password:user", f"user:{who.user_id}")
        async with self._uow(read_only=True) as tx:
            user = await tx.users.get(who.user_id)
            totp = await tx.totp.get(who.user_id)
        if user.password_hash is not None and not (
            password is not None and await self._hasher.verify(user.password_hash, password)
        ):
            raise Unauthenticated("Wrong password.", code="invalid_credentials")
        if totp is None or not totp.enabled:
            raise Conflict("Two-factor authentication is off.", code=MFA_NOT_ENABLED)
        await self._count(who.user_id, None)
        await self._spend_code(totp, code)
        async with self._uow() as tx:
            await tx.totp.delete(who.user_id)

    # ------------------------------------------------------------------ sign-in

    async def challenge_for(self, tx: UnitOfWork, user: User) -> MomenticError | None:
        """What a sign-in of ``user`` answers instead of tokens: 403 mfa_required with a
        challenge, when their authenticator is confirmed; else None (tokens)."""
        totp = await tx.totp.get(user.id)
        if totp is None or not totp.enabled:
            return None
        seconds = int(CHALLENGE_TTL.total_seconds())
        return Forbidden(
            "This account has two-factor authentication: send a code from the "
            "authenticator app (or a recovery code) with mfa_token to POST /v1/auth/2fa.",
            code=MFA_REQUIRED, mfa_token=self._challenge(user), expires_in=seconds,
        )

    async def sign_in(self, mfa_token: str, code: str, device: DeviceInfo) -> TokenPair:
        """The second step of a sign-in. Raises Unauthenticated(code="invalid_mfa_token"),
        Invalid(code="invalid_mfa_code"), Forbidden (a blocked account), RateLimited."""
        user_id = self._challenged(mfa_token)
        await self._count(user_id, device.ip)
        async with self._uow(read_only=True) as tx:
            try:
                user: User | None = await tx.users.get(user_id)
            except NotFound:
                user = None
            totp = await tx.totp.get(user_id)
        if (
            user is None or totp is None or not totp.enabled
            or not hmac.compare_digest(self._challenge(user, self._expiry(mfa_token)),
                                       mfa_token)
        ):
            raise _bad_token()
        await self._spend_code(totp, code)
        return await self._accounts.open_session_for(user.id, device)

    # ------------------------------------------------------------------ staff

    async def require_staff_enrolment(self, who: Principal) -> None:
        """Raises Forbidden(code="mfa_enrolment_required") for an admin or moderator
        without a confirmed authenticator while ``staff_mfa_required`` is on."""
        if not permissions.at_least(who.role, Role.MODERATOR):
            return
        if not (await self._config.current()).staff_mfa_required:
            return
        async with self._uow(read_only=True) as tx:
            totp = await tx.totp.get(who.user_id)
        if totp is None or not totp.enabled:
            raise Forbidden("Staff accounts must turn on two-factor authentication "
                            "(POST /v1/me/2fa) before using staff tools.",
                            code=MFA_ENROLMENT_REQUIRED)

    # ------------------------------------------------------------------ internals

    async def _count(self, user_id: int | None, ip: str | None) -> None:
        events = [("mfa:user", f"user:{user_id}")] if user_id is not None else []
        if ip is not None:
            events.append(("mfa:ip", ip))
        await self._throttle.check_many(events)

    async def _spend_code(self, totp: Totp, code: str) -> None:
        """Accept ``code`` once: a TOTP code of a step after the last one accepted, or an
        unused recovery code. Raises Invalid(code="invalid_mfa_code")."""
        code = code.strip()
        step = matching_step(self._sealer.open(totp.secret), code, self._clock.now())
        async with self._uow() as tx:
            if step is not None:
                ok = await tx.totp.use_step(totp.user_id, step)
            else:
                normal = code.lower().replace(" ", "")
                ok = bool(RECOVERY_CODE.fullmatch(normal)) and await tx.totp.use_recovery_code(
                    totp.user_id, self._recovery_hash(totp.user_id, normal)
                )
        if not ok:
            raise _bad_code()

    def _new_recovery_code(self) -> str:
        chars = [secrets.choice(_RECOVERY_ALPHABET) for _ in range(10)]
        return "".join(chars[:5]) + "-" + "".join(chars[5:])

    def _recovery_hash(self, user_id: int, code: str) -> str:
        return hmac.new(self._key, f"recovery:{user_id}:{code}".encode(),
                        hashlib.sha256).hexdigest()

    def _challenge(self, user: User, expires: int | None = None) -> str:
        """``payload.signature``: the user, the expiry and a fingerprint of the password
        hash (a new password voids the challenge), signed with the deployment's secret."""
        if expires is None:
            expires = int((self._clock.now() + CHALLENGE_TTL).timestamp())
        password = hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]
        payload = json.dumps({"u": user.id, "e": expires, "p": password},
                             separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        sig = hmac.new(self._key, b"challenge:" + body.encode(), hashlib.sha256).digest()
        return body + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()

    def _claims(self, token: str) -> dict[str, int] | None:
        body, _, _sig = token.partition(".")
        try:
            raw = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(raw, dict) or not all(
            isinstance(raw.get(k), int) and not isinstance(raw.get(k), bool) for k in "ue"
        ):
            return None
        return {"u": raw["u"], "e": raw["e"]}

    def _expiry(self, token: str) -> int:
        claims = self._claims(token)
        return claims["e"] if claims else 0

    def _challenged(self, token: str) -> int:
        """The user a well-formed, unexpired challenge names (its signature is checked
        against the user's row by ``sign_in``); raises Unauthenticated otherwise."""
        claims = self._claims(token) if isinstance(token, str) and len(token) < 400 else None
        if claims is None or claims["e"] <= self._clock.now().timestamp():
            raise _bad_token()
        if not 0 < claims["u"] < 2**63:
            raise _bad_token()
        return claims["u"]
