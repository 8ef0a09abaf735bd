"""The account use cases on the in-memory adapters: sign-up, sign-in, sessions, passwords,
roles and social sign-in."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from config_support import runtime_config

from adapters.crypto.passwords import Argon2PasswordHasher
from adapters.crypto.tokens import JoseTokenSigner, load_or_create_key
from adapters.memory.clock import ManualClock
from adapters.memory.mail import InMemoryMailer
from adapters.memory.store import MemoryStore
from momentic_core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    MomenticError,
    NotFound,
    RateLimited,
    Unauthenticated,
)
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
from momentic_core.services.config import Config
from momentic_core.services.throttle import Throttle

from .conftest import FakeIdTokenVerifier

PASSWORD = "correct horse battery"
OTHER_PASSWORD = "staple ballpoint orbit"
DEVICE = DeviceInfo(ip="203.0.113.7", name="Pixel 8")
LAPTOP = DeviceInfo(ip="198.51.100.4", name="Laptop")

Signup = Callable[..., Awaitable[TokenPair]]
SetUser = Callable[..., User]
MakeAdmin = Callable[..., Awaitable[User]]


def code_in(text: str) -> str | None:
    m = re.search(r"\b(\d{6})\b", text)
    return m.group(1) if m else None


def user_by_email(store: MemoryStore, email: str) -> User:
    return next(u for u in store.users.values() if u.email == email)


async def outcome(call: Awaitable[object]) -> tuple[object, ...]:
    """What a caller can observe of one call: its value, or its error kind and code."""
    try:
        return ("returned", await call)
    except MomenticError as err:
        return ("raised", type(err), err.code, err.detail)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# ---------------------------------------------------------------------------- register


async def test_register_mails_a_six_digit_code_to_the_normalized_address(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore
) -> None:
    await accounts.register("  Ann@Example.COM ", PASSWORD, DEVICE)

    assert len(mailer.sent) == 1
    mail = mailer.sent[0]
    assert mail.to == "ann@example.com"
    assert re.fullmatch(r"\d{6}", mailer.last_code("ann@example.com"))
    assert code_in(mail.subject) == code_in(mail.text)
    user = user_by_email(store, "ann@example.com")
    assert not user.email_verified
    assert user.password_hash is not None and PASSWORD not in user.password_hash
    assert store.codes[(user.id, CodePurpose.VERIFY_EMAIL)].code_hash != code_in(mail.text)


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("ann@cs.mit.edu", True),
        ("ann@edu.evil.com", False),
        ("ann@evil-edu.com", False),
        ("ann@bsu.by", True),
        ("ann@fpmi.bsu.by", False),
        ("ann@gmail.com", False),
    ],
)
async def test_register_allows_only_configured_domains(
    make_accounts: Callable[..., Accounts],
    mailer: InMemoryMailer,
    store: MemoryStore,
    uow: UnitOfWorkFactory,
    clock: ManualClock,
    email: str,
    allowed: bool,
) -> None:
    accounts = make_accounts(
        config=runtime_config(uow, clock, allowed_email_domains="*.edu,bsu.by")
    )
    if allowed:
        await accounts.register(email, PASSWORD, DEVICE)
        assert [m.to for m in mailer.sent] == [email]
    else:
        with pytest.raises(Invalid) as err:
            await accounts.register(email, PASSWORD, DEVICE)
        assert err.value.code == "email_domain_not_allowed"
        assert mailer.sent == []
        assert store.users == {}


async def test_any_domain_is_explicit_and_an_empty_list_is_refused(
    make_accounts: Callable[..., Accounts],
    mailer: InMemoryMailer,
    uow: UnitOfWorkFactory,
    clock: ManualClock,
) -> None:
    config = runtime_config(uow, clock, allowed_email_domains="bsu.by")
    accounts = make_accounts(config=config)

    async def admitted(email: str) -> bool:
        try:
            await accounts.register(email, PASSWORD, DEVICE)
        except Invalid as err:
            assert err.code == "email_domain_not_allowed"
            return False
        return True

    with pytest.raises(Invalid) as err:
        await config.update(None, {"allowed_email_domains": []})
    assert err.value.code == "invalid_setting"
    assert err.value.extra == {"field": "allowed_email_domains"}
    assert not await admitted("ann@gmail.com")
    await config.update(None, {"allowed_email_domains": ["*"]})
    assert await admitted("bob@gmail.com")
    await config.update(None, {"allowed_email_domains": None})  # the environment's again
    assert not await admitted("cat@gmail.com")
    assert await admitted("cat@bsu.by")
    # An empty environment variable admits any domain.
    assert (await runtime_config(uow, clock).current()).allowed_email_domains == ("*",)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short12", "password_too_short"),
        ("x" * 129, "password_too_long"),
        ("password", "password_too_common"),
        ("PASSWORD1", "password_too_common"),
        ("12345678", "password_too_common"),
    ],
)
async def test_register_refuses_weak_passwords(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore, password: str, code: str
) -> None:
    with pytest.raises(Invalid) as err:
        await accounts.register("ann@example.com", password, DEVICE)
    assert err.value.code == code
    assert mailer.sent == [] and store.users == {}


async def test_register_accepts_the_password_length_bounds(accounts: Accounts) -> None:
    await accounts.register("a@example.com", "kq8#zt2w", DEVICE)
    await accounts.register("b@example.com", "kq8#zt2w" * 16, DEVICE)


@pytest.mark.parametrize(
    "email",
    [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@@example.com",
        "ann@example",
        "a b@x.com",
        "ann@exa_mple.com",
        "ann\x00@example.com",
    ],
)
async def test_register_refuses_malformed_email(
    accounts: Accounts, mailer: InMemoryMailer, email: str
) -> None:
    with pytest.raises(Invalid) as err:
        await accounts.register(email, PASSWORD, DEVICE)
    assert err.value.code == "invalid_email"
    assert mailer.sent == []


async def test_register_of_a_verified_address_looks_the_same_and_sends_a_notice(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore, signup: Signup
) -> None:
    first = await outcome(accounts.register("bob@example.com", PASSWORD, DEVICE))
    await signup()
    users_before = dict(store.users)
    mailer.sent.clear()

    again = await outcome(accounts.register("Ann@example.com", OTHER_PASSWORD, DEVICE))

    assert again == first == ("returned", None)
    assert store.users == users_before
    assert [m.to for m in mailer.sent] == ["ann@example.com"]
    assert code_in(mailer.sent[0].subject + mailer.sent[0].text) is None
    # the old password still works, the new one does not
    await accounts.login("ann@example.com", PASSWORD, DEVICE)
    with pytest.raises(Unauthenticated):
        await accounts.login("ann@example.com", OTHER_PASSWORD, DEVICE)


async def test_register_again_unverified_sends_a_new_code_and_takes_the_new_password(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    user = user_by_email(store, "ann@example.com")
    first_code = mailer.last_code("ann@example.com")
    stored_first = store.codes[(user.id, CodePurpose.VERIFY_EMAIL)]

    again = await outcome(accounts.register("ann@example.com", OTHER_PASSWORD, DEVICE))

    assert again == ("returned", None)
    assert len(store.users) == 1
    assert store.users[user.id].password_hash != user.password_hash
    assert not store.users[user.id].email_verified
    assert len(mailer.sent) == 2 and mailer.sent[1].to == "ann@example.com"
    assert store.codes[(user.id, CodePurpose.VERIFY_EMAIL)] != stored_first
    second_code = mailer.last_code("ann@example.com")
    if second_code != first_code:  # 1 in a million they coincide
        with pytest.raises(Invalid):
            await accounts.verify_email("ann@example.com", first_code, OTHER_PASSWORD, DEVICE)
    # the first password went with the first sign-up; it no longer verifies
    with pytest.raises(Invalid) as old_password:
        await accounts.verify_email("ann@example.com", second_code, PASSWORD, DEVICE)
    assert old_password.value.code == "invalid_code"
    assert not store.users[user.id].email_verified
    await accounts.verify_email("ann@example.com", second_code, OTHER_PASSWORD, DEVICE)
    await accounts.login("ann@example.com", OTHER_PASSWORD, DEVICE)
    with pytest.raises(Unauthenticated) as err:
        await accounts.login("ann@example.com", PASSWORD, DEVICE)
    assert err.value.code == "invalid_credentials"


async def test_register_again_unverified_with_the_same_password_verifies_with_the_new_code(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    await accounts.register("Ann@Example.com", PASSWORD, LAPTOP)

    assert len(store.users) == 1 and len(mailer.sent) == 2
    await accounts.verify_email(
        "ann@example.com", mailer.last_code("ann@example.com"), PASSWORD, DEVICE
    )
    await accounts.login("ann@example.com", PASSWORD, DEVICE)


async def test_a_pre_registration_cannot_take_over_the_mailbox_owners_account(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore
) -> None:
    """Regression: an attacker signs up with the victim's address and their own password
    and never verifies; the victim later signs up and verifies. The account must end with
    the victim's password, not the attacker's."""
    attacker = DeviceInfo(ip="192.0.2.66", name="attacker")
    attacker_password, victim_password = PASSWORD, OTHER_PASSWORD
    await accounts.register("victim@example.com", attacker_password, attacker)
    code_from_attackers_sign_up = mailer.last_code("victim@example.com")

    await accounts.register("victim@example.com", victim_password, DEVICE)
    code = mailer.last_code("victim@example.com")
    user = user_by_email(store, "victim@example.com")

    # even holding the current code, the attacker's password does not verify
    with pytest.raises(Invalid) as err:
        await accounts.verify_email("victim@example.com", code, attacker_password, attacker)
    assert err.value.code == "invalid_code"
    if code_from_attackers_sign_up != code:
        with pytest.raises(Invalid):
            await accounts.verify_email(
                "victim@example.com", code_from_attackers_sign_up, attacker_password, attacker
            )
    assert not store.users[user.id].email_verified

    pair = await accounts.verify_email("victim@example.com", code, victim_password, DEVICE)

    assert (await accounts.authenticate(pair.access_token)).user_id == user.id
    assert store.users[user.id].email_verified
    await accounts.login("victim@example.com", victim_password, LAPTOP)
    with pytest.raises(Unauthenticated) as denied:
        await accounts.login("victim@example.com", attacker_password, attacker)
    assert denied.value.code == "invalid_credentials"
    with pytest.raises(Invalid):  # the spent code is no use to the attacker either
        await accounts.verify_email("victim@example.com", code, attacker_password, attacker)


async def test_register_mail_to_one_address_is_capped_but_answers_the_same(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore, clock: ManualClock
) -> None:
    outcomes = []
    codes = []
    for i in range(10):
        device = DeviceInfo(ip=f"198.51.100.{10 + i}")
        outcomes.append(await outcome(accounts.register("ann@example.com", PASSWORD, device)))
        codes.append(
            store.codes[(user_by_email(store, "ann@example.com").id, CodePurpose.VERIFY_EMAIL)]
        )

    assert outcomes == [("returned", None)] * 10
    assert len(mailer.sent) == 3
    assert {m.to for m in mailer.sent} == {"ann@example.com"}
    assert len(store.users) == 1
    # over the cap no new code replaces the last one mailed
    assert codes[3:] == [codes[2]] * 7
    last_mailed = mailer.last_code("ann@example.com")

    clock.advance(timedelta(minutes=15))
    await accounts.register("ann@example.com", PASSWORD, DEVICE)

    assert len(mailer.sent) == 4
    fresh = mailer.last_code("ann@example.com")
    if fresh != last_mailed:
        with pytest.raises(Invalid):
            await accounts.verify_email("ann@example.com", last_mailed, PASSWORD, DEVICE)
    await accounts.verify_email("ann@example.com", fresh, PASSWORD, DEVICE)


async def test_register_notices_to_a_verified_address_are_capped_too(
    accounts: Accounts, mailer: InMemoryMailer, signup: Signup
) -> None:
    await signup()  # its register call is the first of three in the window
    mailer.sent.clear()

    outcomes = [
        await outcome(accounts.register("ann@example.com", OTHER_PASSWORD, DEVICE))
        for _ in range(5)
    ]

    assert outcomes == [("returned", None)] * 5
    assert len(mailer.sent) == 2
    await accounts.login("ann@example.com", PASSWORD, DEVICE)


async def test_register_is_rate_limited_per_ip(accounts: Accounts) -> None:
    for i in range(20):
        await accounts.register(f"u{i}@example.com", PASSWORD, DEVICE)
    with pytest.raises(RateLimited):
        await accounts.register("u20@example.com", PASSWORD, DEVICE)
    await accounts.register("u20@example.com", PASSWORD, LAPTOP)


# ---------------------------------------------------------------------------- verify


async def test_verify_with_the_right_code_signs_in(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)

    pair = await accounts.verify_email(
        "ANN@example.com", " " + mailer.last_code("ann@example.com") + " ", PASSWORD, DEVICE
    )

    assert isinstance(pair, TokenPair)
    assert pair.token_type == "Bearer" and pair.expires_in == 15 * 60
    user = user_by_email(store, "ann@example.com")
    assert user.email_verified
    assert (user.id, CodePurpose.VERIFY_EMAIL) not in store.codes
    who = await accounts.authenticate(pair.access_token)
    assert who == Principal(user_id=user.id, role=Role.USER, session_id=pair.session_id)
    assert store.sessions[pair.session_id].device_name == "Pixel 8"


async def test_verify_with_a_wrong_code_fails_and_counts_a_try(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    user = user_by_email(store, "ann@example.com")
    code = mailer.last_code("ann@example.com")

    with pytest.raises(Invalid) as err:
        await accounts.verify_email("ann@example.com", wrong(code), PASSWORD, DEVICE)

    assert err.value.code == "invalid_code"
    assert store.codes[(user.id, CodePurpose.VERIFY_EMAIL)].attempts == 1
    assert not store.users[user.id].email_verified
    await accounts.verify_email("ann@example.com", code, PASSWORD, DEVICE)


async def test_verify_with_a_wrong_password_fails_like_a_wrong_code_and_counts_a_try(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    user = user_by_email(store, "ann@example.com")
    code = mailer.last_code("ann@example.com")
    with pytest.raises(Invalid) as wrong_code:
        await accounts.verify_email("ann@example.com", wrong(code), PASSWORD, DEVICE)

    with pytest.raises(Invalid) as wrong_password:
        await accounts.verify_email("ann@example.com", code, OTHER_PASSWORD, DEVICE)

    assert wrong_password.value.code == wrong_code.value.code == "invalid_code"
    assert wrong_password.value.detail == wrong_code.value.detail
    assert wrong_password.value.extra == wrong_code.value.extra
    assert store.codes[(user.id, CodePurpose.VERIFY_EMAIL)].attempts == 2
    assert not store.users[user.id].email_verified
    assert not [x for x in store.sessions.values() if x.user_id == user.id]
    await accounts.verify_email("ann@example.com", code, PASSWORD, DEVICE)


async def test_five_wrong_passwords_spend_the_code(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    code = mailer.last_code("ann@example.com")
    for _ in range(5):
        with pytest.raises(Invalid):
            await accounts.verify_email("ann@example.com", code, OTHER_PASSWORD, DEVICE)

    with pytest.raises(Invalid) as err:
        await accounts.verify_email("ann@example.com", code, PASSWORD, DEVICE)

    assert err.value.code == "invalid_code"
    assert not user_by_email(store, "ann@example.com").email_verified


async def test_after_five_wrong_tries_even_the_right_code_fails(
    accounts: Accounts, mailer: InMemoryMailer, store: MemoryStore
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    code = mailer.last_code("ann@example.com")
    for _ in range(5):
        with pytest.raises(Invalid):
            await accounts.verify_email("ann@example.com", wrong(code), PASSWORD, DEVICE)

    with pytest.raises(Invalid) as err:
        await accounts.verify_email("ann@example.com", code, PASSWORD, DEVICE)

    assert err.value.code == "invalid_code"
    assert not user_by_email(store, "ann@example.com").email_verified


async def test_four_wrong_tries_leave_the_right_code_usable(
    accounts: Accounts, mailer: InMemoryMailer
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    code = mailer.last_code("ann@example.com")
    for _ in range(4):
        with pytest.raises(Invalid):
            await accounts.verify_email("ann@example.com", wrong(code), PASSWORD, DEVICE)
    await accounts.verify_email("ann@example.com", code, PASSWORD, DEVICE)


async def test_an_expired_code_fails(
    accounts: Accounts, mailer: InMemoryMailer, clock: ManualClock
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    code = mailer.last_code("ann@example.com")
    clock.advance(timedelta(minutes=16))

    with pytest.raises(Invalid) as err:
        await accounts.verify_email("ann@example.com", code, PASSWORD, DEVICE)
    assert err.value.code == "invalid_code"


async def test_a_code_still_works_just_before_it_expires(
    accounts: Accounts, mailer: InMemoryMailer, clock: ManualClock
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    clock.advance(timedelta(minutes=14, seconds=59))
    await accounts.verify_email(
        "ann@example.com", mailer.last_code("ann@example.com"), PASSWORD, DEVICE
    )


async def test_verify_for_an_unknown_email_fails_like_a_wrong_code(
    accounts: Accounts, mailer: InMemoryMailer
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    code = mailer.last_code("ann@example.com")
    with pytest.raises(Invalid) as wrong_code:
        await accounts.verify_email("ann@example.com", wrong(code), PASSWORD, DEVICE)

    with pytest.raises(Invalid) as unknown:
        await accounts.verify_email("nobody@example.com", code, PASSWORD, DEVICE)

    assert unknown.value.code == wrong_code.value.code == "invalid_code"
    assert unknown.value.detail == wrong_code.value.detail


async def test_a_code_cannot_be_used_twice(accounts: Accounts, mailer: InMemoryMailer) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    code = mailer.last_code("ann@example.com")
    await accounts.verify_email("ann@example.com", code, PASSWORD, DEVICE)

    with pytest.raises(Invalid) as err:
        await accounts.verify_email("ann@example.com", code, PASSWORD, DEVICE)
    assert err.value.code == "invalid_code"


async def test_verify_is_rate_limited_per_account(
    accounts: Accounts, mailer: InMemoryMailer
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    for _ in range(10):
        with pytest.raises(Invalid):
            await accounts.verify_email("ann@example.com", "000000x", PASSWORD, DEVICE)
    with pytest.raises(RateLimited):
        await accounts.verify_email("ann@example.com", "000000x", PASSWORD, LAPTOP)


# ---------------------------------------------------------------------------- resend


async def test_resend_to_an_unknown_address_sends_nothing(
    accounts: Accounts, mailer: InMemoryMailer
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    known = await outcome(accounts.resend_code("ann@example.com", DEVICE))
    mailer.sent.clear()

    unknown = await outcome(accounts.resend_code("nobody@example.com", DEVICE))

    assert unknown == known == ("returned", None)
    assert mailer.sent == []


async def test_resend_to_a_verified_address_sends_nothing(
    accounts: Accounts, mailer: InMemoryMailer, signup: Signup
) -> None:
    await signup()
    mailer.sent.clear()
    await accounts.resend_code("ann@example.com", DEVICE)
    assert mailer.sent == []


async def test_resend_sends_a_fresh_code_that_replaces_the_old(
    accounts: Accounts, mailer: InMemoryMailer
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    old = mailer.last_code("ann@example.com")
    await accounts.resend_code("Ann@Example.com", DEVICE)
    assert len(mailer.sent) == 2 and mailer.sent[1].to == "ann@example.com"
    new = mailer.last_code("ann@example.com")
    if new != old:
        with pytest.raises(Invalid):
            await accounts.verify_email("ann@example.com", old, PASSWORD, DEVICE)
    await accounts.verify_email("ann@example.com", new, PASSWORD, DEVICE)


async def test_resend_is_limited_to_three_per_quarter_hour_per_address(
    accounts: Accounts, mailer: InMemoryMailer, clock: ManualClock
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)  # the sign-up mail counts
    for _ in range(2):
        await accounts.resend_code("ann@example.com", DEVICE)

    with pytest.raises(RateLimited) as err:
        await accounts.resend_code("ann@example.com", LAPTOP)

    assert 0 < err.value.retry_after <= 15 * 60
    assert err.value.code == "rate_limited"
    assert len(mailer.sent) == 3
    await accounts.resend_code("bob@example.com", DEVICE)  # another address is not limited
    clock.advance(timedelta(minutes=15))
    await accounts.resend_code("ann@example.com", DEVICE)
    assert len(mailer.sent) == 4


# ---------------------------------------------------------------------------- login


async def test_login_with_the_right_password(
    accounts: Accounts, signup: Signup, store: MemoryStore
) -> None:
    first = await signup()
    pair = await accounts.login(" ANN@example.com", PASSWORD, LAPTOP)
    assert pair.session_id != first.session_id
    assert pair.refresh_token != first.refresh_token
    who = await accounts.authenticate(pair.access_token)
    assert who.user_id == user_by_email(store, "ann@example.com").id
    assert store.sessions[pair.session_id].ip == LAPTOP.ip


async def test_wrong_password_and_unknown_email_fail_alike(
    accounts: Accounts, signup: Signup
) -> None:
    await signup()
    with pytest.raises(Unauthenticated) as bad_password:
        await accounts.login("ann@example.com", OTHER_PASSWORD, DEVICE)
    with pytest.raises(Unauthenticated) as unknown:
        await accounts.login("nobody@example.com", PASSWORD, DEVICE)
    with pytest.raises(Unauthenticated) as malformed:
        await accounts.login("not an email", PASSWORD, DEVICE)

    assert bad_password.value.code == unknown.value.code == "invalid_credentials"
    assert malformed.value.code == "invalid_credentials"
    assert bad_password.value.detail == unknown.value.detail


async def test_unverified_login_is_refused_only_with_the_right_password(
    accounts: Accounts,
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    with pytest.raises(Unauthenticated) as bad:
        await accounts.login("ann@example.com", OTHER_PASSWORD, DEVICE)
    assert bad.value.code == "invalid_credentials"

    with pytest.raises(Forbidden) as good:
        await accounts.login("ann@example.com", PASSWORD, DEVICE)
    assert good.value.code == "email_not_verified"


async def test_wrong_passwords_lock_out_their_address_not_the_owner(
    accounts: Accounts, signup: Signup, clock: ManualClock
) -> None:
    """Ten wrong passwords from one address lock that address out of the account (the
    right password too); the owner signing in from elsewhere is not affected."""
    await signup()
    attacker = DeviceInfo(ip="192.0.2.66", name="bot")
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await accounts.login("ann@example.com", OTHER_PASSWORD, attacker)
    with pytest.raises(RateLimited) as err:
        await accounts.login("ann@example.com", PASSWORD, attacker)
    assert err.value.retry_after > 0

    await accounts.login("ann@example.com", PASSWORD, LAPTOP)  # the owner elsewhere
    await signup("bob@example.com")
    await accounts.login("bob@example.com", PASSWORD, attacker)  # another account is not limited
    clock.advance(timedelta(minutes=15))
    await accounts.login("ann@example.com", PASSWORD, attacker)


async def test_past_the_account_ceiling_only_a_known_address_gets_in(
    accounts: Accounts, signup: Signup, clock: ManualClock, throttle: Throttle
) -> None:
    """Guesses from many addresses: past the account's ceiling no address may guess any
    more, but the right password from an address the account signed in from before (a
    session's, revoked ones too) still passes. An unknown email is throttled alike."""
    await signup()  # signs in from DEVICE
    ceiling = (await throttle.limit("login:account")).count
    for n in range(ceiling):
        bot = DeviceInfo(ip=f"192.0.2.{n % 250}", name="bot")
        for email in ("ann@example.com", "nobody@example.com"):
            with pytest.raises(Unauthenticated):
                await accounts.login(email, OTHER_PASSWORD, bot)
    for email in ("ann@example.com", "nobody@example.com"):
        with pytest.raises(RateLimited):
            await accounts.login(email, OTHER_PASSWORD, DeviceInfo(ip="198.18.0.1"))
    with pytest.raises(RateLimited):  # the right password from an address never seen
        await accounts.login("ann@example.com", PASSWORD, DeviceInfo(ip="198.18.0.2"))
    with pytest.raises(RateLimited):  # a wrong one from the known address
        await accounts.login("ann@example.com", OTHER_PASSWORD, DEVICE)
    pair = await accounts.login("ann@example.com", PASSWORD, DEVICE)  # the owner
    await accounts.logout(await accounts.authenticate(pair.access_token))
    await accounts.login("ann@example.com", PASSWORD, DEVICE)  # a revoked session counts
    clock.advance(timedelta(minutes=15))
    await accounts.login("ann@example.com", PASSWORD, DeviceInfo(ip="198.18.0.2"))


async def test_login_of_a_banned_or_suspended_user_is_refused(
    accounts: Accounts, signup: Signup, store: MemoryStore, set_user: SetUser, clock: ManualClock
) -> None:
    await signup()
    user = user_by_email(store, "ann@example.com")

    set_user(user.id, status=AccountStatus.BANNED)
    with pytest.raises(Forbidden) as banned:
        await accounts.login("ann@example.com", PASSWORD, DEVICE)
    assert banned.value.code == "account_banned"

    set_user(
        user.id, status=AccountStatus.SUSPENDED, suspended_until=clock.now() + timedelta(hours=1)
    )
    with pytest.raises(Forbidden) as suspended:
        await accounts.login("ann@example.com", PASSWORD, DEVICE)
    assert suspended.value.code == "account_suspended"

    clock.advance(timedelta(hours=1, seconds=1))
    await accounts.login("ann@example.com", PASSWORD, DEVICE)


# ---------------------------------------------------------------------------- refresh


async def test_a_retried_refresh_within_the_grace_gets_the_same_successor(
    accounts: Accounts, signup: Signup, store: MemoryStore, clock: ManualClock
) -> None:
    """A double submit, or a resend after a lost answer: the retry of a just-rotated token
    answers the same new refresh token (a new access token), and nothing is revoked."""
    first = await signup()
    second = await accounts.refresh(first.refresh_token, DEVICE)
    clock.advance(accounts.settings.refresh_grace)  # the last instant of the grace
    again = await accounts.refresh(first.refresh_token, DEVICE)

    assert again.refresh_token == second.refresh_token
    assert again.session_id == second.session_id
    assert again.access_token != second.access_token
    assert store.sessions[first.session_id].revoked_at is None
    await accounts.authenticate(second.access_token)
    await accounts.authenticate(again.access_token)
    third = await accounts.refresh(again.refresh_token, DEVICE)  # the family goes on
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)

    # once its successor was used, the spent token is a reuse, grace or not
    with pytest.raises(Unauthenticated) as reused:
        await accounts.refresh(first.refresh_token, DEVICE)
    assert reused.value.code == "refresh_token_reused"
    assert store.sessions[first.session_id].revoked_at is not None
    with pytest.raises(Unauthenticated):
        await accounts.authenticate(third.access_token)


