"""Changing the account's email address (issue 21 item 2): a code sent to the new address
proves it; the old address is told when it changes.

``request`` takes the new address and the password (an account made by social sign-in
has none and gives none) and answers the same whether or not the address has an account:
a free address gets a code (the verification code machinery: ``verification_codes``,
purpose ``change_email``, 15 minutes, 5 tries), a taken one gets a mail saying someone
tried, and no code. The code is bound to the address it was sent to (its HMAC covers
it), so it confirms that address only. ``confirm`` takes the address and the code, moves
the account to it, and mails the old address. The allowed email domains (a runtime
setting) apply to the new address. Sessions are kept: the change is made from one of them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime

import attrs

from momentic_core.errors import Conflict, Invalid, Unauthenticated
from momentic_core.model.accounts import CodePurpose, Mail, Principal, User, VerificationCode
from momentic_core.policies import rules
from momentic_core.ports import Clock, PasswordHasher, UnitOfWork, UnitOfWorkFactory
from momentic_core.services.accounts import AccountSettings
from momentic_core.services.config import Config
from momentic_core.services.mail import queue_mail
from momentic_core.services.throttle import Throttle

EMAIL_UNCHANGED = "email_unchanged"
CODES = (EMAIL_UNCHANGED,)


def _invalid_code() -> Invalid:
    return Invalid("The code is wrong or has expired.", code="invalid_code", field="code")


def masked(email: str) -> str:
    """a***@bsu.by: enough for the owner to recognise, little for anyone else."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


class EmailChange:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        throttle: Throttle,
        config: Config,
        hasher: PasswordHasher,
        settings: AccountSettings,
        mail_queued: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._throttle = throttle
        self._config = config
        self._hasher = hasher
        self._settings = settings
        self._mail_queued = mail_queued

    async def request(self, who: Principal, new_email: str, password: str | None) -> None:
        """Mail a code to ``new_email``. Raises Invalid(code="invalid_email" |
        "email_domain_not_allowed" | "email_unchanged"), Unauthenticated(code=
        "invalid_credentials"), RateLimited. Answers alike for a free and a taken address."""
        await self._throttle.check("email_change:user", f"user:{who.user_id}")
        new_email = rules.normalize_email(new_email)
        rules.check_email_domain(new_email, (await self._config.current()).allowed_email_domains)
        async with self._uow(read_only=True) as tx:
            user = await tx.users.get(who.user_id)
        await self._check_password(user, password)
        if new_email == user.email:
            raise Invalid("That is the account's address already.", code=EMAIL_UNCHANGED,
                          field="email")
        now = self._clock.now()
        async with self._uow() as tx:
            code: VerificationCode | None = None
            if await tx.users.find_by_email(new_email) is not None:
                mail = Mail(
                    to=new_email,
                    subject="Someone tried to move a Momentic account to your address",
                    text="Someone asked to use this address for another Momentic account. "
                    "It has an account already, so nothing changed. If it was you, sign in "
                    "with this address instead.",
                )
            else:
                mail, code = await self._new_code(tx, user, new_email, now)
            await queue_mail(tx, mail, self._clock.now(), mailed=code)  # as in Accounts.register
        if self._mail_queued is not None:
            await self._mail_queued()

    async def confirm(self, who: Principal, new_email: str, code: str) -> User:
        """Move the account to ``new_email`` with the code mailed there; the old address is
        told. Raises Invalid(code="invalid_code"), Conflict(code="email_taken") (taken
        since the code was sent), RateLimited."""
        await self._throttle.check("verify:account", f"user:{who.user_id}")
        try:
            new_email = rules.normalize_email(new_email)
        except Invalid:
            raise _invalid_code() from None
        purpose = CodePurpose.CHANGE_EMAIL
        now = self._clock.now()
        async with self._uow() as tx:
            stored = await tx.codes.get(who.user_id, purpose)
            if stored is None or stored.expires_at <= now:
                raise _invalid_code()
            good = False
            if stored.attempts < self._settings.code_max_attempts:
                expected = self._hash(who.user_id, code.strip(), new_email)
                good = hmac.compare_digest(expected, stored.code_hash)
            if good:
                await tx.codes.delete(who.user_id, purpose)
            elif (stored.attempts >= self._settings.code_max_attempts
                  or await tx.codes.record_failure(who.user_id, purpose)
                  >= self._settings.code_max_attempts):
                await tx.codes.delete(who.user_id, purpose)
        if not good:
            raise _invalid_code()
        async with self._uow() as tx:
            user = await tx.users.get_for_update(who.user_id)
            old = user.email
            if await tx.users.find_by_email(new_email) is not None:
                raise Conflict("That address has an account now.", code="email_taken")
            user = await tx.users.update(attrs.evolve(user, email=new_email,
                                                      email_verified=True))
            await queue_mail(tx, Mail(
                to=old,
                subject="Your Momentic address was changed",
                text=f"Your Momentic account now signs in with {masked(new_email)}, not with "
                "this address. If you did not do this, reset your password with the new "
                "address's mailbox or write to support at once.",
            ), now)
        if self._mail_queued is not None:
            await self._mail_queued()
        return user

    async def _check_password(self, user: User, password: str | None) -> None:
        if user.password_hash is None:
            return
        await self._throttle.check("password:user", f"user:{user.id}")
        if password is None or not await self._hasher.verify(user.password_hash, password):
            raise Unauthenticated("Wrong password.", code="invalid_credentials")

    def _hash(self, user_id: int, code: str, email: str) -> str:
        message = f"{user_id}:{CodePurpose.CHANGE_EMAIL.value}:{code}:{email}".encode()
        return hmac.new(self._settings.code_secret, message, hashlib.sha256).hexdigest()

    async def _new_code(
        self, tx: UnitOfWork, user: User, email: str, now: datetime
    ) -> tuple[Mail, VerificationCode]:
        code = f"{secrets.randbelow(10**6):06d}"
        stored = VerificationCode(
            user_id=user.id, purpose=CodePurpose.CHANGE_EMAIL,
            code_hash=self._hash(user.id, code, email), created_at=now,
            expires_at=now + self._settings.code_ttl,
        )
        await tx.codes.put(stored)
        minutes = int(self._settings.code_ttl.total_seconds() // 60)
        return Mail(
            to=email,
            subject=f"Your Momentic email change code: {code}",
            text=f"Your Momentic email change code is {code}. It expires in {minutes} "
            "minutes.\nIf you did not ask for it, ignore this email: nothing changes.",
        ), stored
