"""A sign-up whose email is not verified yet is no one to other users (User.hidden_at):
the repositories' lists leave it out on both adapters, as they leave out banned users."""

from __future__ import annotations

from adapters.memory.clock import ManualClock
from momentic_core.model.ranking import Scope

from .social_support import befriend, request
from .support import T0, Adapters, add_user


async def test_search_leaves_out_unverified_sign_ups(backend: Adapters) -> None:
    me = await add_user(backend, nickname="uv.me")
    await add_user(backend, nickname="uv.fine")
    await add_user(backend, nickname="uv.pending", email_verified=False)
    async with backend.uow() as tx:
        found = [u.nickname for u in await tx.social.search(me.id, "uv", None, 10)]
        exact = await tx.social.search(me.id, "uv.pending", None, 10)
    assert found == ["uv.fine"]
    assert exact == []


async def test_contact_lists_leave_out_unverified_sign_ups(backend: Adapters) -> None:
    me = await add_user(backend)
    fine = await add_user(backend)
    pending = [await add_user(backend, email_verified=False) for _ in range(3)]
    await befriend(backend, me.id, fine.id)
    await befriend(backend, me.id, pending[0].id)  # rows from before the rule
    await request(backend, pending[1].id, me.id)
    await request(backend, me.id, pending[2].id)
    async with backend.uow() as tx:
        friends = [c.user.id for c in await tx.social.list_contacts(me.id, "friends", None, 9)]
        incoming = await tx.social.list_contacts(me.id, "incoming", None, 9)
        outgoing = await tx.social.list_contacts(me.id, "outgoing", None, 9)
    assert friends == [fine.id]
    assert incoming == [] and outgoing == []


async def test_boards_ranks_and_zones_leave_out_unverified_sign_ups(
    backend: Adapters, clock: ManualClock
) -> None:
    me = await add_user(backend, time_zone="Europe/Minsk")
    other = await add_user(backend, time_zone="Europe/Minsk")
    pending = await add_user(backend, time_zone="Europe/Minsk", email_verified=False)
    await befriend(backend, me.id, pending.id)
    async with backend.uow() as tx:
        for user, points in ((me, 1), (pending, 9), (other, 5)):
            await tx.ranking.add_points(user.id, points, T0)
    async with backend.uow() as tx:
        board = await tx.ranking.board(me.id, Scope.GLOBAL, None, None, 10)
        period = await tx.ranking.board(me.id, Scope.GLOBAL, T0, None, 10)
        friends = await tx.ranking.board(me.id, Scope.FRIENDS, None, None, 10)
        key = await tx.ranking.key_of(me.id, None)
        assert key is not None
        rank = await tx.ranking.rank(me.id, Scope.GLOBAL, None, key)
        zone = await tx.ranking.user_ids_in_zone("Europe/Minsk", 0, 10)
    assert [u.id for _, u in board] == [other.id, me.id]
    assert [u.id for _, u in period] == [other.id, me.id]
    assert [u.id for _, u in friends] == [me.id]
    assert rank == 2
    assert zone == [me.id, other.id]