async def test_a_retried_refresh_after_the_grace_revokes_the_session(
    accounts: Accounts, signup: Signup, store: MemoryStore, clock: ManualClock
) -> None:
    first = await signup()
    second = await accounts.refresh(first.refresh_token, DEVICE)
    clock.advance(accounts.settings.refresh_grace + timedelta(microseconds=1))
    with pytest.raises(Unauthenticated) as reused:
        await accounts.refresh(first.refresh_token, DEVICE)
    assert reused.value.code == "refresh_token_reused"
    with pytest.raises(Unauthenticated):
        await accounts.refresh(second.refresh_token, DEVICE)
    with pytest.raises(Unauthenticated):
        await accounts.authenticate(second.access_token)


async def test_no_grace_when_it_is_zero(
    make_accounts: Callable[..., Accounts], signup: Signup, store: MemoryStore
) -> None:
    accounts = make_accounts(refresh_grace=timedelta(0))
    first = await signup()
    await accounts.refresh(first.refresh_token, DEVICE)
    with pytest.raises(Unauthenticated) as reused:
        await accounts.refresh(first.refresh_token, DEVICE)  # at the same instant
    assert reused.value.code == "refresh_token_reused"
    assert store.sessions[first.session_id].revoked_at is not None


async def test_no_grace_for_a_revoked_session(
    accounts: Accounts, signup: Signup
) -> None:
    first = await signup()
    second = await accounts.refresh(first.refresh_token, DEVICE)
    await accounts.logout(await accounts.authenticate(second.access_token))
    with pytest.raises(Unauthenticated):
        await accounts.refresh(first.refresh_token, DEVICE)


