"""Ports: every outside thing the domain talks to, as async ``typing.Protocol``s.

Each port has an in-memory adapter (``adapters.memory``) and a real one; one contract
suite in ``tests/contract`` runs against both. Docstrings say which domain error a
method raises and what is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol

from momentic_core.model.accounts import (
    AccessClaims,
    CodePurpose,
    ExternalIdentity,
    Mail,
    RateDecision,
    RefreshUse,
    Role,
    Session,
    User,
    VerificationCode,
    VerifiedIdToken,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class UserRepository(Protocol):
    async def add(self, user: User) -> User:
        """Store a new user (its ``id`` is ignored) and return it with its id.

        Raises Conflict(code="email_taken" | "nickname_taken")."""
        ...

    async def get(self, user_id: int) -> User:
        """Raises NotFound(code="user_not_found")."""
        ...

    async def get_for_update(self, user_id: int) -> User:
        """Like ``get`` but holds the row until the unit of work ends."""
        ...

    async def find_by_email(self, email: str) -> User | None:
        """Email is matched case-insensitively."""
        ...

    async def find_by_nickname(self, nickname: str) -> User | None:
        """Nickname is matched case-insensitively."""
        ...

    async def update(self, user: User) -> User:
        """Write every field of ``user``. Raises NotFound, Conflict(code="nickname_taken")."""
        ...

    async def delete(self, user_id: int) -> None:
        """Remove the user and everything that belongs to it. Idempotent."""
        ...

    async def count_with_role(self, role: Role) -> int: ...


class CodeRepository(Protocol):
    async def put(self, code: VerificationCode) -> None:
        """Store ``code``, replacing any earlier code of the same user and purpose."""
        ...

    async def get(self, user_id: int, purpose: CodePurpose) -> VerificationCode | None: ...

    async def record_failure(self, user_id: int, purpose: CodePurpose) -> int:
        """Count one wrong try and return the new count (0 when there is no code)."""
        ...

    async def delete(self, user_id: int, purpose: CodePurpose) -> None:
        """Idempotent."""
        ...


class SessionRepository(Protocol):
    async def add(self, session: Session) -> Session:
        """Store a new session (its ``id`` is ignored) and return it with its id."""
        ...

    async def get(self, session_id: int) -> Session | None: ...

    async def list_for_user(self, user_id: int) -> list[Session]:
        """Sessions not revoked, most recently used first."""
        ...

    async def touch(self, session_id: int, at: datetime, ip: str | None) -> None: ...

    async def revoke(self, session_id: int, at: datetime) -> None:
        """Idempotent: a revoked session keeps its first revocation time."""
        ...

    async def revoke_all(self, user_id: int, at: datetime, keep: int | None = None) -> int:
        """Revoke every live session of the user but ``keep``; return how many."""
        ...

    async def add_refresh_token(self, token_hash: str, session_id: int, at: datetime) -> None: ...

    async def use_refresh_token(self, token_hash: str, at: datetime) -> RefreshUse | None:
        """Spend a refresh token atomically.

        Returns None for an unknown token. Of several concurrent calls with one token,
        exactly one sees ``already_used=False``."""
        ...


class IdentityRepository(Protocol):
    async def find(self, provider: str, subject: str) -> ExternalIdentity | None: ...

    async def add(self, identity: ExternalIdentity) -> None:
        """Raises Conflict(code="identity_linked") when the pair is linked already."""
        ...

    async def list_for_user(self, user_id: int) -> list[ExternalIdentity]: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block normally commits; an exception rolls back."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def codes(self) -> CodeRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def identities(self) -> IdentityRepository: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        """Count one event under ``key`` in a fixed window and say whether it is allowed.

        Shared by every app instance that uses the same backing store."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str:
        """Runs off the event loop."""
        ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """False on mismatch or a malformed hash; never raises for those."""
        ...

    async def dummy_verify(self) -> None:
        """Spend the time of one verification, so unknown accounts cost as much as known."""
        ...


class TokenSigner(Protocol):
    access_ttl: timedelta

    def issue_access(self, user: User, session_id: int, now: datetime) -> str: ...

    def verify_access(self, token: str, now: datetime) -> AccessClaims:
        """Raises Unauthenticated(code="invalid_token" | "token_expired")."""
        ...


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Raises Unavailable when the mail cannot be handed over."""
        ...


class IdTokenVerifier(Protocol):
    async def verify(self, provider: str, id_token: str, nonce: str | None) -> VerifiedIdToken:
        """Check the provider's signature (JWKS), iss, aud, exp and nonce.

        Raises Invalid(code="unknown_provider") or Unauthenticated(code="invalid_id_token")."""
        ...
