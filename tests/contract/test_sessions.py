"""SessionRepository contract, refresh tokens included: memory and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs

from momentic_core.errors import NotFound
from momentic_core.model.accounts import RefreshUse

from .support import T0, Adapters, add_session, add_user, new_session


async def test_add_then_get(backend: Adapters) -> None:
    user = await add_user(backend)
    given = new_session(user.id, id=1234, device_name=None, ip="2001:db8::1")
    async with backend.uow() as tx:
        stored = await tx.sessions.add(given)
    assert stored.id > 0
    assert stored == attrs.evolve(given, id=stored.id)
    async with backend.uow() as tx:
        assert await tx.sessions.get(stored.id) == stored
        assert await tx.sessions.get(987654) is None


async def test_get_with_session_reads_both_in_one_call(backend: Adapters) -> None:
    user = await add_user(backend)
    other = await add_user(backend)
    mine = await add_session(backend, user.id, ip="2001:db8::7")
    theirs = await add_session(backend, other.id)
    async with backend.uow() as tx:
        await tx.sessions.revoke(theirs.id, T0)
    async with backend.uow(read_only=True) as tx:
        assert await tx.users.get_with_session(user.id, mine.id) == (user, mine)
        assert await tx.users.get_with_session(user.id, 987654) == (user, None)
        # Anyone's session comes back as it is: the caller compares its user_id.
        got_user, got_session = await tx.users.get_with_session(user.id, theirs.id)
        assert got_user == user
        assert got_session == attrs.evolve(theirs, revoked_at=T0)
        try:
            await tx.users.get_with_session(987654, mine.id)
        except NotFound as exc:
            assert exc.code == "user_not_found"
        else:
            raise AssertionError("an unknown user must raise NotFound")


async def test_list_for_user_skips_revoked_and_puts_the_latest_used_first(
    backend: Adapters,
) -> None:
    user = await add_user(backend)
    other = await add_user(backend)
    old = await add_session(backend, user.id, last_used_at=T0)
    new = await add_session(backend, user.id, last_used_at=T0 + timedelta(hours=2))
    mid = await add_session(backend, user.id, last_used_at=T0 + timedelta(hours=1))
    tie = await add_session(backend, user.id, last_used_at=T0 + timedelta(hours=1))
    gone = await add_session(backend, user.id, last_used_at=T0 + timedelta(hours=3))
    await add_session(backend, other.id, last_used_at=T0 + timedelta(hours=5))
    async with backend.uow() as tx:
        await tx.sessions.revoke(gone.id, T0)
    async with backend.uow() as tx:
        listed = await tx.sessions.list_for_user(user.id)
    assert [s.id for s in listed] == [new.id, tie.id, mid.id, old.id]


async def test_touch_moves_last_used_and_keeps_the_ip_when_none_is_given(
    backend: Adapters,
) -> None:
    user = await add_user(backend)
    session = await add_session(backend, user.id, ip="192.0.2.1")
    later = T0 + timedelta(minutes=5)
    async with backend.uow() as tx:
        await tx.sessions.touch(session.id, later, None)
    async with backend.uow() as tx:
        assert await tx.sessions.get(session.id) == attrs.evolve(session, last_used_at=later)
        await tx.sessions.touch(session.id, later + timedelta(minutes=1), "198.51.100.7")
        await tx.sessions.touch(123456789, later, "198.51.100.7")  # unknown: nothing happens
    async with backend.uow() as tx:
        got = await tx.sessions.get(session.id)
    assert got is not None
    assert (got.last_used_at, got.ip) == (later + timedelta(minutes=1), "198.51.100.7")


async def test_revoke_is_idempotent_and_keeps_the_first_time(backend: Adapters) -> None:
    user = await add_user(backend)
    session = await add_session(backend, user.id)
    first = T0 + timedelta(minutes=1)
    async with backend.uow() as tx:
        await tx.sessions.revoke(session.id, first)
        await tx.sessions.revoke(session.id, first + timedelta(minutes=1))
    async with backend.uow() as tx:
        await tx.sessions.revoke(session.id, first + timedelta(minutes=2))
        await tx.sessions.revoke(424242, first)  # unknown: nothing happens
    async with backend.uow() as tx:
        got = await tx.sessions.get(session.id)
        assert got is not None and got.revoked_at == first
        assert await tx.sessions.list_for_user(user.id) == []


async def test_revoke_all_keeps_one_and_counts_only_live_sessions(backend: Adapters) -> None:
    user = await add_user(backend)
    other = await add_user(backend)
    keep = await add_session(backend, user.id)
    a = await add_session(backend, user.id)
    b = await add_session(backend, user.id)
    dead = await add_session(backend, user.id)
    theirs = await add_session(backend, other.id)
    async with backend.uow() as tx:
        await tx.sessions.revoke(dead.id, T0)
    at = T0 + timedelta(hours=1)
    async with backend.uow() as tx:
        assert await tx.sessions.revoke_all(user.id, at, keep=keep.id) == 2
    async with backend.uow() as tx:
        assert [s.id for s in await tx.sessions.list_for_user(user.id)] == [keep.id]
        for sid in (a.id, b.id):
            got = await tx.sessions.get(sid)
            assert got is not None and got.revoked_at == at
        dead_now = await tx.sessions.get(dead.id)
        assert dead_now is not None and dead_now.revoked_at == T0
        assert await tx.sessions.get(theirs.id) == theirs
        assert await tx.sessions.revoke_all(user.id, at) == 1
        assert await tx.sessions.revoke_all(user.id, at) == 0
        assert await tx.sessions.list_for_user(user.id) == []


async def test_a_refresh_token_is_spent_once(backend: Adapters) -> None:
    user = await add_user(backend)
    session = await add_session(backend, user.id)
    async with backend.uow() as tx:
        await tx.sessions.add_refresh_token("hash-a", session.id, T0)
        await tx.sessions.add_refresh_token("hash-b", session.id, T0)
    later = T0 + timedelta(seconds=3)
    async with backend.uow() as tx:
        assert await tx.sessions.use_refresh_token("unknown", T0, "n") is None
        assert await tx.sessions.find_refresh_token("unknown") is None
        assert await tx.sessions.find_refresh_token("hash-a") == RefreshUse(
            session_id=session.id, already_used=False
        )
        assert await tx.sessions.use_refresh_token("hash-a", T0, "nonce-a") == RefreshUse(
            session_id=session.id, already_used=False, used_at=T0, nonce="nonce-a"
        )
    async with backend.uow() as tx:
        # a second spend sees the first one's time and nonce, and changes neither
        assert await tx.sessions.use_refresh_token("hash-a", later, "other") == RefreshUse(
            session_id=session.id, already_used=True, used_at=T0, nonce="nonce-a"
        )
        assert await tx.sessions.find_refresh_token("hash-a") == RefreshUse(
            session_id=session.id, already_used=True, used_at=T0, nonce="nonce-a"
        )
        assert await tx.sessions.use_refresh_token("hash-b", later) == RefreshUse(
            session_id=session.id, already_used=False, used_at=later
        )
        assert await tx.sessions.use_refresh_token("hash-b", later, "n") == RefreshUse(
            session_id=session.id, already_used=True, used_at=later
        )


async def test_a_rolled_back_spend_leaves_the_token_fresh(backend: Adapters) -> None:
    user = await add_user(backend)
    session = await add_session(backend, user.id)
    async with backend.uow() as tx:
        await tx.sessions.add_refresh_token("hash-r", session.id, T0)
    try:
        async with backend.uow() as tx:
            assert await tx.sessions.use_refresh_token("hash-r", T0) is not None
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with backend.uow() as tx:
        assert await tx.sessions.find_refresh_token("hash-r") == RefreshUse(
            session_id=session.id, already_used=False
        )
        use = await tx.sessions.use_refresh_token("hash-r", T0)
    assert use == RefreshUse(session_id=session.id, already_used=False, used_at=T0)


async def test_concurrent_spends_of_one_token_have_exactly_one_winner(backend: Adapters) -> None:
    user = await add_user(backend)
    session = await add_session(backend, user.id)
    async with backend.uow() as tx:
        await tx.sessions.add_refresh_token("contested", session.id, T0)

    async def spend(n: int) -> RefreshUse | None:
        async with backend.uow() as tx:
            use = await tx.sessions.use_refresh_token("contested", T0, f"nonce-{n}")
            await asyncio.sleep(0.01)  # hold the transaction open while others try
            return use

    uses = await asyncio.gather(*(spend(n) for n in range(10)))
    assert all(u is not None and u.session_id == session.id for u in uses)
    assert sum(1 for u in uses if u is not None and not u.already_used) == 1
    # every loser saw the winner's nonce: the one its successor derives from
    assert len({u.nonce for u in uses if u is not None}) == 1


async def test_used_from_knows_every_session_of_the_user_and_its_last_address(
    backend: Adapters,
) -> None:
    user = await add_user(backend)
    other = await add_user(backend)
    live = await add_session(backend, user.id, ip="2001:db8::1")
    gone = await add_session(backend, user.id, ip="192.0.2.10")
    await add_session(backend, other.id, ip="198.51.100.9")
    await add_session(backend, user.id, ip=None)
    async with backend.uow() as tx:
        await tx.sessions.revoke(gone.id, T0)
        await tx.sessions.touch(live.id, T0 + timedelta(minutes=1), "2001:db8::2")
    async with backend.uow(read_only=True) as tx:
        assert await tx.sessions.used_from(user.id, "2001:db8::2")  # its last address
        assert not await tx.sessions.used_from(user.id, "2001:db8::1")
        assert await tx.sessions.used_from(user.id, "192.0.2.10")  # revoked ones count
        assert not await tx.sessions.used_from(user.id, "198.51.100.9")  # someone else's
        assert not await tx.sessions.used_from(user.id, "")
        assert not await tx.sessions.used_from(987654, "2001:db8::2")