async def test_refresh_rotates_the_token(accounts: Accounts, signup: Signup) -> None:
    first = await signup()

    second = await accounts.refresh(first.refresh_token, DEVICE)

    assert second.refresh_token != first.refresh_token
    assert second.session_id == first.session_id
    who = await accounts.authenticate(second.access_token)
    assert who.session_id == first.session_id
    third = await accounts.refresh(second.refresh_token, DEVICE)
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


async def test_reusing_a_rotated_token_revokes_the_session(
    accounts: Accounts, signup: Signup, store: MemoryStore, clock: ManualClock
) -> None:
    first = await signup()
    second = await accounts.refresh(first.refresh_token, DEVICE)
    other = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    clock.advance(accounts.settings.refresh_grace + timedelta(seconds=1))

    with pytest.raises(Unauthenticated) as reused:
        await accounts.refresh(first.refresh_token, DEVICE)
    assert reused.value.code == "refresh_token_reused"
    assert store.sessions[first.session_id].revoked_at is not None

    with pytest.raises(Unauthenticated) as newest:
        await accounts.refresh(second.refresh_token, DEVICE)
    assert newest.value.code == "invalid_refresh_token"
    with pytest.raises(Unauthenticated) as revoked:
        await accounts.authenticate(second.access_token)
    assert revoked.value.code == "token_revoked"

    # another session of the same user is untouched
    await accounts.authenticate(other.access_token)
    await accounts.refresh(other.refresh_token, LAPTOP)


