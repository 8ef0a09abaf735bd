"""Request and response views of the system area (its routes are in
``routes.py`` beside; views other areas use too are in adapters/http/views.py)."""

from __future__ import annotations

import attrs

# ---------------------------------------------------------------- problems and system


@attrs.frozen
class StatusOut:
    status: str
