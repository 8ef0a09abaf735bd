"""Recent access-token checks, so a request need not look its caller up.

An access token is verified locally (its signature and lifetime); what the token cannot
say, whether its session still holds, the account is not banned and which role it has
now, comes from the user's row. This cache keeps that answer per (user, session, token
version) for a short while, and forgets a user the moment a committed event says their
access changed (``REVOKING``: a session revoked, the account closed, the role changed).
Those events reach every instance through the live channel, so a revocation holds
everywhere within the channel's delay.

It is trusted only while the channel delivers every event: ``listening`` gives a number
that changes each time the channel (re)connects, or None while it is down. Entries of
another number, or older than ``ttl``, count for nothing, so an instance that lost its
channel (and the revocations sent meanwhile) looks every caller up again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from momentic_core.model.accounts import Role
from momentic_core.model.events import REVOKING, Event
from momentic_core.ports import Clock

Key = tuple[int, int, int]  # user id, session id, token version


class AccessCache:
    def __init__(
        self,
        listening: Callable[[], int | None],
        clock: Clock,
        *,
        ttl: timedelta = timedelta(seconds=30),
        size: int = 100_000,
    ) -> None:
        self._listening = listening
        self._clock = clock
        self._ttl = ttl
        self._size = size
        self._entries: dict[Key, tuple[Role, int, datetime]] = {}
        self._by_user: dict[int, set[Key]] = {}
        self._forgotten = 0  # counts every forget: a lookup across one is not kept

    def get(self, key: Key) -> Role | None:
        """The role of a recent check of this token that still holds, else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        role, epoch, at = entry
        if epoch != self._listening() or at + self._ttl <= self._clock.now():
            self._drop(key)
            return None
        return role

    def mark(self) -> tuple[int, int | None]:
        """Taken before a lookup and handed to ``put``."""
        return self._forgotten, self._listening()

    def put(self, key: Key, role: Role, mark: tuple[int, int | None]) -> None:
        """Keep a lookup's answer, unless some access changed while it ran (its answer
        may predate that change), or the channel was down or reconnected meanwhile (a
        change may have gone by unheard)."""
        epoch = self._listening()
        if epoch is None or mark != (self._forgotten, epoch):
            return
        if len(self._entries) >= self._size:
            self._drop(next(iter(self._entries)))
        self._entries[key] = (role, epoch, self._clock.now())
        self._by_user.setdefault(key[0], set()).add(key)

    def observe(self, event: Event) -> None:
        """Called for every committed event (on the loop): forgets the user of a
        revoking one."""
        if isinstance(event, REVOKING):
            self.forget(event.user_id)

    def forget(self, user_id: int) -> None:
        self._forgotten += 1
        for key in self._by_user.pop(user_id, set()):
            self._entries.pop(key, None)

    def _drop(self, key: Key) -> None:
        self._entries.pop(key, None)
        keys = self._by_user.get(key[0])
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_user[key[0]]
