"""Helpers for the contract suites: the backend switch and small model factories."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from momentic_core.model.accounts import (
    CodePurpose,
    ExternalIdentity,
    Session,
    User,
    VerificationCode,
)
from momentic_core.ports import Clock, RateLimiter, UnitOfWork

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

_serial = itertools.count(1)


@attrs.frozen
class Backend:
    name: str
    uow: Callable[[], UnitOfWork]
    rate_limiter: Callable[[Clock], RateLimiter]


def new_user(**fields: Any) -> User:
    n = next(_serial)
    values: dict[str, Any] = {
        "id": 0,
        "email": f"person{n}@example.com",
        "nickname": f"person{n}",
        "created_at": T0,
        "password_hash": "$argon2id$fake",
    }
    values.update(fields)
    return User(**values)


def new_session(user_id: int, **fields: Any) -> Session:
    values: dict[str, Any] = {
        "id": 0,
        "user_id": user_id,
        "created_at": T0,
        "last_used_at": T0,
        "device_name": "phone",
        "ip": "192.0.2.1",
    }
    values.update(fields)
    return Session(**values)


def new_code(
    user_id: int, purpose: CodePurpose = CodePurpose.VERIFY_EMAIL, **fields: Any
) -> VerificationCode:
    values: dict[str, Any] = {
        "user_id": user_id,
        "purpose": purpose,
        "code_hash": "hash-1",
        "created_at": T0,
        "expires_at": T0 + timedelta(minutes=15),
    }
    values.update(fields)
    return VerificationCode(**values)


def new_identity(user_id: int, **fields: Any) -> ExternalIdentity:
    n = next(_serial)
    values: dict[str, Any] = {
        "provider": "google",
        "subject": f"sub-{n}",
        "user_id": user_id,
        "email": f"person{n}@gmail.com",
        "created_at": T0,
    }
    values.update(fields)
    return ExternalIdentity(**values)


async def add_user(backend: Backend, **fields: Any) -> User:
    """Store a new user in its own committed unit of work."""
    async with backend.uow() as tx:
        return await tx.users.add(new_user(**fields))


async def add_session(backend: Backend, user_id: int, **fields: Any) -> Session:
    async with backend.uow() as tx:
        return await tx.sessions.add(new_session(user_id, **fields))
