"""The JSON of the core's typed messages: live events (``model.events``), which the stores
carry between app instances (PostgreSQL NOTIFY), and job messages (``model.jobs``), the
payloads of the job table.

One cattrs converter. Each event is written as ``{"type": <its registered name>, "data":
<its fields>}`` and read back by that name; a job's payload is its message's fields, read
back by the row's kind. So a kind is registered once, in the core (``model.events.EVENTS``,
``model.jobs.JOBS``). Times are RFC 3339 with their offset, dates ISO 8601, durations
seconds, enums their values.

A job's payload is stored: rows queued by an earlier release are read by this one, so its
shape is kept (tests/unit/test_job_messages.py holds the shapes of every kind).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from momentic_core.model.events import EVENTS, Event
from momentic_core.model.jobs import (
    JOBS,
    BadPayload,
    DeliverPushes,
    JobMessage,
    PushDelivery,
    SendMail,
)


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_structure_hook(date, lambda v, _: date.fromisoformat(v))
    converter.register_unstructure_hook(timedelta, timedelta.total_seconds)
    converter.register_structure_hook(timedelta, lambda v, _: timedelta(seconds=float(v)))
    converter.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda e: e.value
    )
    # A StrEnum is a str too, and cattrs' hook for str (kept as is) comes first.
    converter.register_unstructure_hook(enum.StrEnum, lambda e: e.value)
    # A delivery without a key was written without one; one that may go any time is
    # written without expires_at (as before time-bound pushes had it).
    converter.register_unstructure_hook(
        PushDelivery,
        make_dict_unstructure_fn(
            attrs.resolve_types(PushDelivery), converter, key=override(omit_if_default=True),
            expires_at=override(omit_if_default=True),
        ),
    )
    # A mail without a code (or queued before mails named theirs) is written without one:
    # no "mailed" key, as the previous release wrote it.
    converter.register_unstructure_hook(
        SendMail,
        make_dict_unstructure_fn(
            attrs.resolve_types(SendMail), converter, mailed=override(omit_if_default=True)
        ),
    )
    deliveries = converter.get_structure_hook(DeliverPushes)

    def deliver_pushes(raw: Any, cls: type[DeliverPushes]) -> DeliverPushes:
        # A push.deliver job queued before batches is one message.
        if isinstance(raw, dict) and "messages" not in raw:
            raw = {"messages": [raw]}
        batch: DeliverPushes = deliveries(raw, cls)
        return batch

    converter.register_structure_hook(DeliverPushes, deliver_pushes)
    return converter


converter = _converter()


def event_json(event: Event) -> dict[str, Any]:
    data = converter.unstructure(event, type(event))
    return {"type": event.name, "data": data}


def event_from_json(raw: Any) -> Event:
    """Raises ValueError for anything but an event of a registered kind."""
    try:
        kind = EVENTS[raw["type"]]
        event: Event = converter.structure(raw["data"], kind)
    except (KeyError, TypeError, ValueError, cattrs.BaseValidationError) as exc:
        raise ValueError(f"not a live event: {exc}") from None
    return event


def job_json(message: JobMessage) -> dict[str, Any]:
    """The payload a job of ``message``'s kind stores."""
    payload: dict[str, Any] = converter.unstructure(message, type(message))
    return payload


def job_from_json(kind: str, payload: Any) -> JobMessage | BadPayload:
    """The stored payload of a job of ``kind`` as its message; a BadPayload saying why
    when there is no such kind or the payload is not its message."""
    cls = JOBS.get(kind)
    if cls is None:
        return BadPayload(f"no job kind {kind!r}")
    try:
        message: JobMessage = converter.structure(payload, cls)
    except (KeyError, TypeError, ValueError, cattrs.BaseValidationError) as exc:
        return BadPayload(f"payload is not a {cls.__name__}: {_why(exc)}"[:500])
    return message


def _why(exc: Exception) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc))
    return f"{type(exc).__name__}: {exc}"
