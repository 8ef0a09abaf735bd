"""The JSON of the core's typed messages: live events (``model.events``), which the stores
carry between app instances (PostgreSQL NOTIFY).

One cattrs converter; each event is written as ``{"type": <its registered name>, "data":
<its fields>}`` and read back by that name, so a kind is registered once, in the core
(``model.events.EVENTS``). Times are RFC 3339 with their offset; enums their values.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import cattrs

from momentic_core.model.events import EVENTS, Event


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
    converter.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda e: e.value
    )
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
