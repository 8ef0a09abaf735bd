"""Profiles on the in-memory adapters: editing my profile, seeing others, deletion, export."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest

from adapters.memory.clock import ManualClock
from adapters.memory.mail import InMemoryMailer
from adapters.memory.store import MemoryStore
from momentic_core.errors import Conflict, Invalid, NotFound, RateLimited, Unauthenticated
from momentic_core.model.accounts import (
    AccountStatus,
    CodePurpose,
    Principal,
    Role,
    TokenPair,
    User,
)
from momentic_core.ports import UnitOfWorkFactory
from momentic_core.services.accounts import Accounts, DeviceInfo
from momentic_core.services.profiles import (
    EXPORT_SECTIONS,
    UNSET,
    AccountExport,
    ProfileChanges,
    Profiles,
)

from .conftest import FakeIdTokenVerifier

PASSWORD = "correct horse battery"
DEVICE = DeviceInfo(ip="203.0.113.7", name="Pixel 8")

Signup = Callable[..., Awaitable[TokenPair]]
SetUser = Callable[..., User]


@pytest.fixture
async def ann(accounts: Accounts, signup: Signup) -> Principal:
    return await accounts.authenticate((await signup("ann@example.com")).access_token)


@pytest.fixture
async def bob(accounts: Accounts, signup: Signup) -> Principal:
    return await accounts.authenticate((await signup("bob@example.com")).access_token)


# ---------------------------------------------------------------------------- update_me


async def test_me_is_the_callers_account(profiles: Profiles, ann: Principal) -> None:
    me = await profiles.me(ann)
    assert me.id == ann.user_id and me.email == "ann@example.com"


async def test_update_me_lower_cases_the_nickname(
    profiles: Profiles, ann: Principal, store: MemoryStore
) -> None:
    user = await profiles.update_me(ann, ProfileChanges(nickname="  Ann.Lee_99 "))
    assert user.nickname == "ann.lee_99"
    assert store.users[ann.user_id].nickname == "ann.lee_99"


@pytest.mark.parametrize(
    "nickname", ["ab", "_ann", ".ann", "ann lee", "ann-lee", "a" * 31, "\u0430nn"]
)
async def test_update_me_refuses_a_malformed_nickname(
    profiles: Profiles, ann: Principal, store: MemoryStore, nickname: str
) -> None:
    before = store.users[ann.user_id]
    with pytest.raises(Invalid) as err:
        await profiles.update_me(ann, ProfileChanges(nickname=nickname))
    assert err.value.code == "invalid_nickname"
    assert store.users[ann.user_id] == before


async def test_a_taken_nickname_conflicts_whatever_its_case(
    profiles: Profiles, ann: Principal, bob: Principal, store: MemoryStore
) -> None:
    await profiles.update_me(bob, ProfileChanges(nickname="bobby"))
    before = store.users[ann.user_id]

    with pytest.raises(Conflict) as err:
        await profiles.update_me(ann, ProfileChanges(nickname="BoBbY", bio="hello"))

    assert err.value.code == "nickname_taken"
    assert store.users[ann.user_id] == before  # the bio was not half-applied


async def test_keeping_my_own_nickname_in_another_case_is_fine(
    profiles: Profiles, ann: Principal
) -> None:
    await profiles.update_me(ann, ProfileChanges(nickname="annie"))
    user = await profiles.update_me(ann, ProfileChanges(nickname="ANNIE"))
    assert user.nickname == "annie"


async def test_a_long_bio_is_refused(profiles: Profiles, ann: Principal) -> None:
    await profiles.update_me(ann, ProfileChanges(bio="b" * 100))
    with pytest.raises(Invalid) as err:
        await profiles.update_me(ann, ProfileChanges(bio="b" * 101))
    assert err.value.code == "bio_too_long"
    assert (await profiles.me(ann)).bio == "b" * 100


@pytest.mark.parametrize("field", ["name", "surname", "bio"])
@pytest.mark.parametrize("text", ["line\x00break", "bell\x07", "zero\u200bwidth", "esc\x1b[31m"])
async def test_control_characters_are_refused(
    profiles: Profiles, ann: Principal, field: str, text: str
) -> None:
    with pytest.raises(Invalid) as err:
        await profiles.update_me(ann, ProfileChanges(**{field: text}))
    assert err.value.code == "control_characters"
    assert getattr(await profiles.me(ann), field) is None


async def test_names_are_trimmed_and_limited(profiles: Profiles, ann: Principal) -> None:
    user = await profiles.update_me(ann, ProfileChanges(name="  Ann  ", surname="Lee"))
    assert (user.name, user.surname) == ("Ann", "Lee")
    with pytest.raises(Invalid) as err:
        await profiles.update_me(ann, ProfileChanges(surname="x" * 51))
    assert err.value.code == "surname_too_long"


@pytest.mark.parametrize("empty", [None, "", "   "])
async def test_null_or_blank_clears_the_bio(
    profiles: Profiles, ann: Principal, empty: str | None
) -> None:
    await profiles.update_me(ann, ProfileChanges(bio="I film sunsets"))
    user = await profiles.update_me(ann, ProfileChanges(bio=empty))
    assert user.bio is None
    assert (await profiles.me(ann)).bio is None


async def test_time_zone_must_be_an_iana_name(profiles: Profiles, ann: Principal) -> None:
    user = await profiles.update_me(ann, ProfileChanges(time_zone="Europe/Minsk"))
    assert user.time_zone == "Europe/Minsk"
    for bad in ("Mars/Olympus", "europe/minsk", "", "+03:00"):
        with pytest.raises(Invalid) as err:
            await profiles.update_me(ann, ProfileChanges(time_zone=bad))
        assert err.value.code == "invalid_time_zone"
    assert (await profiles.me(ann)).time_zone == "Europe/Minsk"


async def test_unset_fields_are_left_alone(profiles: Profiles, ann: Principal) -> None:
    full = await profiles.update_me(
        ann,
        ProfileChanges(
            nickname="annie", name="Ann", surname="Lee", bio="hi", time_zone="Asia/Tokyo"
        ),
    )

    user = await profiles.update_me(ann, ProfileChanges(name="Anna"))

    assert user == attrs.evolve(full, name="Anna")
    assert ProfileChanges().bio is UNSET
    assert await profiles.update_me(ann, ProfileChanges()) == user


# ---------------------------------------------------------------------------- get_user


async def test_anyone_sees_an_active_user(
    profiles: Profiles, ann: Principal, bob: Principal
) -> None:
    assert (await profiles.get_user(bob, ann.user_id)).id == ann.user_id
    assert (await profiles.get_user(None, ann.user_id)).id == ann.user_id


async def test_an_unknown_user_is_not_found(profiles: Profiles, ann: Principal) -> None:
    with pytest.raises(NotFound) as err:
        await profiles.get_user(ann, 999_999)
    assert err.value.code == "user_not_found"


async def test_a_banned_user_is_hidden_from_normal_users_only(
    profiles: Profiles, ann: Principal, bob: Principal, set_user: SetUser
) -> None:
    set_user(ann.user_id, status=AccountStatus.BANNED)

    for viewer in (bob, None):
        with pytest.raises(NotFound) as err:
            await profiles.get_user(viewer, ann.user_id)
        assert err.value.code == "user_not_found"
    for role in (Role.MODERATOR, Role.ADMIN):
        staff = Principal(user_id=bob.user_id, role=role, session_id=bob.session_id)
        assert (await profiles.get_user(staff, ann.user_id)).id == ann.user_id
    assert (await profiles.get_user(ann, ann.user_id)).status is AccountStatus.BANNED


async def test_a_suspended_user_is_hidden_until_the_suspension_ends(
    profiles: Profiles, ann: Principal, bob: Principal, set_user: SetUser, clock: ManualClock
) -> None:
    set_user(
        ann.user_id,
        status=AccountStatus.SUSPENDED,
        suspended_until=clock.now() + timedelta(days=1),
    )
    with pytest.raises(NotFound):
        await profiles.get_user(bob, ann.user_id)
    clock.advance(timedelta(days=1, seconds=1))
    assert (await profiles.get_user(bob, ann.user_id)).id == ann.user_id


# ---------------------------------------------------------------------------- delete_me


async def test_delete_me_needs_the_password(
    profiles: Profiles, accounts: Accounts, ann: Principal, store: MemoryStore
) -> None:
    for password in ("not my password", None):
        with pytest.raises(Unauthenticated) as err:
            await profiles.delete_me(ann, password)
        assert err.value.code == "invalid_credentials"
    assert ann.user_id in store.users
    await accounts.authenticate(
        (await accounts.login("ann@example.com", PASSWORD, DEVICE)).access_token
    )


async def test_delete_me_is_rate_limited_per_user(
    profiles: Profiles,
    accounts: Accounts,
    ann: Principal,
    bob: Principal,
    store: MemoryStore,
    clock: ManualClock,
) -> None:
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await profiles.delete_me(ann, "not my password")

    with pytest.raises(RateLimited) as err:
        await profiles.delete_me(ann, PASSWORD)  # even the right password, once over

    assert err.value.code == "rate_limited"
    assert 0 < err.value.retry_after <= 15 * 60
    assert ann.user_id in store.users
    await accounts.login("ann@example.com", PASSWORD, DEVICE)  # the email login is separate
    with pytest.raises(Unauthenticated):
        await profiles.delete_me(bob, "not my password")  # another user is not limited
    clock.advance(timedelta(minutes=15))
    await profiles.delete_me(ann, PASSWORD)
    assert ann.user_id not in store.users


async def test_delete_me_removes_the_user_sessions_and_codes(
    profiles: Profiles,
    accounts: Accounts,
    ann: Principal,
    bob: Principal,
    store: MemoryStore,
    id_tokens: FakeIdTokenVerifier,
) -> None:
    await accounts.login("ann@example.com", PASSWORD, DEVICE)
    await accounts.request_password_reset("ann@example.com", DEVICE)
    id_tokens.issue("t1", subject="g-ann", email="ann@example.com")
    await accounts.sign_in_with_provider("google", "t1", None, DEVICE)
    assert (ann.user_id, CodePurpose.RESET_PASSWORD) in store.codes

    await profiles.delete_me(ann, PASSWORD)

    assert ann.user_id not in store.users
    assert not [s for s in store.sessions.values() if s.user_id == ann.user_id]
    assert not [k for k in store.codes if k[0] == ann.user_id]
    assert not [i for i in store.identities.values() if i.user_id == ann.user_id]
    assert {row.session_id for row in store.refresh_tokens.values()} <= set(store.sessions)
    assert bob.user_id in store.users
    with pytest.raises(Unauthenticated) as err:
        await accounts.login("ann@example.com", PASSWORD, DEVICE)
    assert err.value.code == "invalid_credentials"
    await accounts.authenticate(
        (await accounts.login("bob@example.com", PASSWORD, DEVICE)).access_token
    )


async def test_a_social_only_account_is_deleted_without_a_password(
    profiles: Profiles, accounts: Accounts, id_tokens: FakeIdTokenVerifier, store: MemoryStore
) -> None:
    id_tokens.issue("t1", subject="g-carol", email="carol@gmail.com")
    pair = await accounts.sign_in_with_provider("google", "t1", None, DEVICE)
    who = await accounts.authenticate(pair.access_token)

    await profiles.delete_me(who, None)

    assert store.users == {} and store.identities == {}
    with pytest.raises(Unauthenticated) as err:
        await accounts.authenticate(pair.access_token)
    assert err.value.code == "token_revoked"


# ---------------------------------------------------------------------------- export


async def _collect(export: AccountExport) -> dict[str, list[Any]]:
    """Every section's items, checking each section comes once, whole, in order."""
    sections: dict[str, list[Any]] = {}
    async for batch in export.batches:
        if batch.section not in sections:
            assert list(sections) == list(EXPORT_SECTIONS[: len(sections)])
            sections[batch.section] = []
        assert list(sections)[-1] == batch.section, "a section's batches come together"
        sections[batch.section] += batch.items
    assert tuple(sections) == EXPORT_SECTIONS
    return sections