async def test_refresh_with_an_unknown_token(accounts: Accounts, signup: Signup) -> None:
    await signup()
    with pytest.raises(Unauthenticated) as err:
        await accounts.refresh("no-such-token", DEVICE)
    assert err.value.code == "invalid_refresh_token"


async def test_a_session_unused_longer_than_its_ttl_cannot_refresh(
    make_accounts: Callable[..., Accounts], mailer: InMemoryMailer, clock: ManualClock
) -> None:
    accounts = make_accounts(session_ttl=timedelta(days=2))
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    pair = await accounts.verify_email(
        "ann@example.com", mailer.last_code("ann@example.com"), PASSWORD, DEVICE
    )
    clock.advance(timedelta(days=1))
    pair = await accounts.refresh(pair.refresh_token, DEVICE)  # use keeps it alive
    clock.advance(timedelta(days=1, hours=23))
    pair = await accounts.refresh(pair.refresh_token, DEVICE)

    clock.advance(timedelta(days=2, seconds=1))
    with pytest.raises(Unauthenticated) as err:
        await accounts.refresh(pair.refresh_token, DEVICE)
    assert err.value.code == "invalid_refresh_token"


async def test_by_default_a_session_dies_after_sixty_idle_days(
    accounts: Accounts, signup: Signup, clock: ManualClock
) -> None:
    pair = await signup()
    clock.advance(timedelta(days=59, hours=23))
    pair = await accounts.refresh(pair.refresh_token, DEVICE)
    clock.advance(timedelta(days=60, seconds=1))

    with pytest.raises(Unauthenticated) as err:
        await accounts.refresh(pair.refresh_token, DEVICE)
    assert err.value.code == "invalid_refresh_token"


