"""Friend requests as the use cases make them: a request to someone who asked me accepts
theirs, accepting leaves no request either way, and asking again (after a cancel) does not
notify again the same day. PostgreSQL under concurrency: tests/integration/test_social_races.py."""

from __future__ import annotations

import functools
from datetime import timedelta

from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.uow import InMemoryUnitOfWork
from momentic_core.model.engagement import NotificationKind
from momentic_core.model.social import FriendRequest, Relation
from momentic_core.services.social import Friends
from momentic_core.services.throttle import Throttle

from .ranking_support import World, make_world


def _friends(world: World) -> Friends:
    uow = functools.partial(InMemoryUnitOfWork, world.store, clock=world.clock)
    throttle = Throttle(InMemoryRateLimiter(world.clock), multiplier=1000, config=world.config)
    return Friends(uow=uow, clock=world.clock, throttle=throttle)


def _requests_to(world: World, user_id: int) -> list[int]:
    return [n.actor_id for n in world.store.notifications.values()
            if n.user_id == user_id and n.kind is NotificationKind.FRIEND_REQUEST]


async def test_a_request_to_someone_who_asked_me_accepts_theirs() -> None:
    world = make_world()
    friends = _friends(world)
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    assert await friends.request(ann, bob.user_id) is Relation.REQUEST_SENT
    assert await friends.request(bob, ann.user_id) is Relation.FRIENDS
    assert world.store.friend_requests == {}
    assert (ann.user_id, bob.user_id) in world.store.friendships


async def test_accepting_leaves_no_request_either_way() -> None:
    """Both asked (two requests that crossed, as before the pair lock): one acceptance
    ends both rows."""
    world = make_world()
    friends = _friends(world)
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    async with world.uow() as tx:
        await tx.social.add_request(FriendRequest(ann.user_id, bob.user_id, world.clock.now()))
        await tx.social.add_request(FriendRequest(bob.user_id, ann.user_id, world.clock.now()))
    await friends.accept(bob, ann.user_id)
    assert world.store.friend_requests == {}
    async with world.uow() as tx:
        assert await tx.social.relation(ann.user_id, bob.user_id) is Relation.FRIENDS


async def test_asking_and_cancelling_again_notifies_once_a_day() -> None:
    world = make_world()
    friends = _friends(world)
    ann, bob, cat = [await world.add_user(n) for n in ("ann", "bob", "cat")]
    for _ in range(5):
        await friends.request(ann, bob.user_id)
        await friends.cancel(ann, bob.user_id)
    await friends.request(cat, bob.user_id)  # someone else's request is news
    assert _requests_to(world, bob.user_id) == [ann.user_id, cat.user_id]
    world.clock.advance(timedelta(days=1))
    await friends.request(ann, bob.user_id)
    assert _requests_to(world, bob.user_id) == [ann.user_id, cat.user_id, ann.user_id]
