"""Run a block with the process's local time zone changed, so code that takes the
server's zone by mistake (``astimezone()`` with no argument) gives itself away."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def server_time_zone(spec: str = "JST-9") -> Iterator[None]:
    """``spec`` is a POSIX TZ value (JST-9 is UTC+9, no tz database needed)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = spec
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