async def test_after_logout_the_refresh_token_is_dead(accounts: Accounts, signup: Signup) -> None:
    pair = await signup()
    await accounts.logout(await accounts.authenticate(pair.access_token))
    with pytest.raises(Unauthenticated) as err:
        await accounts.refresh(pair.refresh_token, DEVICE)
    assert err.value.code == "invalid_refresh_token"


async def test_a_banned_user_cannot_refresh_and_keeps_the_token_for_later(
    accounts: Accounts, signup: Signup, store: MemoryStore, set_user: SetUser
) -> None:
    pair = await signup()
    user = user_by_email(store, "ann@example.com")
    set_user(user.id, status=AccountStatus.BANNED)
    with pytest.raises(Forbidden) as err:
        await accounts.refresh(pair.refresh_token, DEVICE)
    assert err.value.code == "account_banned"

    set_user(user.id, status=AccountStatus.ACTIVE)  # unbanned: the refused try spent nothing
    await accounts.refresh(pair.refresh_token, DEVICE)


# ---------------------------------------------------------------------------- authenticate


async def test_authenticate_a_valid_token(
    accounts: Accounts, signup: Signup, store: MemoryStore
) -> None:
    pair = await signup()
    who = await accounts.authenticate(pair.access_token)
    assert who == Principal(
        user_id=user_by_email(store, "ann@example.com").id,
        role=Role.USER,
        session_id=pair.session_id,
    )


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
async def test_authenticate_garbage(accounts: Accounts, token: str) -> None:
    with pytest.raises(Unauthenticated) as err:
        await accounts.authenticate(token)
    assert err.value.code == "invalid_token"


async def test_after_logout_the_access_token_is_revoked(accounts: Accounts, signup: Signup) -> None:
    pair = await signup()
    other = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    await accounts.logout(await accounts.authenticate(pair.access_token))

    with pytest.raises(Unauthenticated) as err:
        await accounts.authenticate(pair.access_token)
    assert err.value.code == "token_revoked"
    await accounts.authenticate(other.access_token)


async def test_a_promotion_keeps_the_sessions_and_the_next_request_has_the_new_role(
    accounts: Accounts, signup: Signup, store: MemoryStore
) -> None:
    pair = await signup()
    user = user_by_email(store, "ann@example.com")

    updated = await accounts.set_role(user.id, Role.MODERATOR)
    assert updated.token_version == user.token_version
    assert (await accounts.authenticate(pair.access_token)).role is Role.MODERATOR
    admin = await accounts.set_role(user.id, Role.ADMIN)
    assert admin.token_version == user.token_version
    assert (await accounts.authenticate(pair.access_token)).role is Role.ADMIN
    fresh = await accounts.refresh(pair.refresh_token, DEVICE)
    assert (await accounts.authenticate(fresh.access_token)).role is Role.ADMIN


@pytest.mark.parametrize(("high", "low"), [
    (Role.MODERATOR, Role.USER), (Role.ADMIN, Role.MODERATOR), (Role.ADMIN, Role.USER)])
async def test_a_demotion_revokes_older_access_tokens(
    accounts: Accounts, signup: Signup, store: MemoryStore, admin: MakeAdmin,
    high: Role, low: Role,
) -> None:
    await admin()  # someone else stays admin
    pair = await signup()
    user = user_by_email(store, "ann@example.com")
    promoted = await accounts.set_role(user.id, high)
    assert (await accounts.authenticate(pair.access_token)).role is high

    updated = await accounts.set_role(user.id, low)

    assert updated.token_version == promoted.token_version + 1
    with pytest.raises(Unauthenticated) as err:
        await accounts.authenticate(pair.access_token)
    assert err.value.code == "token_revoked"
    with pytest.raises(Unauthenticated):  # the session ended too: sign in again
        await accounts.refresh(pair.refresh_token, DEVICE)
    again = await accounts.login("ann@example.com", PASSWORD, DEVICE)
    assert (await accounts.authenticate(again.access_token)).role is low


