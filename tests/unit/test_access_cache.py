"""The access cache (services.access): a recent check of a token stands in for the lookup
while the live channel holds, and never across a revocation, a reconnect or its ttl."""

from __future__ import annotations

from datetime import timedelta

from adapters.memory.clock import ManualClock
from momentic_core.model.accounts import Role
from momentic_core.model.events import (
    AccountChanged,
    AccountClosed,
    Event,
    ReactionsChanged,
    RelationChanged,
    SessionRevoked,
)
from momentic_core.services.access import AccessCache


class Channel:
    def __init__(self) -> None:
        self.epoch: int | None = 1

    def __call__(self) -> int | None:
        return self.epoch


def _cache(size: int = 100) -> tuple[AccessCache, Channel, ManualClock]:
    channel, clock = Channel(), ManualClock()
    return AccessCache(channel, clock, ttl=timedelta(seconds=30), size=size), channel, clock


def test_a_kept_check_stands_until_its_ttl() -> None:
    cache, _, clock = _cache()
    cache.put((1, 10, 1), Role.USER, cache.mark())
    assert cache.get((1, 10, 1)) is Role.USER
    assert cache.get((1, 10, 2)) is None  # another token version: another token
    assert cache.get((1, 11, 1)) is None
    clock.advance(timedelta(seconds=29.9))
    assert cache.get((1, 10, 1)) is Role.USER
    clock.advance(timedelta(seconds=0.1))
    assert cache.get((1, 10, 1)) is None


def test_every_revoking_event_forgets_that_user_only() -> None:
    revoking: list[Event] = [SessionRevoked(1), AccountClosed(1, "banned"), AccountChanged(1)]
    for kind in revoking:
        cache, _, _ = _cache()
        cache.put((1, 10, 1), Role.USER, cache.mark())
        cache.put((2, 20, 1), Role.USER, cache.mark())
        cache.observe(RelationChanged(1, 2))
        cache.observe(ReactionsChanged(1, {}))
        assert cache.get((1, 10, 1)) is Role.USER
        cache.observe(kind)
        assert cache.get((1, 10, 1)) is None, kind
        assert cache.get((2, 20, 1)) is Role.USER


def test_a_lookup_that_ran_across_a_revocation_is_not_kept() -> None:
    cache, _, _ = _cache()
    mark = cache.mark()  # the lookup starts, reads the row as it was...
    cache.observe(SessionRevoked(1, session_id=10))
    cache.put((1, 10, 1), Role.USER, mark)  # ...and would keep what no longer holds
    assert cache.get((1, 10, 1)) is None


def test_nothing_is_kept_or_trusted_while_the_channel_is_down_or_from_before_it() -> None:
    cache, channel, _ = _cache()
    cache.put((1, 10, 1), Role.USER, cache.mark())
    channel.epoch = None  # lost: revocations may be going by unheard
    assert cache.get((1, 10, 1)) is None
    cache.put((2, 20, 1), Role.USER, cache.mark())
    channel.epoch = 2  # back, but what was kept before may be stale
    assert cache.get((1, 10, 1)) is None
    assert cache.get((2, 20, 1)) is None
    cache.put((1, 10, 1), Role.ADMIN, cache.mark())
    assert cache.get((1, 10, 1)) is Role.ADMIN


def test_the_cache_holds_at_most_its_size() -> None:
    cache, _, _ = _cache(size=3)
    for user in range(1, 6):
        cache.put((user, user, 1), Role.USER, cache.mark())
    kept = [user for user in range(1, 6) if cache.get((user, user, 1)) is not None]
    assert kept == [3, 4, 5]


def test_a_lookup_that_ran_across_a_reconnect_is_not_kept() -> None:
    """The channel dropped and came back while the row was read: a revocation may have
    gone by unheard, so the answer is used once and not kept."""
    cache, channel, _ = _cache()
    mark = cache.mark()
    channel.epoch = None
    channel.epoch = 2
    cache.put((1, 10, 1), Role.USER, mark)
    assert cache.get((1, 10, 1)) is None
    cache.put((1, 10, 1), Role.USER, cache.mark())
    assert cache.get((1, 10, 1)) is Role.USER