async def test_export_holds_the_user_sessions_and_identities(
    profiles: Profiles,
    accounts: Accounts,
    ann: Principal,
    bob: Principal,
    id_tokens: FakeIdTokenVerifier,
    mailer: InMemoryMailer,
) -> None:
    await profiles.update_me(ann, ProfileChanges(bio="I film sunsets"))
    laptop = await accounts.login("ann@example.com", PASSWORD, DEVICE)
    id_tokens.issue("t1", subject="apple-ann", email="ann@example.com", provider="apple")
    await accounts.sign_in_with_provider("apple", "t1", None, DEVICE)
    await accounts.logout(await accounts.authenticate(laptop.access_token))

    export = await profiles.export(ann)
    sections = await _collect(export)

    assert export.user == await profiles.me(ann)
    assert export.user.bio == "I film sunsets"
    sessions = sections["sessions"]
    assert {s.user_id for s in sessions} == {ann.user_id}
    assert ann.session_id in {s.id for s in sessions}
    # Signed-out devices too: where and when the account was used is held about it.
    assert [s.revoked_at is not None for s in sessions if s.id == laptop.session_id] == [True]
    assert len(sessions) == 3
    assert [(i.provider, i.subject, i.user_id) for i in sections["linked_identities"]] == [
        ("apple", "apple-ann", ann.user_id)
    ]
    assert bob.user_id not in {s.user_id for s in sessions}