async def test_an_expired_access_token(
    accounts: Accounts, signup: Signup, clock: ManualClock
) -> None:
    pair = await signup()
    clock.advance(timedelta(minutes=14))
    await accounts.authenticate(pair.access_token)
    clock.advance(timedelta(minutes=2))

    with pytest.raises(Unauthenticated) as err:
        await accounts.authenticate(pair.access_token)
    assert err.value.code == "token_expired"


async def test_a_token_from_another_signer_is_invalid(
    accounts: Accounts, signup: Signup, store: MemoryStore, clock: ManualClock
) -> None:
    pair = await signup()
    forger = JoseTokenSigner(load_or_create_key(None, None))
    user = user_by_email(store, "ann@example.com")
    forged = forger.issue_access(user, pair.session_id, clock.now())

    with pytest.raises(Unauthenticated) as err:
        await accounts.authenticate(forged)
    assert err.value.code == "invalid_token"


async def test_a_banned_user_is_forbidden(
    accounts: Accounts, signup: Signup, store: MemoryStore, set_user: SetUser
) -> None:
    pair = await signup()
    set_user(user_by_email(store, "ann@example.com").id, status=AccountStatus.BANNED)

    with pytest.raises(Forbidden) as err:
        await accounts.authenticate(pair.access_token)
    assert err.value.code == "account_banned"


async def test_a_suspension_ends_when_its_time_is_up(
    accounts: Accounts, signup: Signup, store: MemoryStore, set_user: SetUser, clock: ManualClock
) -> None:
    pair = await signup()
    set_user(
        user_by_email(store, "ann@example.com").id,
        status=AccountStatus.SUSPENDED,
        suspended_until=clock.now() + timedelta(minutes=10),
    )
    with pytest.raises(Forbidden) as err:
        await accounts.authenticate(pair.access_token)
    assert err.value.code == "account_suspended"
    assert err.value.extra["until"] == (clock.now() + timedelta(minutes=10)).isoformat()

    clock.advance(timedelta(minutes=11))
    who = await accounts.authenticate(pair.access_token)
    assert who.session_id == pair.session_id


async def test_an_open_ended_suspension_stays(
    accounts: Accounts, signup: Signup, store: MemoryStore, set_user: SetUser, clock: ManualClock
) -> None:
    pair = await signup()
    set_user(user_by_email(store, "ann@example.com").id, status=AccountStatus.SUSPENDED)
    clock.advance(timedelta(minutes=14))
    with pytest.raises(Forbidden) as err:
        await accounts.authenticate(pair.access_token)
    assert err.value.code == "account_suspended"


async def test_a_deleted_user_token_is_revoked(
    accounts: Accounts, signup: Signup, store: MemoryStore
) -> None:
    pair = await signup()
    store.users.clear()
    with pytest.raises(Unauthenticated) as err:
        await accounts.authenticate(pair.access_token)
    assert err.value.code == "token_revoked"


# ---------------------------------------------------------------------------- sessions


async def test_list_sessions_shows_only_the_callers_live_sessions(
    accounts: Accounts, signup: Signup, clock: ManualClock
) -> None:
    phone = await signup()
    clock.advance(timedelta(minutes=1))
    laptop = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    clock.advance(timedelta(minutes=1))
    gone = await accounts.login("ann@example.com", PASSWORD, DEVICE)
    await accounts.logout(await accounts.authenticate(gone.access_token))
    await signup("bob@example.com")

    who = await accounts.authenticate(phone.access_token)
    sessions = await accounts.list_sessions(who)

    assert [s.id for s in sessions] == [laptop.session_id, phone.session_id]
    assert {s.user_id for s in sessions} == {who.user_id}
    assert all(s.revoked_at is None for s in sessions)


async def test_list_sessions_leaves_out_sessions_past_their_ttl(
    make_accounts: Callable[..., Accounts], mailer: InMemoryMailer, clock: ManualClock
) -> None:
    accounts = make_accounts(session_ttl=timedelta(minutes=30))
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    old = await accounts.verify_email(
        "ann@example.com", mailer.last_code("ann@example.com"), PASSWORD, DEVICE
    )
    clock.advance(timedelta(minutes=20))
    new = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    clock.advance(timedelta(minutes=11))

    sessions = await accounts.list_sessions(await accounts.authenticate(new.access_token))

    assert [s.id for s in sessions] == [new.session_id]
    assert old.session_id not in [s.id for s in sessions]


async def test_revoking_another_users_session_is_not_found(
    accounts: Accounts, signup: Signup, store: MemoryStore
) -> None:
    ann = await signup()
    bob = await signup("bob@example.com")
    who = await accounts.authenticate(ann.access_token)

    for session_id in (bob.session_id, 999_999):
        with pytest.raises(NotFound) as err:
            await accounts.revoke_session(who, session_id)
        assert err.value.code == "session_not_found"
    assert store.sessions[bob.session_id].revoked_at is None
    await accounts.authenticate(bob.access_token)


async def test_revoke_one_of_my_sessions(accounts: Accounts, signup: Signup) -> None:
    phone = await signup()
    laptop = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    who = await accounts.authenticate(phone.access_token)

    await accounts.revoke_session(who, laptop.session_id)

    with pytest.raises(Unauthenticated):
        await accounts.authenticate(laptop.access_token)
    await accounts.authenticate(phone.access_token)


async def test_revoke_all_keeping_the_current_session(accounts: Accounts, signup: Signup) -> None:
    phone = await signup()
    laptop = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    tablet = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    bob = await signup("bob@example.com")
    who = await accounts.authenticate(phone.access_token)

    assert await accounts.revoke_all_sessions(who, keep_current=True) == 2

    await accounts.authenticate(phone.access_token)
    await accounts.authenticate(bob.access_token)
    for pair in (laptop, tablet):
        with pytest.raises(Unauthenticated):
            await accounts.authenticate(pair.access_token)
    assert [s.id for s in await accounts.list_sessions(who)] == [phone.session_id]


async def test_revoke_all_including_the_current_session(accounts: Accounts, signup: Signup) -> None:
    phone = await signup()
    laptop = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    who = await accounts.authenticate(phone.access_token)

    assert await accounts.revoke_all_sessions(who) == 2

    for pair in (phone, laptop):
        with pytest.raises(Unauthenticated):
            await accounts.authenticate(pair.access_token)


# ---------------------------------------------------------------------------- passwords


async def test_change_password_keeps_this_session_and_ends_the_others(
    accounts: Accounts, signup: Signup
) -> None:
    phone = await signup()
    laptop = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    who = await accounts.authenticate(phone.access_token)

    await accounts.change_password(who, PASSWORD, OTHER_PASSWORD)

    await accounts.authenticate(phone.access_token)
    with pytest.raises(Unauthenticated) as err:
        await accounts.authenticate(laptop.access_token)
    assert err.value.code == "token_revoked"
    with pytest.raises(Unauthenticated):
        await accounts.refresh(laptop.refresh_token, LAPTOP)
    with pytest.raises(Unauthenticated):
        await accounts.login("ann@example.com", PASSWORD, DEVICE)
    await accounts.login("ann@example.com", OTHER_PASSWORD, DEVICE)


