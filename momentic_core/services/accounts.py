"""Accounts and sessions: register, verify, log in, refresh, sessions, passwords, social sign-in.

No answer here tells a caller whether an email address has an account: register, resend
and reset answer the same either way, and failed logins cost the same time. Their mail is
queued in the unit of work that makes its code (``services.mail``): a request never waits
on the mail server, and a mail server that is down loses no code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

import attrs

from momentic_core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    MomenticError,
    NotFound,
    Unauthenticated,
)
from momentic_core.model.accounts import (
    AccessClaims,
    AccountStatus,
    CodePurpose,
    ExternalIdentity,
    Mail,
    Principal,
    RefreshUse,
    Role,
    Session,
    TokenPair,
    User,
    VerificationCode,
)
from momentic_core.model.events import AccountChanged, Event, SessionRevoked
from momentic_core.model.moderation import AuditEntry
from momentic_core.policies import permissions, rules
from momentic_core.ports import (
    Clock,
    IdTokenVerifier,
    PasswordHasher,
    TokenSigner,
    UnitOfWork,
    UnitOfWorkFactory,
)
from momentic_core.services.access import AccessCache
from momentic_core.services.config import Config
from momentic_core.services.mail import queue_mail
from momentic_core.services.throttle import Throttle, refuse

log = logging.getLogger(__name__)


@attrs.frozen
class AccountSettings:
    """Fixed for the life of the process (the allowed email domains are runtime settings:
    services.config)."""

    code_ttl: timedelta = timedelta(minutes=15)
    code_max_attempts: int = 5
    session_ttl: timedelta = timedelta(days=60)  # a session unused this long is dead
    # A spent refresh token presented again this soon is a retry, not a theft (refresh).
    refresh_grace: timedelta = timedelta(seconds=10)
    code_secret: bytes = b"change-me"


@attrs.frozen
class DeviceInfo:
    """Where a sign-in comes from, as the edge saw it."""

    ip: str
    name: str | None = None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _successor(token: str, nonce: str) -> str:
    """The refresh token that replaces ``token``: HMAC-SHA256 keyed by ``token`` over the
    nonce its rotation stored. A retry of ``token`` derives the same one again; nobody
    without ``token`` can (the store keeps token hashes only)."""
    digest = hmac.new(token.encode(), nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _invalid_code() -> Invalid:
    return Invalid("The code is wrong or has expired.", code="invalid_code", field="code")


def _invalid_credentials() -> Unauthenticated:
    return Unauthenticated("Wrong email or password.", code="invalid_credentials")


async def announce_revoked(
    tx: UnitOfWork, user_id: int, session_id: int | None = None, keep: int | None = None
) -> None:
    """Tell live sockets that a session (``session_id``), or every session of the user but
    ``keep``, no longer holds: they close."""
    await tx.events.emit(SessionRevoked(user_id, session_id, keep))


def check_not_blocked(user: User, now: datetime) -> None:
    """Raises Forbidden(code="account_banned" | "account_suspended")."""
    if not user.is_blocked_at(now):
        return
    if user.status is AccountStatus.BANNED:
        raise Forbidden("This account is banned.", code="account_banned")
    until = user.suspended_until.isoformat() if user.suspended_until else None
    raise Forbidden("This account is suspended.", code="account_suspended", until=until)


class Accounts:
    """The account use cases. Every method that writes more than one row is one unit of work."""

    # What a sign-in answers instead of tokens, if anything (services.mfa: 403 mfa_required
    # with a challenge for an account with two-factor authentication). Set by TwoFactor.
    second_factor: Callable[[UnitOfWork, User], Awaitable[MomenticError | None]] | None = None

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        tokens: TokenSigner,
        clock: Clock,
        throttle: Throttle,
        config: Config,
        id_tokens: IdTokenVerifier | None = None,
        settings: AccountSettings | None = None,
        mail_queued: Callable[[], Awaitable[object]] | None = None,
        access: AccessCache | None = None,
    ) -> None:
        """``mail_queued`` is awaited after every request that may have queued mail,
        whether or not it did (so timing says nothing): wake a mail worker, or (tests, the
        in-memory backend) deliver right away. ``access`` spares ``authenticate`` its
        lookup while it holds (services.access); without it every call looks up."""
        self._access = access
        self._mail_queued = mail_queued
        self._config = config  # the allowed email domains
        self._active_day: date | None = None
        self._active_users: set[int] = set()
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._throttle = throttle
        self._id_tokens = id_tokens
        self.settings = settings or AccountSettings()

    # ------------------------------------------------------------------ registration

    async def register(self, email: str, password: str, device: DeviceInfo) -> None:
        """Start a sign-up. Answers the same whether or not the email has an account."""
        await self._throttle.check("register:ip", device.ip)
        email = rules.normalize_email(email)
        rules.check_email_domain(email, await self._domains())
        rules.check_password(password)
        password_hash = await self._hasher.hash(password)  # always, so timing says nothing
        now = self._clock.now()
        # Mail to one address is capped like resend; over the cap we still answer the same.
        may_mail = await self._throttle.allow("resend:account", email)
        mail: Mail | None = None
        code: VerificationCode | None = None
        try:
            async with self._uow() as tx:
                user = await tx.users.find_by_email(email)
                if user is None:
                    user = await self._create_user(tx, email, password_hash, verified=False)
                    mail, code = await self._new_code(tx, user, CodePurpose.VERIFY_EMAIL, now)
                elif not may_mail:
                    pass
                elif not user.email_verified:
                    # The newest sign-up sets the password; verifying proves email AND
                    # password, so whoever started an earlier sign-up without the mailbox
                    # gets nothing.
                    user = await tx.users.update(attrs.evolve(user, password_hash=password_hash))
                    mail, code = await self._new_code(tx, user, CodePurpose.VERIFY_EMAIL, now)
                else:
                    mail = Mail(
                        to=email,
                        subject="Someone tried to sign up with your address",
                        text="Your email address already has a Momentic account. If this was "
                        "you, log in, or reset your password if you forgot it.",
                    )
                if mail is not None:
                    # Due when queued, after the code's write (which waits for a concurrent
                    # one's commit), not when the request began: two codes' mails go out in
                    # the order the codes were stored; and one whose code was replaced before
                    # it went out is dropped (services.mail), as several mail workers may
                    # take both at once: the last mail holds the valid code.
                    await queue_mail(tx, mail, self._clock.now(), mailed=code)
        except Conflict as exc:
            if exc.code != "email_taken":
                raise
            # A concurrent sign-up with this address (a double tap) created the account
            # first and queued the code; this one rolled back and answers the same.
            pass
        await self._mail_sent()

    async def resend_code(self, email: str, device: DeviceInfo) -> None:
        """Send a fresh verification code. Answers the same for any address."""
        await self._throttle.check("resend:ip", device.ip)
        email = rules.normalize_email(email)
        await self._throttle.check("resend:account", email)
        now = self._clock.now()
        async with self._uow() as tx:
            user = await tx.users.find_by_email(email)
            if user is not None and not user.email_verified:
                mail, code = await self._new_code(tx, user, CodePurpose.VERIFY_EMAIL, now)
                await queue_mail(tx, mail, self._clock.now(), mailed=code)  # as in register
        await self._mail_sent()

    async def verify_email(
        self, email: str, code: str, password: str, device: DeviceInfo
    ) -> TokenPair:
        """Check the emailed code and the sign-up password, mark the email verified and sign
        this device in. Asking for the password too means a sign-up started by someone
        without the mailbox can never become the mailbox owner's account.

        Raises Invalid(code="invalid_code") for any wrong, expired, spent or unknown code,
        or a password that does not match (a wrong password counts as a wrong try)."""
        await self._throttle.check("verify:ip", device.ip)
        email = rules.normalize_email(email)
        await self._throttle.check("verify:account", email)
        async with self._uow() as tx:
            pending = await tx.users.find_by_email(email)
        if pending is None or pending.password_hash is None:
            await self._hasher.dummy_verify()
            password_ok = False
        else:
            password_ok = await self._hasher.verify(pending.password_hash, password)
        user = await self._consume_code(
            email, code, CodePurpose.VERIFY_EMAIL, verified=False, accept=password_ok
        )
        async with self._uow() as tx:
            user = await tx.users.get_for_update(user.id)
            if pending is None or user.password_hash != pending.password_hash:  # re-registered
                raise _invalid_code()
            user = await tx.users.update(attrs.evolve(user, email_verified=True))
            return await self._open_session(tx, user, device)

    # ------------------------------------------------------------------ sign-in

    async def login(self, email: str, password: str, device: DeviceInfo) -> TokenPair:
        """Raises Unauthenticated(code="invalid_credentials"), Forbidden(code=
        "email_not_verified" | "account_banned" | "account_suspended"), RateLimited."""
        user = await self._check_password(email, password, device)
        check_not_blocked(user, self._clock.now())
        async with self._uow() as tx:
            asked = await self._second_step(tx, user)
            if asked is None:
                return await self._open_session(tx, user, device)
        raise asked

    async def _second_step(self, tx: UnitOfWork, user: User) -> MomenticError | None:
        """Raised instead of signing ``user`` in (after the unit of work, which commits
        what the sign-in wrote): the two-factor challenge, if their account has it."""
        return None if self.second_factor is None else await self.second_factor(tx, user)

    async def open_session_for(self, user_id: int, device: DeviceInfo) -> TokenPair:
        """Sign a user in whose credentials were checked (the second step of a two-factor
        sign-in). Raises Forbidden(code="account_banned" | "account_suspended")."""
        async with self._uow() as tx:
            user = await tx.users.get(user_id)
            check_not_blocked(user, self._clock.now())
            return await self._open_session(tx, user, device)

    async def appellant(self, email: str, password: str, device: DeviceInfo) -> Principal:
        """Who signs with these credentials, whatever the account's status: a banned or
        suspended account cannot sign in, yet may appeal the decision that closed it. Opens
        no session and issues no token (``session_id`` 0); throttled as a sign-in. Raises
        Unauthenticated(code="invalid_credentials"), Forbidden(code="email_not_verified"),
        RateLimited."""
        user = await self._check_password(email, password, device)
        return Principal(user_id=user.id, role=user.role, session_id=0)

    async def _check_password(self, email: str, password: str, device: DeviceInfo) -> User:
        """Who these credentials are. Throttled so that guessing locks out the guesser, not
        the owner: per address (``login:ip``), per account and address
        (``login:account_ip``: ten wrong guesses lock that address out of that account
        only), and per account from everywhere (``login:account``, a higher ceiling: past
        it, only the right password from an address the account signed in from before
        passes). Unknown and known emails are counted, hashed and answered alike."""
        try:
            email = rules.normalize_email(email)
        except Invalid:
            await self._throttle.check("login:ip", device.ip)
            await self._hasher.dummy_verify()
            raise _invalid_credentials() from None
        by_ip, by_pair, by_account = await self._throttle.count_many([
            ("login:ip", device.ip),
            ("login:account_ip", f"{email} {device.ip}"),
            ("login:account", email),
        ])
        refuse(by_ip)
        refuse(by_pair)
        async with self._uow(read_only=True) as tx:
            user = await tx.users.find_by_email(email)
        if user is None or user.password_hash is None:
            await self._hasher.dummy_verify()
            refuse(by_account)
            raise _invalid_credentials()
        good = await self._hasher.verify(user.password_hash, password)
        if not by_account.allowed and not (good and await self._known_address(user, device)):
            refuse(by_account)
        if not good:
            raise _invalid_credentials()
        if not user.email_verified:
            raise Forbidden(
                "Verify your email address first; we sent you a code.", code="email_not_verified"
            )
        return user

    async def _known_address(self, user: User, device: DeviceInfo) -> bool:
        """Whether the account has signed in from this address before (a session of it
        was last used from there, revoked or expired ones too)."""
        async with self._uow(read_only=True) as tx:
            return await tx.sessions.used_from(user.id, device.ip)

    async def sign_in_with_provider(
        self, provider: str, id_token: str, nonce: str | None, device: DeviceInfo
    ) -> TokenPair:
        """Sign in with Apple or Google: link to the account with the same verified email,
        or create one."""
        await self._throttle.check("social:ip", device.ip)
        if self._id_tokens is None:
            raise Invalid("Social sign-in is not configured.", code="unknown_provider")
        verified = await self._id_tokens.verify(provider, id_token, nonce)
        now = self._clock.now()
        domains = await self._domains()  # (before the unit of work: it may read settings)
        async with self._uow() as tx:
            identity = await tx.identities.find(verified.provider, verified.subject)
            if identity is not None:
                user = await tx.users.get(identity.user_id)
            else:
                if not verified.email or not verified.email_verified:
                    raise Invalid(
                        "The provider did not vouch for an email address.",
                        code="email_not_verified_by_provider",
                    )
                email = rules.normalize_email(verified.email)
                rules.check_email_domain(email, domains)
                found = await tx.users.find_by_email(email)
                if found is None:
                    user = await self._create_user(tx, email, None, verified=True)
                elif not found.email_verified:
                    # Someone started a sign-up with this address without proving it; the
                    # provider proves it now. Drop that password so the starter can't get in.
                    user = await tx.users.update(
                        attrs.evolve(found, email_verified=True, password_hash=None)
                    )
                    await tx.codes.delete(user.id, CodePurpose.VERIFY_EMAIL)
                else:
                    user = found
                await tx.identities.add(
                    ExternalIdentity(
                        provider=verified.provider,
                        subject=verified.subject,
                        user_id=user.id,
                        email=email,
                        created_at=now,
                    )
                )
            check_not_blocked(user, now)
            asked = await self._second_step(tx, user)  # the link made above stays
            if asked is None:
                return await self._open_session(tx, user, device)
        raise asked

    async def refresh(self, refresh_token: str, device: DeviceInfo) -> TokenPair:
        """Rotate a refresh token: the pair answered carries its successor, and the token
        is spent. Presenting a spent token again revokes its whole session (whoever holds
        a stolen copy loses it with the owner), but for a retry (RFC 9700 4.14.2): within
        ``settings.refresh_grace`` of the first use, while that successor is unspent, a
        double-submitted or resent refresh (a flaky network) gets the same successor
        again, with a new access token, and nothing is revoked. Once the successor was used,
        or the grace has passed, the spent token is a reuse.

        Raises Unauthenticated(code="invalid_refresh_token" | "refresh_token_reused")."""
        await self._throttle.check("refresh:ip", device.ip)
        now = self._clock.now()
        nonce = secrets.token_urlsafe(16)
        error: MomenticError | None = None
        async with self._uow() as tx:
            use = await tx.sessions.use_refresh_token(_token_hash(refresh_token), now, nonce)
            session = await tx.sessions.get(use.session_id) if use else None
            if use is None or session is None:
                error = Unauthenticated("Unknown refresh token.", code="invalid_refresh_token")
            elif use.already_used and not await self._retried(
                tx, refresh_token, use, session.id, now
            ):
                await tx.sessions.revoke(session.id, now)
                await announce_revoked(tx, session.user_id, session.id)
                log.warning("refresh token reused; session revoked", extra={"session": session.id})
                error = Unauthenticated(
                    "This refresh token was used already; the session is closed.",
                    code="refresh_token_reused",
                )
            elif session.revoked_at is not None or self._session_expired(session, now):
                error = Unauthenticated("The session has ended.", code="invalid_refresh_token")
            else:
                user = await tx.users.get(session.user_id)
                check_not_blocked(user, now)
                token = _successor(refresh_token, use.nonce or nonce)
                if not use.already_used:  # a retry's successor is stored already
                    await tx.sessions.add_refresh_token(_token_hash(token), session.id, now)
                await tx.sessions.touch(session.id, now, device.ip)
                access = self._tokens.issue_access(user, session.id, now)
                return self._pair(access, token, session.id)
        raise error

    async def _retried(
        self, tx: UnitOfWork, refresh_token: str, use: RefreshUse, session_id: int,
        now: datetime,
    ) -> bool:
        """Whether presenting this spent token again is a retry of its rotation: within
        the grace of its first use, and the successor that rotation stored is unspent."""
        grace = self.settings.refresh_grace
        if (
            grace <= timedelta(0) or use.nonce is None or use.used_at is None
            or now - use.used_at > grace
        ):
            return False
        successor = await tx.sessions.find_refresh_token(
            _token_hash(_successor(refresh_token, use.nonce))
        )
        return (
            successor is not None and successor.session_id == session_id
            and not successor.already_used
        )

    async def authenticate(self, access_token: str) -> Principal:
        """Who holds this access token, checked against the current user and session
        (or a recent check of it that still holds: services.access).

        Raises Unauthenticated(code="invalid_token" | "token_expired" | "token_revoked"),
        Forbidden(code="account_banned" | "account_suspended")."""
        now = self._clock.now()
        claims = self._tokens.verify_access(access_token, now)
        key = (claims.user_id, claims.session_id, claims.token_version)
        role = self._access.get(key) if self._access is not None else None
        if role is None:
            role = await self._look_up(claims, now)
        await self._active(claims.user_id, now)
        return Principal(
            user_id=claims.user_id, role=role, session_id=claims.session_id,
            expires_at=claims.expires_at,
        )

    def observe(self, event: Event) -> None:
        """Every committed event of every instance (the live channel) passes here: those
        that change someone's access make the next check of their tokens look up."""
        if self._access is not None:
            self._access.observe(event)

    async def _look_up(self, claims: AccessClaims, now: datetime) -> Role:
        """The role the token's holder has now, from the user and session rows."""
        mark = self._access.mark() if self._access is not None else (0, None)
        async with self._uow(read_only=True) as tx:
            try:
                user, session = await tx.users.get_with_session(
                    claims.user_id, claims.session_id
                )
            except NotFound:
                raise Unauthenticated("The account is gone.", code="token_revoked") from None
        if (
            session is None
            or session.user_id != user.id
            or session.revoked_at is not None
            or user.token_version != claims.token_version
        ):
            raise Unauthenticated("This token was revoked; sign in again.", code="token_revoked")
        check_not_blocked(user, now)
        if self._access is not None:
            self._access.put(
                (claims.user_id, claims.session_id, claims.token_version), user.role, mark
            )
        return user.role

    async def _active(self, user_id: int, now: datetime) -> None:
        """Record the user as active today (UTC), once per user and day per instance."""
        today = now.date()
        if self._active_day != today:
            self._active_day, self._active_users = today, set()
        if user_id in self._active_users:
            return
        async with self._uow() as tx:
            await tx.stats.record_activity(user_id, today)
        self._active_users.add(user_id)

    # ------------------------------------------------------------------ sessions

    async def list_sessions(self, who: Principal) -> list[Session]:
        async with self._uow() as tx:
            sessions = await tx.sessions.list_for_user(who.user_id)
        now = self._clock.now()
        return [s for s in sessions if not self._session_expired(s, now)]

    async def revoke_session(self, who: Principal, session_id: int) -> None:
        """Raises NotFound(code="session_not_found") for a session that is not the caller's."""
        async with self._uow() as tx:
            session = await tx.sessions.get(session_id)
            if session is None or session.user_id != who.user_id:
                raise NotFound("No such session.", code="session_not_found")
            await tx.sessions.revoke(session_id, self._clock.now())
            await announce_revoked(tx, who.user_id, session_id)

    async def revoke_all_sessions(self, who: Principal, keep_current: bool = False) -> int:
        async with self._uow() as tx:
            keep = who.session_id if keep_current else None
            await announce_revoked(tx, who.user_id, keep=keep)
            return await tx.sessions.revoke_all(who.user_id, self._clock.now(), keep=keep)

    async def logout(self, who: Principal) -> None:
        async with self._uow() as tx:
            await tx.sessions.revoke(who.session_id, self._clock.now())
            await announce_revoked(tx, who.user_id, who.session_id)

    # ------------------------------------------------------------------ passwords

    async def change_password(self, who: Principal, current: str, new: str) -> None:
        """Revokes every other session. Raises Unauthenticated(code="invalid_credentials")."""
        rules.check_password(new)
        await self._throttle.check("password:user", f"user:{who.user_id}")
        async with self._uow() as tx:
            user = await tx.users.get(who.user_id)
        if user.password_hash is None or not await self._hasher.verify(user.password_hash, current):
            raise _invalid_credentials()
        new_hash = await self._hasher.hash(new)
        async with self._uow() as tx:
            user = await tx.users.get_for_update(who.user_id)
            await tx.users.update(attrs.evolve(user, password_hash=new_hash))
            await tx.sessions.revoke_all(user.id, self._clock.now(), keep=who.session_id)
            await announce_revoked(tx, user.id, keep=who.session_id)

    async def request_password_reset(self, email: str, device: DeviceInfo) -> None:
        """Email a reset code. Answers the same for any address."""
        await self._throttle.check("reset:ip", device.ip)
        email = rules.normalize_email(email)
        await self._throttle.check("reset:account", email)
        now = self._clock.now()
        async with self._uow() as tx:
            user = await tx.users.find_by_email(email)
            if user is not None:
                mail, code = await self._new_code(tx, user, CodePurpose.RESET_PASSWORD, now)
                await queue_mail(tx, mail, self._clock.now(), mailed=code)  # as in register
        await self._mail_sent()

    async def reset_password(
        self, email: str, code: str, new_password: str, device: DeviceInfo
    ) -> None:
        """Set a new password with an emailed code; every session is revoked."""
        await self._throttle.check("verify:ip", device.ip)
        email = rules.normalize_email(email)
        rules.check_password(new_password)
        await self._throttle.check("verify:account", email)
        user = await self._consume_code(email, code, CodePurpose.RESET_PASSWORD, verified=None)
        new_hash = await self._hasher.hash(new_password)
        async with self._uow() as tx:
            user = await tx.users.get_for_update(user.id)
            await tx.users.update(attrs.evolve(user, password_hash=new_hash, email_verified=True))
            await tx.sessions.revoke_all(user.id, self._clock.now())
            await announce_revoked(tx, user.id)

    # ------------------------------------------------------------------ administration

    async def create_user(
        self, email: str, password: str, role: Role = Role.USER, actor: Principal | None = None
    ) -> User:
        """Create a verified account directly (CLI, admin). ``actor`` None is the operator."""
        if actor is not None:
            permissions.require_role(actor.role, Role.ADMIN)
        email = rules.normalize_email(email)
        rules.check_password(password)
        password_hash = await self._hasher.hash(password)
        async with self._uow() as tx:
            user = await self._create_user(tx, email, password_hash, verified=True)
            if role is not Role.USER:
                user = await tx.users.update(attrs.evolve(user, role=role))
            return user

    async def find_by_email(self, email: str) -> User:
        """For operators (CLI). Raises NotFound(code="user_not_found")."""
        async with self._uow() as tx:
            user = await tx.users.find_by_email(rules.normalize_email(email))
        if user is None:
            raise NotFound("No user with that email.", code="user_not_found")
        return user

    async def set_role(self, user_id: int, role: Role, actor: Principal | None = None) -> User:
        """Admins (or the operator, ``actor`` None) set roles; the last admin stays admin.

        Takes effect on the user's next request: each request reads the role from the
        user's row. A promotion keeps the user's sessions and tokens; a change that lowers
        privileges signs them out of every device: their sessions end (refresh tokens
        refused), every access token is revoked (``token_version``) and their live sockets
        close, so nothing granted under the higher role outlives it; they sign in again.
        Raises Conflict(code="last_admin")."""
        if actor is not None:
            permissions.require_role(actor.role, Role.ADMIN)
        async with self._uow() as tx:
            # Every role change locks the admin rows first (in one order), then the target:
            # concurrent changes serialize without deadlock and at least one admin stays.
            admins = await tx.users.count_with_role(Role.ADMIN)
            user = await tx.users.get_for_update(user_id)
            if user.role is role:
                return user
            if user.role is Role.ADMIN and admins <= 1:
                raise Conflict("The last admin cannot be demoted.", code="last_admin")
            demoted = not permissions.at_least(role, user.role)
            if demoted:  # signed out everywhere: what they hold carries the higher role
                await tx.sessions.revoke_all(user.id, self._clock.now())
                await announce_revoked(tx, user.id)
            else:  # every instance reads the new role at the next request
                await tx.events.emit(AccountChanged(user.id))
            await tx.audit.add(AuditEntry(
                id=0, actor_id=actor.user_id if actor else None, action="user.set_role",
                target_type="user", target_id=user.id, reason=None,
                created_at=self._clock.now(), data={"from": user.role.value, "to": role.value},
            ))
            return await tx.users.update(attrs.evolve(
                user, role=role, token_version=user.token_version + (1 if demoted else 0)
            ))

    # ------------------------------------------------------------------ internals

    async def _domains(self) -> tuple[str, ...]:
        return (await self._config.current()).allowed_email_domains

    def _session_expired(self, session: Session, now: datetime) -> bool:
        return session.last_used_at + self.settings.session_ttl < now

    def _pair(self, access: str, refresh: str, session_id: int) -> TokenPair:
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=int(self._tokens.access_ttl.total_seconds()),
            session_id=session_id,
        )

    async def _open_session(self, tx: UnitOfWork, user: User, device: DeviceInfo) -> TokenPair:
        now = self._clock.now()
        session = await tx.sessions.add(
            Session(
                id=0,
                user_id=user.id,
                created_at=now,
                last_used_at=now,
                device_name=rules.check_text(device.name, "device_name", rules.DEVICE_NAME_MAX),
                ip=device.ip,
            )
        )
        token = secrets.token_urlsafe(32)
        await tx.sessions.add_refresh_token(_token_hash(token), session.id, now)
        return self._pair(self._tokens.issue_access(user, session.id, now), token, session.id)

    async def _create_user(
        self, tx: UnitOfWork, email: str, password_hash: str | None, *, verified: bool
    ) -> User:
        while True:
            nickname = f"user{secrets.randbelow(10**8):08d}"
            if await tx.users.find_by_nickname(nickname) is None:
                break
        return await tx.users.add(
            User(
                id=0,
                email=email,
                nickname=nickname,
                created_at=self._clock.now(),
                password_hash=password_hash,
                email_verified=verified,
            )
        )

    def _code_hash(self, user_id: int, purpose: CodePurpose, code: str) -> str:
        message = f"{user_id}:{purpose.value}:{code}".encode()
        return hmac.new(self.settings.code_secret, message, hashlib.sha256).hexdigest()

    async def _new_code(
        self, tx: UnitOfWork, user: User, purpose: CodePurpose, now: datetime
    ) -> tuple[Mail, VerificationCode]:
        """A new code stored (replacing the last one) and the mail that carries it."""
        code = f"{secrets.randbelow(10**6):06d}"
        stored = VerificationCode(
            user_id=user.id,
            purpose=purpose,
            code_hash=self._code_hash(user.id, purpose, code),
            created_at=now,
            expires_at=now + self.settings.code_ttl,
        )
        await tx.codes.put(stored)
        minutes = int(self.settings.code_ttl.total_seconds() // 60)
        what = "verification" if purpose is CodePurpose.VERIFY_EMAIL else "password reset"
        return Mail(
            to=user.email,
            subject=f"Your Momentic {what} code: {code}",
            text=f"Your Momentic {what} code is {code}. It expires in {minutes} minutes.\n"
            "If you did not ask for it, ignore this email.",
        ), stored

    async def _consume_code(
        self,
        email: str,
        code: str,
        purpose: CodePurpose,
        *,
        verified: bool | None,
        accept: bool = True,
    ) -> User:
        """Check a code; a wrong one (or ``accept`` False) counts a try, kept though we raise."""
        now = self._clock.now()
        code = code.strip()
        async with self._uow() as tx:
            user = await tx.users.find_by_email(email)
            if user is None or (verified is not None and user.email_verified != verified):
                raise _invalid_code()
            stored = await tx.codes.get(user.id, purpose)
            if stored is None or stored.expires_at <= now:
                raise _invalid_code()
            if stored.attempts >= self.settings.code_max_attempts:
                await tx.codes.delete(user.id, purpose)
                good = False
            else:
                expected = self._code_hash(user.id, purpose, code)
                good = hmac.compare_digest(expected, stored.code_hash) and accept
                if good:
                    await tx.codes.delete(user.id, purpose)
                elif await tx.codes.record_failure(user.id, purpose) >= (
                    self.settings.code_max_attempts
                ):
                    await tx.codes.delete(user.id, purpose)
        if not good:
            raise _invalid_code()
        return user

    async def _mail_sent(self) -> None:
        if self._mail_queued is not None:
            await self._mail_queued()
