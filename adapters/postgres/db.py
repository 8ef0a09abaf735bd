"""Connection pool and driver-error translation for the PostgreSQL adapters.

Nothing here connects at import time: ``create_pool`` opens the pool when it is awaited
(from an aiohttp ``cleanup_ctx`` or a ``providers.Resource``).

Driver errors never leave this package. ``translate_error`` turns the ones the domain
has words for into domain errors:

- a unique violation becomes ``Conflict``, its code picked by constraint name
  (``users_email_key`` -> ``email_taken`` and so on);
- a foreign-key violation becomes ``NotFound`` (the row it points at is gone);
- a deadlock or serialization failure becomes ``Conflict(code="concurrent_update")``;
- a value out of its column's range (an id over 2**63 - 1) becomes
  ``Invalid(code="value_out_of_range")``;
- anything that says the database cannot be reached or is going away (refused or
  dropped connections, shutdowns, too many connections, timeouts) becomes
  ``Unavailable``.

Everything else is a bug and is left alone, so it surfaces as one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import asyncpg
import asyncpg.exceptions as pgerr

from momentic_core.errors import Conflict, Invalid, MomenticError, NotFound, Unavailable

# Unique constraint (or unique index) name -> (Conflict code, detail, extra fields).
UNIQUE_CONFLICTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "users_email_key": ("email_taken", "That email has an account.", {}),
    "users_nickname_key": ("nickname_taken", "That nickname is taken.", {"field": "nickname"}),
    "external_identities_pkey": ("identity_linked", "That identity is linked already.", {}),
    "reports_case_reporter_key": ("report_exists", "You reported this already.", {}),
    "appeals_case_id_key": ("appeal_exists", "This decision was appealed already.", {}),
    "videos_author_content_key": (
        "duplicate_content", "You have a video of this very file already.", {}
    ),
}

# Foreign key name -> NotFound code.
MISSING_PARENTS: dict[str, str] = {
    "verification_codes_user_id_fkey": "user_not_found",
    "sessions_user_id_fkey": "user_not_found",
    "push_devices_user_id_fkey": "user_not_found",
    "push_devices_session_id_fkey": "session_not_found",
    "notification_settings_user_id_fkey": "user_not_found",
    "external_identities_user_id_fkey": "user_not_found",
    "refresh_tokens_session_id_fkey": "session_not_found",
    "videos_author_id_fkey": "user_not_found",
    "removed_contents_author_id_fkey": "user_not_found",
    "uploads_user_id_fkey": "user_not_found",
    "uploads_video_id_fkey": "video_not_found",
    "friendships_user_id_fkey": "user_not_found",
    "friendships_friend_id_fkey": "user_not_found",
    "friend_requests_from_id_fkey": "user_not_found",
    "friend_requests_to_id_fkey": "user_not_found",
    "blocks_blocker_id_fkey": "user_not_found",
    "blocks_blocked_id_fkey": "user_not_found",
    "mutes_muter_id_fkey": "user_not_found",
    "mutes_muted_id_fkey": "user_not_found",
    "video_views_user_id_fkey": "user_not_found",
    "video_views_video_id_fkey": "video_not_found",
    "video_daily_views_video_id_fkey": "video_not_found",
    "video_daily_views_viewer_id_fkey": "user_not_found",
    "feed_snapshots_user_id_fkey": "user_not_found",
    "reactions_video_id_fkey": "video_not_found",
    "reactions_user_id_fkey": "user_not_found",
    "comments_video_id_fkey": "video_not_found",
    "comments_author_id_fkey": "user_not_found",
    "comments_parent_id_fkey": "comment_not_found",
    "comment_likes_comment_id_fkey": "comment_not_found",
    "comment_likes_user_id_fkey": "user_not_found",
    "notifications_user_id_fkey": "user_not_found",
    "notifications_actor_id_fkey": "user_not_found",
    "notifications_video_id_fkey": "video_not_found",
    "notifications_comment_id_fkey": "comment_not_found",
    "cases_owner_id_fkey": "user_not_found",
    "cases_assignee_id_fkey": "user_not_found",
    "reports_case_id_fkey": "case_not_found",
    "reports_reporter_id_fkey": "user_not_found",
    "appeals_case_id_fkey": "case_not_found",
    "appeals_user_id_fkey": "user_not_found",
    "strikes_case_id_fkey": "case_not_found",
    "strikes_user_id_fkey": "user_not_found",
}

# The database is unreachable, restarting, refusing us or too slow: worth a retry later.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionError (refused, reset) and socket errors
    TimeoutError,  # asyncio.TimeoutError is TimeoutError on 3.11
    pgerr.PostgresConnectionError,  # class 08: ConnectionDoesNotExistError, ...
    pgerr.OperatorInterventionError,  # class 57: admin/crash shutdown, cannot connect now,
    # query canceled (statement_timeout)
    pgerr.InsufficientResourcesError,  # class 53: too many connections, disk full, OOM
)

_UNAVAILABLE_DETAIL = "The database is unavailable; try again shortly."


def _interface_error_means_gone(exc: pgerr.InterfaceError) -> bool:
    """InterfaceError is also raised for programming mistakes; only these mean the
    connection went away: "connection is closed", "pool is closing", and "connection has
    been released back to the pool", which is what a pooled connection says once the
    server dropped it (the repositories refuse use after their unit of work themselves)."""
    message = str(exc).lower()
    return any(word in message for word in ("closed", "closing", "released back to the pool"))


def translate_error(exc: BaseException) -> MomenticError | None:
    """The domain error that ``exc`` stands for, or None when it is not a driver error
    the domain knows (domain errors themselves included: they need no translation)."""
    if isinstance(exc, MomenticError):
        return None
    if isinstance(exc, pgerr.UniqueViolationError):
        name = exc.constraint_name or ""
        code, detail, extra = UNIQUE_CONFLICTS.get(name, ("conflict", "That exists already.", {}))
        return Conflict(detail, code=code, **extra)
    if isinstance(exc, pgerr.ForeignKeyViolationError):
        code = MISSING_PARENTS.get(exc.constraint_name or "", "not_found")
        return NotFound("The record it refers to does not exist.", code=code)
    # A value the column cannot hold: refused by the driver while encoding an argument
    # (an integer over int8 raises the plain DataError, class 22000) or by the server
    # (numeric out of range). The edge validates ids; this is the net under it, a 422
    # rather than a 500. Other data exceptions (division by zero, ...) stay bugs.
    if type(exc) is pgerr.DataError or isinstance(exc, pgerr.NumericValueOutOfRangeError):
        return Invalid("A value is out of range.", code="value_out_of_range")
    if isinstance(exc, pgerr.TransactionRollbackError):  # deadlock, serialization failure
        return Conflict("Another change got in the way; try again.", code="concurrent_update")
    if isinstance(exc, _UNAVAILABLE):
        return Unavailable(_UNAVAILABLE_DETAIL)
    if isinstance(exc, pgerr.InterfaceError) and _interface_error_means_gone(exc):
        return Unavailable(_UNAVAILABLE_DETAIL)
    return None


def connect_error(exc: BaseException) -> MomenticError | None:
    """Like ``translate_error``, for failures while opening a connection: then any
    server or driver error (unknown database, refused login, ...) means "unavailable"."""
    translated = translate_error(exc)
    if translated is not None:
        return translated
    if isinstance(exc, pgerr.ClientConfigurationError):
        return None  # a malformed URL or option: a bug in the settings, not an outage
    if isinstance(exc, pgerr.PostgresError | pgerr.InterfaceError):
        return Unavailable(_UNAVAILABLE_DETAIL)
    return None


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise driver errors raised in the block as domain errors (chained)."""
    try:
        yield
    except Exception as exc:
        translated = translate_error(exc)
        if translated is None:
            raise
        raise translated from exc


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg: no stubs
    """A pooled connection that is handed back as it is, without asyncpg's reset query
    (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``: four statements, and
    four more transactions, on every release). Nothing here leaves session state behind:
    settings are ``SET LOCAL``/``set_config(..., true)``, advisory locks are ``_xact_``
    locks, LISTEN has a connection of its own (``live/routes.py``), and cursors live inside
    transactions; ``tests/unit/test_session_state.py`` keeps it so. An open transaction
    is still rolled back on release, by asyncpg itself."""

    def get_reset_query(self) -> str:
        return ""


async def create_pool(
    url: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    command_timeout: float = 5.0,
    connect_timeout: float = 10.0,
) -> asyncpg.Pool:
    """Open a pool on ``url`` (``postgresql://user:pass@host:5432/db`` or the unix-socket
    form ``postgresql://user@/db?host=/dir``). ``command_timeout`` bounds each query.

    Raises Unavailable when the database cannot be reached. Close it with
    ``await pool.close()``."""
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            command_timeout=command_timeout,
            timeout=connect_timeout,
            connection_class=PooledConnection,
        )
    except Exception as exc:
        translated = connect_error(exc)
        if translated is None:
            raise
        raise translated from exc
    assert pool is not None
    return pool