async def test_change_password_needs_the_current_one(
    accounts: Accounts, signup: Signup, store: MemoryStore
) -> None:
    phone = await signup()
    laptop = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    who = await accounts.authenticate(phone.access_token)
    before = user_by_email(store, "ann@example.com").password_hash

    with pytest.raises(Unauthenticated) as err:
        await accounts.change_password(who, "not my password", OTHER_PASSWORD)

    assert err.value.code == "invalid_credentials"
    assert user_by_email(store, "ann@example.com").password_hash == before
    await accounts.authenticate(laptop.access_token)


async def test_change_password_checks_the_new_one(accounts: Accounts, signup: Signup) -> None:
    who = await accounts.authenticate((await signup()).access_token)
    with pytest.raises(Invalid) as err:
        await accounts.change_password(who, PASSWORD, "password")
    assert err.value.code == "password_too_common"


async def test_a_reset_for_an_unknown_email_sends_nothing(
    accounts: Accounts, mailer: InMemoryMailer, signup: Signup
) -> None:
    await signup()
    known = await outcome(accounts.request_password_reset("ann@example.com", DEVICE))
    mailer.sent.clear()

    unknown = await outcome(accounts.request_password_reset("nobody@example.com", DEVICE))

    assert unknown == known == ("returned", None)
    assert mailer.sent == []


async def test_reset_password_with_the_code(
    accounts: Accounts, signup: Signup, mailer: InMemoryMailer, store: MemoryStore
) -> None:
    phone = await signup()
    laptop = await accounts.login("ann@example.com", PASSWORD, LAPTOP)
    mailer.sent.clear()

    await accounts.request_password_reset("Ann@Example.com", DEVICE)
    assert [m.to for m in mailer.sent] == ["ann@example.com"]
    code = mailer.last_code("ann@example.com")
    await accounts.reset_password("ann@example.com", code, OTHER_PASSWORD, DEVICE)

    for pair in (phone, laptop):
        with pytest.raises(Unauthenticated):
            await accounts.authenticate(pair.access_token)
        with pytest.raises(Unauthenticated):
            await accounts.refresh(pair.refresh_token, DEVICE)
    with pytest.raises(Unauthenticated) as err:
        await accounts.login("ann@example.com", PASSWORD, DEVICE)
    assert err.value.code == "invalid_credentials"
    await accounts.login("ann@example.com", OTHER_PASSWORD, DEVICE)
    with pytest.raises(Invalid) as again:
        await accounts.reset_password("ann@example.com", code, "third password ok", DEVICE)
    assert again.value.code == "invalid_code"


async def test_reset_password_with_a_wrong_code_changes_nothing(
    accounts: Accounts, signup: Signup, mailer: InMemoryMailer
) -> None:
    pair = await signup()
    await accounts.request_password_reset("ann@example.com", DEVICE)
    code = mailer.last_code("ann@example.com")

    with pytest.raises(Invalid) as err:
        await accounts.reset_password("ann@example.com", wrong(code), OTHER_PASSWORD, DEVICE)

    assert err.value.code == "invalid_code"
    await accounts.authenticate(pair.access_token)
    await accounts.login("ann@example.com", PASSWORD, DEVICE)


async def test_a_weak_new_password_does_not_spend_the_reset_code(
    accounts: Accounts, signup: Signup, mailer: InMemoryMailer
) -> None:
    await signup()
    await accounts.request_password_reset("ann@example.com", DEVICE)
    code = mailer.last_code("ann@example.com")

    with pytest.raises(Invalid) as err:
        await accounts.reset_password("ann@example.com", code, "short", DEVICE)

    assert err.value.code == "password_too_short"
    await accounts.reset_password("ann@example.com", code, OTHER_PASSWORD, DEVICE)
    await accounts.login("ann@example.com", OTHER_PASSWORD, DEVICE)


async def test_a_verification_code_does_not_reset_a_password(
    accounts: Accounts, mailer: InMemoryMailer
) -> None:
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    code = mailer.last_code("ann@example.com")
    with pytest.raises(Invalid):
        await accounts.reset_password("ann@example.com", code, OTHER_PASSWORD, DEVICE)


# ---------------------------------------------------------------------------- roles


async def test_set_role_needs_an_admin(
    accounts: Accounts, signup: Signup, store: MemoryStore, set_user: SetUser
) -> None:
    ann = await signup()
    await signup("bob@example.com")
    bob = user_by_email(store, "bob@example.com")
    who = await accounts.authenticate(ann.access_token)

    for role in (Role.USER, Role.MODERATOR):
        actor = Principal(user_id=who.user_id, role=role, session_id=who.session_id)
        with pytest.raises(Forbidden) as err:
            await accounts.set_role(bob.id, Role.ADMIN, actor=actor)
        assert err.value.code == "insufficient_role"
    assert store.users[bob.id].role is Role.USER


async def test_an_admin_sets_a_role(
    accounts: Accounts, admin: MakeAdmin, signup: Signup, store: MemoryStore
) -> None:
    await admin()
    root = await accounts.authenticate(
        (await accounts.login("root@example.com", PASSWORD, DEVICE)).access_token
    )
    await signup("bob@example.com")
    bob = user_by_email(store, "bob@example.com")

    updated = await accounts.set_role(bob.id, Role.MODERATOR, actor=root)

    assert updated.role is Role.MODERATOR and store.users[bob.id].role is Role.MODERATOR
    same = await accounts.set_role(bob.id, Role.MODERATOR, actor=root)
    assert same.token_version == updated.token_version


async def test_the_last_admin_cannot_be_demoted(
    accounts: Accounts, admin: MakeAdmin, store: MemoryStore
) -> None:
    root = await admin()
    with pytest.raises(Conflict) as err:
        await accounts.set_role(root.id, Role.USER)
    assert err.value.code == "last_admin"
    assert store.users[root.id].role is Role.ADMIN


async def test_setting_the_only_admin_to_admin_is_a_no_op(
    accounts: Accounts, admin: MakeAdmin, store: MemoryStore
) -> None:
    root = await admin()
    pair = await accounts.login("root@example.com", PASSWORD, DEVICE)
    actor = await accounts.authenticate(pair.access_token)

    for by in (None, actor):
        assert await accounts.set_role(root.id, Role.ADMIN, actor=by) == root

    assert store.users[root.id] == root  # role and token version unchanged
    # so the tokens issued before are still good
    assert (await accounts.authenticate(pair.access_token)).role is Role.ADMIN


async def test_set_role_of_an_unknown_user_is_not_found(
    accounts: Accounts, admin: MakeAdmin
) -> None:
    await admin()
    with pytest.raises(NotFound) as err:
        await accounts.set_role(999_999, Role.MODERATOR)
    assert err.value.code == "user_not_found"


async def test_with_two_admins_one_can_be_demoted(
    accounts: Accounts, admin: MakeAdmin, store: MemoryStore
) -> None:
    root = await admin()
    other = await admin("other@example.com")

    await accounts.set_role(other.id, Role.USER)

    assert store.users[other.id].role is Role.USER
    with pytest.raises(Conflict):
        await accounts.set_role(root.id, Role.MODERATOR)


async def test_create_user_makes_a_verified_user_that_logs_in_at_once(
    accounts: Accounts, mailer: InMemoryMailer
) -> None:
    user = await accounts.create_user("Mod@Example.com", PASSWORD, role=Role.MODERATOR)

    assert user.email == "mod@example.com"
    assert user.email_verified and user.role is Role.MODERATOR
    assert mailer.sent == []
    pair = await accounts.login("mod@example.com", PASSWORD, DEVICE)
    assert (await accounts.authenticate(pair.access_token)).role is Role.MODERATOR


