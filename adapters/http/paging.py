"""Opaque cursors and page sizes shared by every list.

A cursor is base64url JSON ``[kind, ...values]``: opaque to clients, checked on the way
back in, never an offset.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from momentic_core.errors import Invalid
from momentic_core.model.social import Keyset

DEFAULT_LIMIT = 20
MAX_LIMIT = 50


def _bad() -> Invalid:
    return Invalid("The cursor is not valid.", code="invalid_cursor", field="cursor")


def encode(kind: str, *values: Any) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, kind: str, arity: int) -> list[Any]:
    """The values of a cursor of ``kind``; raises Invalid(code="invalid_cursor"), also
    for text no query can carry."""
    try:
        if len(token) > 512:
            raise ValueError
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _bad() from None
    if not isinstance(value, list) or len(value) != arity + 1 or value[0] != kind:
        raise _bad()
    if any(isinstance(v, str) and not _storable(v) for v in value):
        raise _bad()
    return value[1:]


def _storable(text: str) -> bool:
    """Text a query can carry: no NUL character (no PostgreSQL text holds one) and no lone
    surrogate (not UTF-8), which only a forged cursor's \\u escapes put there."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise _bad()
    return value


def _time(value: Any) -> datetime:
    try:
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise ValueError
        at.astimezone(UTC)  # out-of-range times overflow here, not later in a query
    except (TypeError, ValueError, OverflowError):
        raise _bad() from None
    return at


def keyset_cursor(position: Keyset, newer: bool) -> str:
    return encode("newer" if newer else "older", position.created_at.isoformat(), position.id)


def read_keyset(request: web.Request) -> tuple[Keyset | None, bool]:
    """(position, newer) from ?cursor=; (None, False) for the first page."""
    token = request.query.get("cursor")
    if not token:
        return None, False
    for kind, newer in (("older", False), ("newer", True)):
        try:
            stamp, ident = decode(token, kind, 2)
        except Invalid:
            continue
        return Keyset(_time(stamp), _int(ident)), newer
    raise _bad()


def read_pair(request: web.Request, kind: str) -> tuple[int, int] | None:
    token = request.query.get("cursor")
    if not token:
        return None
    a, b = decode(token, kind, 2)
    return _int(a), _int(b)


def read_score_id(request: web.Request, kind: str) -> tuple[int, int] | None:
    """(score, id) of a ``[kind, score, id]`` cursor; a score may be 0 or negative (a
    leaderboard's points), within 64 bits."""
    token = request.query.get("cursor")
    if not token:
        return None
    score, ident = decode(token, kind, 2)
    if not isinstance(score, int) or isinstance(score, bool) or not -(2**63) <= score < 2**63:
        raise _bad()
    return score, _int(ident)


def read_text_cursor(request: web.Request, kind: str) -> str | None:
    token = request.query.get("cursor")
    if not token:
        return None
    (value,) = decode(token, kind, 1)
    if not isinstance(value, str):
        raise _bad()
    return value


def read_time_id(request: web.Request, kind: str) -> tuple[datetime, int] | None:
    token = request.query.get("cursor")
    if not token:
        return None
    stamp, ident = decode(token, kind, 2)
    return _time(stamp), _int(ident)


def limit(request: web.Request) -> int:
    """?limit=, default 20; at least 1, and anything over 50 is taken as 50."""
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    # ASCII digits only (int() takes "+1", " 1", "1_0"); a number of thousands of digits
    # is simply over the maximum (int() would refuse to parse it).
    digits = raw.lstrip("0")
    if not (raw.isascii() and raw.isdigit() and digits):
        raise Invalid("limit must be a positive integer.", code="invalid_query", field="limit")
    return MAX_LIMIT if len(digits) > len(str(MAX_LIMIT)) else min(int(digits), MAX_LIMIT)


def read_id(request: web.Request, kind: str) -> int | None:
    """The id of a ``[kind, id]`` cursor from ?cursor=; None for the first page."""
    token = request.query.get("cursor")
    if not token:
        return None
    (value,) = decode(token, kind, 1)
    return _int(value)


def read_count_time_id(request: web.Request, kind: str) -> tuple[int, datetime, int] | None:
    """(count, time, id) of a ``[kind, count, time, id]`` cursor: the moderation queue's
    position (most reports first, then the oldest)."""
    token = request.query.get("cursor")
    if not token:
        return None
    count, stamp, ident = decode(token, kind, 3)
    return _int(count), _time(stamp), _int(ident)
