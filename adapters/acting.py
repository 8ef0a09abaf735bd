"""Who acts in the current request, and where its writes reached: what read-your-writes
on database replicas needs (``adapters.postgres.replicas``).

The HTTP layer gives every request a fresh ``Acting`` (``acting_scope``) and names the
caller once the access token is verified; the PostgreSQL unit of work records in it the
WAL position of each write it commits, and reads the caller from it. Outside a request
(job workers, the CLI) there is none: writes are not attributed, reads need nothing.
A leaf module, so that both sides may import it without importing each other.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import attrs


@attrs.define
class Acting:
    user_id: int | None = None
    # The highest WAL position (bytes since 0/0) after a write this request committed.
    wrote_lsn: int | None = None


acting_var: contextvars.ContextVar[Acting | None] = contextvars.ContextVar(
    "acting", default=None
)


def current() -> Acting | None:
    return acting_var.get()


@contextlib.contextmanager
def acting_scope() -> Iterator[Acting]:
    """A fresh ``Acting`` for the block (one request), forgotten after it: connections
    are kept alive across requests, so nothing may carry over from the previous one."""
    acting = Acting()
    token = acting_var.set(acting)
    try:
        yield acting
    finally:
        acting_var.reset(token)