async def test_an_export_reads_each_section_in_pages_of_the_given_size(
    uow: UnitOfWorkFactory,
    clock: ManualClock,
    hasher: Any,
    throttle: Any,
    accounts: Accounts,
    ann: Principal,
    store: MemoryStore,
) -> None:
    for n in range(4):
        await accounts.login("ann@example.com", PASSWORD, DeviceInfo(ip=None, name=f"d{n}"))
    small = Profiles(uow=uow, clock=clock, hasher=hasher, throttle=throttle, export_page=2)
    seen: list[tuple[str, int]] = []

    export = await small.export(ann)
    async for batch in export.batches:
        assert len(batch.items) <= 2
        seen.append((batch.section, len(batch.items)))

    # 5 sessions: pages of 2, 2 and 1; an empty section is one empty page.
    assert [n for name, n in seen if name == "sessions"] == [2, 2, 1]
    assert ("videos", 0) in seen
    assert all(n == 0 for name, n in seen if name != "sessions")


async def test_an_export_is_rate_limited_before_it_reads(
    profiles: Profiles, ann: Principal
) -> None:
    for _ in range(3):
        await _collect(await profiles.export(ann))
    with pytest.raises(RateLimited):
        await profiles.export(ann)


async def test_the_last_admin_cannot_delete_their_account(accounts, profiles) -> None:
    from momentic_core.errors import Conflict
    from momentic_core.model.accounts import Principal, Role

    boss = await accounts.create_user("boss@example.com", "correct horse battery", Role.ADMIN)
    who = Principal(user_id=boss.id, role=Role.ADMIN, session_id=0)
    with pytest.raises(Conflict) as err:
        await profiles.delete_me(who, "correct horse battery")
    assert err.value.code == "last_admin"
    other = await accounts.create_user("two@example.com", "correct horse battery", Role.ADMIN)
    assert other.role is Role.ADMIN
    await profiles.delete_me(who, "correct horse battery")
    assert (await accounts.find_by_email("two@example.com")).id == other.id
