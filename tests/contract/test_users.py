"""UserRepository contract: memory and PostgreSQL behave alike."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs
import pytest

from momentic_core.errors import Conflict, MomenticError, NotFound
from momentic_core.model.accounts import AccountStatus, CodePurpose, Role
from momentic_core.ports import RANKING_FIELDS

from .support import T0, Adapters, add_session, add_user, new_code, new_identity, new_user


async def test_add_assigns_an_id_and_keeps_every_field(backend: Adapters) -> None:
    given = new_user(
        id=999,
        email="full@example.com",
        nickname="Full_Name",
        password_hash=None,
        email_verified=True,
        role=Role.MODERATOR,
        status=AccountStatus.SUSPENDED,
        suspended_until=T0 + timedelta(days=3, microseconds=7),
        token_version=4,
        name="Ada",
        surname="Lovelace",
        bio="Counts things.\nTwo lines, émoji 🎬",
        time_zone="Europe/Minsk",
        avatar_key="avatars/1.webp",
        rating=17,
        current_streak=3,
        max_streak=9,
        max_reactions=120,
    )
    async with backend.uow() as tx:
        stored = await tx.users.add(given)
    assert stored.id > 0
    assert stored == attrs.evolve(given, id=stored.id)
    async with backend.uow() as tx:
        assert await tx.users.get(stored.id) == stored
        assert await tx.users.get_for_update(stored.id) == stored


async def test_defaults_round_trip(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        got = await tx.users.get(user.id)
    assert got.role is Role.USER and got.status is AccountStatus.ACTIVE
    assert (got.name, got.suspended_until, got.time_zone, got.token_version) == (
        None,
        None,
        "UTC",
        1,
    )


async def test_ids_are_distinct(backend: Adapters) -> None:
    a = await add_user(backend)
    b = await add_user(backend)
    assert a.id != b.id


async def test_get_unknown_is_not_found(backend: Adapters) -> None:
    async with backend.uow() as tx:
        with pytest.raises(NotFound) as err:
            await tx.users.get(424242)
    assert err.value.code == "user_not_found"
    async with backend.uow() as tx:
        with pytest.raises(NotFound) as err:
            await tx.users.get_for_update(424242)
    assert err.value.code == "user_not_found"


@pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@Example.COM"])
async def test_add_with_a_taken_email_conflicts(backend: Adapters, email: str) -> None:
    await add_user(backend, email="Taken@example.com")
    with pytest.raises(Conflict) as err:
        await add_user(backend, email=email)
    assert err.value.code == "email_taken"


@pytest.mark.parametrize("nickname", ["Moon", "moon", "MOON"])
async def test_add_with_a_taken_nickname_conflicts(backend: Adapters, nickname: str) -> None:
    await add_user(backend, nickname="Moon")
    with pytest.raises(Conflict) as err:
        await add_user(backend, nickname=nickname)
    assert err.value.code == "nickname_taken"


async def test_find_by_email_and_nickname_ignore_case(backend: Adapters) -> None:
    user = await add_user(backend, email="Mixed.Case@Example.com", nickname="StarGazer")
    async with backend.uow() as tx:
        assert await tx.users.find_by_email("mixed.case@example.com") == user
        assert await tx.users.find_by_email("MIXED.CASE@EXAMPLE.COM") == user
        assert await tx.users.find_by_email("other@example.com") is None
        assert await tx.users.find_by_nickname("stargazer") == user
        assert await tx.users.find_by_nickname("STARGAZER") == user
        assert await tx.users.find_by_nickname("stargaze") is None


async def test_update_writes_every_field_but_the_ranking_ones(backend: Adapters) -> None:
    user = await add_user(backend)
    requested = attrs.evolve(
        user,
        email="new@example.com",
        nickname="renamed",
        password_hash="$argon2id$other",
        email_verified=True,
        role=Role.ADMIN,
        status=AccountStatus.BANNED,
        suspended_until=T0 + timedelta(hours=1),
        token_version=user.token_version + 1,
        name="N",
        surname="S",
        bio="B",
        time_zone="Asia/Tokyo",
        avatar_key="a/b",
        rating=-3,
        current_streak=1,
        max_streak=2,
        max_reactions=3,
        last_post_day=T0.date(),
        created_at=T0 - timedelta(days=1),
    )
    # Ratings and streaks belong to the ranking repository: update leaves them as stored.
    changed = attrs.evolve(requested, **{f: getattr(user, f) for f in RANKING_FIELDS})
    async with backend.uow() as tx:
        assert await tx.users.update(requested) == changed
    async with backend.uow() as tx:
        assert await tx.users.get(user.id) == changed
        cleared = attrs.evolve(changed, password_hash=None, name=None, suspended_until=None)
        assert await tx.users.update(cleared) == cleared
    async with backend.uow() as tx:
        assert await tx.users.get(user.id) == cleared


async def test_update_may_change_the_case_of_its_own_nickname(backend: Adapters) -> None:
    user = await add_user(backend, nickname="quiet", email="quiet@example.com")
    async with backend.uow() as tx:
        updated = await tx.users.update(attrs.evolve(user, nickname="QUIET"))
    assert updated.nickname == "QUIET"


async def test_update_unknown_is_not_found(backend: Adapters) -> None:
    async with backend.uow() as tx:
        with pytest.raises(NotFound) as err:
            await tx.users.update(new_user(id=777777))
    assert err.value.code == "user_not_found"


async def test_update_to_a_taken_nickname_or_email_conflicts(backend: Adapters) -> None:
    await add_user(backend, nickname="first", email="first@example.com")
    second = await add_user(backend, nickname="second", email="second@example.com")
    with pytest.raises(Conflict) as err:
        async with backend.uow() as tx:
            await tx.users.update(attrs.evolve(second, nickname="FIRST"))
    assert err.value.code == "nickname_taken"
    assert err.value.extra.get("field") == "nickname"
    with pytest.raises(Conflict) as err:
        async with backend.uow() as tx:
            await tx.users.update(attrs.evolve(second, email="First@Example.com"))
    assert err.value.code == "email_taken"
    async with backend.uow() as tx:
        assert await tx.users.get(second.id) == second


async def test_delete_removes_everything_the_user_owns(backend: Adapters) -> None:
    user = await add_user(backend)
    other = await add_user(backend)
    mine = await add_session(backend, user.id)
    theirs = await add_session(backend, other.id)
    async with backend.uow() as tx:
        await tx.codes.put(new_code(user.id))
        await tx.codes.put(new_code(user.id, CodePurpose.RESET_PASSWORD))
        await tx.codes.put(new_code(other.id))
        await tx.sessions.add_refresh_token("mine", mine.id, T0)
        await tx.sessions.add_refresh_token("theirs", theirs.id, T0)
        await tx.identities.add(new_identity(user.id, provider="apple", subject="a-1"))
        await tx.identities.add(new_identity(other.id, provider="apple", subject="a-2"))

    async with backend.uow() as tx:
        await tx.users.delete(user.id)

    async with backend.uow() as tx:
        assert await tx.users.find_by_email(user.email) is None
        with pytest.raises(NotFound):
            await tx.users.get(user.id)
        assert await tx.codes.get(user.id, CodePurpose.VERIFY_EMAIL) is None
        assert await tx.codes.get(user.id, CodePurpose.RESET_PASSWORD) is None
        assert await tx.sessions.get(mine.id) is None
        assert await tx.sessions.list_for_user(user.id) == []
        assert await tx.sessions.use_refresh_token("mine", T0) is None
        assert await tx.identities.find("apple", "a-1") is None
        assert await tx.identities.list_for_user(user.id) == []
        # the other user's things stay
        assert await tx.users.get(other.id) == other
        assert await tx.codes.get(other.id, CodePurpose.VERIFY_EMAIL) is not None
        assert await tx.sessions.get(theirs.id) == theirs
        assert await tx.sessions.use_refresh_token("theirs", T0) is not None
        assert await tx.identities.find("apple", "a-2") is not None


async def test_delete_is_idempotent(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        await tx.users.delete(user.id)
        await tx.users.delete(user.id)
    async with backend.uow() as tx:
        await tx.users.delete(user.id)
        await tx.users.delete(31337)


async def test_a_freed_email_and_nickname_can_be_taken_again(backend: Adapters) -> None:
    user = await add_user(backend, email="reuse@example.com", nickname="reuse")
    async with backend.uow() as tx:
        await tx.users.delete(user.id)
    again = await add_user(backend, email="REUSE@example.com", nickname="Reuse")
    assert again.id != user.id


async def test_count_with_role(backend: Adapters) -> None:
    for role in (Role.ADMIN, Role.ADMIN, Role.MODERATOR, Role.USER, Role.USER, Role.USER):
        await add_user(backend, role=role)
    async with backend.uow() as tx:
        assert await tx.users.count_with_role(Role.ADMIN) == 2
        assert await tx.users.count_with_role(Role.MODERATOR) == 1
        assert await tx.users.count_with_role(Role.USER) == 3


async def test_two_concurrent_demotions_cannot_remove_the_last_admin(backend: Adapters) -> None:
    """Each transaction counts the admins, then demotes its own admin if another remains.
    Without count_with_role holding the counted rows, both would count two and demote."""
    a = await add_user(backend, role=Role.ADMIN)
    b = await add_user(backend, role=Role.ADMIN)

    async def demote(user_id: int) -> bool:
        async with backend.uow() as tx:
            admins = await tx.users.count_with_role(Role.ADMIN)
            await asyncio.sleep(0.05)  # let the other transaction count meanwhile
            if admins <= 1:
                return False
            user = await tx.users.get_for_update(user_id)
            await tx.users.update(attrs.evolve(user, role=Role.USER))
            return True

    results = await asyncio.gather(demote(a.id), demote(b.id))
    assert sorted(results) == [False, True]
    async with backend.uow() as tx:
        assert await tx.users.count_with_role(Role.ADMIN) == 1


async def test_set_role_shaped_demotions_never_both_succeed(backend: Adapters) -> None:
    """The order Accounts.set_role uses: lock the target, then count. On PostgreSQL the
    two transactions can deadlock; the loser then gets Conflict, never a lost admin."""
    a = await add_user(backend, role=Role.ADMIN)
    b = await add_user(backend, role=Role.ADMIN)

    async def demote(user_id: int) -> str:
        try:
            async with backend.uow() as tx:
                user = await tx.users.get_for_update(user_id)
                await asyncio.sleep(0.05)
                if await tx.users.count_with_role(Role.ADMIN) <= 1:
                    return "last_admin"
                await tx.users.update(attrs.evolve(user, role=Role.USER))
                return "demoted"
        except MomenticError as exc:
            return exc.code

    results = sorted(await asyncio.gather(demote(a.id), demote(b.id)))
    assert results in (["demoted", "last_admin"], ["concurrent_update", "demoted"])
    async with backend.uow() as tx:
        assert await tx.users.count_with_role(Role.ADMIN) == 1


async def test_get_for_update_holds_the_row_until_the_end(backend: Adapters) -> None:
    """A second writer of the same row waits for the first unit of work to finish."""
    user = await add_user(backend, rating=0)
    order: list[str] = []

    async def bump(label: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with backend.uow() as tx:
            current = await tx.users.get_for_update(user.id)
            order.append(f"{label} locked")
            await asyncio.sleep(0.05)
            await tx.users.update(attrs.evolve(current, bio=f"{current.bio or ''}+"))
            order.append(f"{label} done")

    await asyncio.gather(bump("first", 0), bump("second", 0.01))
    assert order == ["first locked", "first done", "second locked", "second done"]
    async with backend.uow() as tx:
        assert (await tx.users.get(user.id)).bio == "++"