async def test_create_user_by_a_non_admin_is_forbidden(
    accounts: Accounts, signup: Signup, store: MemoryStore
) -> None:
    who = await accounts.authenticate((await signup()).access_token)
    with pytest.raises(Forbidden) as err:
        await accounts.create_user("bob@example.com", PASSWORD, actor=who)
    assert err.value.code == "insufficient_role"
    assert len(store.users) == 1


async def test_create_user_with_a_taken_email_conflicts(accounts: Accounts) -> None:
    await accounts.create_user("ann@example.com", PASSWORD)
    with pytest.raises(Conflict) as err:
        await accounts.create_user("ANN@example.com", PASSWORD)
    assert err.value.code == "email_taken"


# ---------------------------------------------------------------------------- social sign-in


async def test_social_sign_in_creates_a_verified_user_without_password(
    accounts: Accounts, id_tokens: FakeIdTokenVerifier, store: MemoryStore
) -> None:
    token = id_tokens.issue("t1", subject="g-1", email="Carol@Gmail.com")

    pair = await accounts.sign_in_with_provider("google", token, "n-1", DEVICE)

    user = user_by_email(store, "carol@gmail.com")
    assert user.email_verified and user.password_hash is None
    assert (await accounts.authenticate(pair.access_token)).user_id == user.id
    assert store.identities[("google", "g-1")].user_id == user.id
    assert id_tokens.nonces == ["n-1"]
    with pytest.raises(Unauthenticated) as err:
        await accounts.login("carol@gmail.com", "", DEVICE)
    assert err.value.code == "invalid_credentials"


async def test_social_sign_in_again_returns_the_same_user(
    accounts: Accounts, id_tokens: FakeIdTokenVerifier, store: MemoryStore
) -> None:
    id_tokens.issue("t1", subject="g-1", email="carol@gmail.com")
    # the provider may report another address later; the subject is what counts
    id_tokens.issue("t2", subject="g-1", email="carol.new@gmail.com")

    first = await accounts.sign_in_with_provider("google", "t1", None, DEVICE)
    second = await accounts.sign_in_with_provider("google", "t2", None, LAPTOP)

    a = await accounts.authenticate(first.access_token)
    b = await accounts.authenticate(second.access_token)
    assert a.user_id == b.user_id and a.session_id != b.session_id
    assert len(store.users) == 1 and len(store.identities) == 1


async def test_social_sign_in_links_an_existing_verified_account(
    accounts: Accounts, id_tokens: FakeIdTokenVerifier, signup: Signup, store: MemoryStore
) -> None:
    await signup()
    user = user_by_email(store, "ann@example.com")
    id_tokens.issue("t1", subject="apple-7", email="ANN@example.com", provider="apple")

    pair = await accounts.sign_in_with_provider("apple", "t1", None, DEVICE)

    assert (await accounts.authenticate(pair.access_token)).user_id == user.id
    assert len(store.users) == 1
    assert store.identities[("apple", "apple-7")].user_id == user.id
    assert store.users[user.id].password_hash == user.password_hash
    await accounts.login("ann@example.com", PASSWORD, DEVICE)


async def test_social_sign_in_takes_over_an_unverified_account_safely(
    accounts: Accounts, id_tokens: FakeIdTokenVerifier, store: MemoryStore, mailer: InMemoryMailer
) -> None:
    # someone who does not own the address started a sign-up with it
    await accounts.register("ann@example.com", PASSWORD, DEVICE)
    squatter_code = mailer.last_code("ann@example.com")
    user = user_by_email(store, "ann@example.com")
    id_tokens.issue("t1", subject="g-ann", email="ann@example.com")

    pair = await accounts.sign_in_with_provider("google", "t1", None, DEVICE)

    taken = store.users[user.id]
    assert (await accounts.authenticate(pair.access_token)).user_id == user.id
    assert taken.email_verified and taken.password_hash is None
    assert (user.id, CodePurpose.VERIFY_EMAIL) not in store.codes
    with pytest.raises(Unauthenticated) as err:
        await accounts.login("ann@example.com", PASSWORD, DEVICE)
    assert err.value.code == "invalid_credentials"
    with pytest.raises(Invalid):
        await accounts.verify_email("ann@example.com", squatter_code, PASSWORD, DEVICE)


async def test_social_sign_in_needs_an_email_the_provider_verified(
    accounts: Accounts, id_tokens: FakeIdTokenVerifier, store: MemoryStore
) -> None:
    id_tokens.issue("t1", subject="g-1", email="carol@gmail.com", email_verified=False)
    id_tokens.issue("t2", subject="g-2", email=None)

    for token in ("t1", "t2"):
        with pytest.raises(Invalid) as err:
            await accounts.sign_in_with_provider("google", token, None, DEVICE)
        assert err.value.code == "email_not_verified_by_provider"
    assert store.users == {} and store.identities == {}


async def test_social_sign_in_with_a_bad_token(
    accounts: Accounts, id_tokens: FakeIdTokenVerifier, store: MemoryStore
) -> None:
    with pytest.raises(Unauthenticated) as err:
        await accounts.sign_in_with_provider("google", "bad", None, DEVICE)
    assert err.value.code == "invalid_id_token"
    assert store.users == {}


async def test_social_sign_in_respects_the_allowed_domains(
    make_accounts: Callable[..., Accounts],
    id_tokens: FakeIdTokenVerifier,
    store: MemoryStore,
    uow: UnitOfWorkFactory,
    clock: ManualClock,
) -> None:
    accounts = make_accounts(config=runtime_config(uow, clock, allowed_email_domains="*.edu"))
    id_tokens.issue("t1", subject="g-1", email="carol@gmail.com")
    with pytest.raises(Invalid) as err:
        await accounts.sign_in_with_provider("google", "t1", None, DEVICE)
    assert err.value.code == "email_domain_not_allowed"
    assert store.users == {}


async def test_social_sign_in_of_a_banned_user_links_nothing(
    accounts: Accounts,
    id_tokens: FakeIdTokenVerifier,
    signup: Signup,
    store: MemoryStore,
    set_user: SetUser,
) -> None:
    await signup()
    set_user(user_by_email(store, "ann@example.com").id, status=AccountStatus.BANNED)
    id_tokens.issue("t1", subject="g-ann", email="ann@example.com")

    with pytest.raises(Forbidden) as err:
        await accounts.sign_in_with_provider("google", "t1", None, DEVICE)
    assert err.value.code == "account_banned"
    assert store.identities == {}


async def test_social_sign_in_when_not_configured(
    uow: UnitOfWorkFactory,
    hasher: Argon2PasswordHasher,
    signer: JoseTokenSigner,
    clock: ManualClock,
    throttle: Throttle,
    config: Config,
) -> None:
    accounts = Accounts(
        uow=uow, hasher=hasher, tokens=signer, clock=clock, throttle=throttle, config=config
    )
    with pytest.raises(Invalid) as err:
        await accounts.sign_in_with_provider("google", "t1", None, DEVICE)
    assert err.value.code == "unknown_provider"
