"""Domain errors.

Every failure a use case reports is a ``MomenticError``. Each kind carries a stable,
machine-readable ``code`` (clients switch on it) and a human ``detail``. Adapters
translate driver errors into these kinds; the HTTP layer maps each kind to a status
and renders RFC 9457 problem+json. Nothing else reaches a client.
"""

from __future__ import annotations

from typing import Any


class MomenticError(Exception):
    """Base of every domain error."""

    code = "error"
    title = "Error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class Invalid(MomenticError):
    """The input breaks a rule of the domain (too long, wrong format, weak password)."""

    code = "validation_failed"
    title = "Invalid input"


class NotFound(MomenticError):
    """The thing does not exist, or the caller may not know that it exists."""

    code = "not_found"
    title = "Not found"


class Conflict(MomenticError):
    """The request clashes with the current state (a taken nickname, a used token)."""

    code = "conflict"
    title = "Conflict"


class Unauthenticated(MomenticError):
    """No valid identity: missing, expired, revoked or forged credentials."""

    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(MomenticError):
    """The caller is known but may not do this."""

    code = "forbidden"
    title = "Forbidden"


class RateLimited(MomenticError):
    """Too many attempts; ``retry_after`` seconds until the window resets."""

    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, limit: int, code: str | None = None):
        super().__init__(detail, code=code)
        self.retry_after = retry_after
        self.limit = limit


class Unavailable(MomenticError):
    """A dependency (database, storage, mail) cannot be reached right now."""

    code = "unavailable"
    title = "Service unavailable"


class TooLarge(MomenticError):
    """The payload is over its size limit; nothing of it was kept."""

    code = "too_large"
    title = "Payload too large"


class UnsupportedMedia(MomenticError):
    """The bytes are not of an accepted format, whatever their declared type."""

    code = "unsupported_media_type"
    title = "Unsupported media type"
