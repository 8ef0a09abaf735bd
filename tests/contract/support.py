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
from momentic_core.model.videos import Upload, Video, VideoStatus, Visibility
from momentic_core.ports import Clock, JobRunner, LiveEventSource, RateLimiter, UnitOfWork

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

_serial = itertools.count(1)


@attrs.frozen
class Adapters:
    """One set of adapters the contract suites run against (memory or PostgreSQL)."""

    name: str
    uow: Callable[[], UnitOfWork]
    rate_limiter: Callable[[Clock], RateLimiter]
    job_runner: Callable[[Clock], JobRunner]
    live: Callable[[], LiveEventSource]  # hears the committed events of ``uow``


def new_user(**fields: Any) -> User:
    n = next(_serial)
    values: dict[str, Any] = {
        "id": 0,
        "email": f"person{n}@example.com",
        "nickname": f"person{n}",
        "created_at": T0,
        "password_hash": "$argon2id$fake",
        "email_verified": True,  # a sign-up not verified yet is no one to others
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


async def add_user(backend: Adapters, **fields: Any) -> User:
    """Store a new user in its own committed unit of work."""
    async with backend.uow() as tx:
        return await tx.users.add(new_user(**fields))


async def add_session(backend: Adapters, user_id: int, **fields: Any) -> Session:
    async with backend.uow() as tx:
        return await tx.sessions.add(new_session(user_id, **fields))


def new_video(author_id: int, **fields: Any) -> Video:
    n = next(_serial)
    values: dict[str, Any] = {
        "id": 0,
        "author_id": author_id,
        "description": f"clip {n}",
        "visibility": Visibility.PUBLIC,
        "status": VideoStatus.READY,
        "created_at": T0,
        "updated_at": T0,
        "source_key": f"videos/{n:032x}/source",
    }
    values.update(fields)
    return Video(**values)


def new_upload(user_id: int, **fields: Any) -> Upload:
    n = next(_serial)
    values: dict[str, Any] = {
        "id": 0,
        "user_id": user_id,
        "key": f"videos/{n:032x}/source",
        "backend_id": f"multipart-{n}",
        "size_bytes": 20 * 1024 * 1024,
        "content_type": "video/mp4",
        "part_size": 8 * 1024 * 1024,
        "description": f"upload {n}",
        "visibility": Visibility.FRIENDS,
        "created_at": T0,
    }
    values.update(fields)
    return Upload(**values)


async def add_video(backend: Adapters, author_id: int, **fields: Any) -> Video:
    async with backend.uow() as tx:
        return await tx.videos.add(new_video(author_id, **fields))


async def add_upload(backend: Adapters, user_id: int, **fields: Any) -> Upload:
    async with backend.uow() as tx:
        return await tx.uploads.add(new_upload(user_id, **fields))
