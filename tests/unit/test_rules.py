"""The input rules (``momentic_core.policies.rules``): examples and hypothesis properties."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from momentic_core.errors import Forbidden, Invalid
from momentic_core.model.accounts import Role
from momentic_core.policies import permissions, rules

# Moderate, so the whole unit suite stays fast; CI may raise it with a hypothesis profile.
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that make the rules interesting: case, whitespace of several kinds,
# controls, format characters, and letters whose lower case is ASCII (KELVIN SIGN) or
# longer than the letter itself (LATIN CAPITAL LETTER I WITH DOT ABOVE).
TRICKY = st.sampled_from(
    list("aZz09_.-@ \t\n\r\x0b\x0c\x00\x1f\x7f\u00a0\u2003\u200b\u202e\u212a\u0130\u00df\u0410")
)
TRICKY_TEXT = st.text(st.one_of(TRICKY, st.characters()), max_size=40)


# ---------------------------------------------------------------------------- email


def _recase(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if f else c for c, f in zip(text, flips, strict=True))


LABEL = st.one_of(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12),
    st.builds(
        "{}-{}".format,
        st.text("abcxyz019", min_size=1, max_size=5),
        st.text("a0", min_size=1, max_size=3),
    ),
)
DOMAIN = st.builds(".".join, st.lists(LABEL, min_size=2, max_size=4))
LOCAL = st.one_of(
    st.text("abcxyz0189.+_-!#$%&'*/=?^`{|}~", min_size=1, max_size=20),
    st.text(st.characters(exclude_characters="@"), min_size=1, max_size=20),
    TRICKY_TEXT,
)


@st.composite
def email_like(draw: st.DrawFn) -> str:
    """Addresses in any case, padded with whitespace, with all sorts of local parts."""
    core = draw(st.one_of(st.emails(), st.builds("{}@{}".format, LOCAL, DOMAIN)))
    pad = st.text(" \t\n\u00a0\u2003", max_size=3)
    return draw(pad) + _recase(draw, core) + draw(pad)


@PROPERTY
@given(email_like())
@example("  Ann@Example.COM ")
@example("\u212aate@example.com")
@example("\u0130van@example.com")
def test_normalize_email_is_idempotent_on_what_it_accepts(raw: str) -> None:
    try:
        once = rules.normalize_email(raw)
    except Invalid as err:
        assert err.code == "invalid_email"
        return
    assert rules.normalize_email(once) == once
    assert once == raw.strip().lower()
    assert once == once.strip() and once.count("@") == 1 and len(once) <= 254


@PROPERTY
@given(TRICKY_TEXT)
def test_normalize_email_accepts_or_raises_invalid_email(raw: str) -> None:
    try:
        value = rules.normalize_email(raw)
    except Invalid as err:
        assert err.code == "invalid_email"
    else:
        assert rules.normalize_email(value) == value


@pytest.mark.parametrize(
    "raw",
    [
        "ann@example.com\n\x00",
        "ann\u202e@example.com",
        "ann@ex\u00e4mple.com",
        "ann@-example.com",
        "ann@example-.com",
        "a" * 65 + "@example.com",
        "ann@" + "a" * 64 + ".com",
        "ann@" + ".".join(["a" * 60] * 5) + ".com",
    ],
)
def test_normalize_email_refuses(raw: str) -> None:
    with pytest.raises(Invalid) as err:
        rules.normalize_email(raw)
    assert err.value.code == "invalid_email"


@pytest.mark.parametrize(
    ("email", "allowed", "ok"),
    [
        ("a@cs.mit.edu", ("*.edu",), True),
        ("a@mit.edu", ("*.edu",), True),
        ("a@edu", ("*.edu",), False),
        ("a@edu.evil.com", ("*.edu",), False),
        ("a@evil-edu.com", ("*.edu",), False),
        ("a@evil.education", ("*.edu",), False),
        ("a@cs.notedu", ("*.edu",), False),
        ("a@bsu.by", (" BSU.by ",), True),
        ("a@fpmi.bsu.by", ("bsu.by",), False),
        ("a@notbsu.by", ("bsu.by",), False),
        ("a@fpmi.bsu.by", ("*.bsu.by",), True),
        ("a@bsu.by", ("*.bsu.by",), False),  # a wildcard is subdomains only
        ("a@bsu.by", ("*.bsu.by", "bsu.by"), True),
        ("a@anything.org", ("*",), True),
        ("a@anything.org", ("bsu.by", "*"), True),
        ("a@anything.org", (), False),  # an empty list admits nobody, never everybody
    ],
)
def test_check_email_domain(email: str, allowed: tuple[str, ...], ok: bool) -> None:
    if ok:
        rules.check_email_domain(email, allowed)
    else:
        with pytest.raises(Invalid) as err:
            rules.check_email_domain(email, allowed)
        assert err.value.code == "email_domain_not_allowed"


@PROPERTY
@given(st.lists(LABEL, min_size=1, max_size=3), LABEL)
def test_a_wildcard_matches_subdomains_and_nothing_that_only_contains_it(
    labels: list[str], tld: str
) -> None:
    inside = "ann@" + ".".join([*labels, tld])
    rules.check_email_domain(inside, (f"*.{tld}",))
    outside = "ann@" + ".".join([tld, *labels])
    if not outside.endswith("." + tld):
        with pytest.raises(Invalid):
            rules.check_email_domain(outside, (f"*.{tld}",))


# ---------------------------------------------------------------------------- password


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("", "password_too_short"),
        ("seven77", "password_too_short"),
        ("y" * 129, "password_too_long"),
        ("password", "password_too_common"),
        ("Password", "password_too_common"),
        ("qwertyuiop", "password_too_common"),
    ],
)
def test_check_password_refuses(password: str, code: str) -> None:
    with pytest.raises(Invalid) as err:
        rules.check_password(password)
    assert err.value.code == code
    assert err.value.extra == {"field": "password"}


@pytest.mark.parametrize("password", ["kq8#zt2w", "kq8#zt2w" * 16, "correct horse battery"])
def test_check_password_accepts(password: str) -> None:
    rules.check_password(password)


# ---------------------------------------------------------------------------- nickname


@st.composite
def nickname_like(draw: st.DrawFn) -> str:
    core = draw(
        st.one_of(
            st.from_regex(rules.NICKNAME_RE, fullmatch=True),
            st.text(st.one_of(TRICKY, st.sampled_from("abcxyz0189_.")), max_size=34),
            TRICKY_TEXT,
        )
    )
    return _recase(draw, core)


@PROPERTY
@given(nickname_like())
@example("Ann.Lee_99")
@example("  ann  ")
@example("ann\n")
@example("\u212aate")  # KELVIN SIGN lower-cases to ASCII "k"
@example("\u0130van")  # lower-cases to "i" + COMBINING DOT ABOVE
@example("a" * 30)
@example("a" * 31)
def test_check_nickname_accepts_exactly_what_matches_its_regex(raw: str) -> None:
    candidate = raw.strip().lower()
    matches = rules.NICKNAME_RE.fullmatch(candidate) is not None
    try:
        value = rules.check_nickname(raw)
    except Invalid as err:
        assert not matches, f"{raw!r} matches the regex but was refused"
        assert err.code == "invalid_nickname"
    else:
        assert matches, f"{raw!r} was accepted but does not match the regex"
        assert value == candidate
        assert value.isascii() and 3 <= len(value) <= 30
        assert rules.check_nickname(value) == value


# ---------------------------------------------------------------------------- text


@PROPERTY
@given(st.one_of(st.none(), TRICKY_TEXT, st.text(max_size=120)), st.integers(1, 100))
@example("  x  ", 1)
@example("\u2003" + "y" * 5 + "\u00a0", 5)
def test_check_text_never_returns_long_or_padded_text(value: str | None, maximum: int) -> None:
    try:
        result = rules.check_text(value, "bio", maximum)
    except Invalid as err:
        assert err.code in ("bio_too_long", "control_characters")
        assert value is not None
        if err.code == "bio_too_long":
            assert len(value.strip()) > maximum
        return
    if result is None:
        assert value is None or not value.strip()
    else:
        assert 0 < len(result) <= maximum
        assert result == result.strip()
        assert result == value.strip() if value is not None else False


@pytest.mark.parametrize("value", ["tab\tinside", "nul\x00", "rtl\u202eoverride", "bom\ufeff"])
def test_check_text_refuses_control_characters(value: str) -> None:
    with pytest.raises(Invalid) as err:
        rules.check_text(value, "name", 50)
    assert err.value.code == "control_characters"


def test_check_text_keeps_ordinary_unicode() -> None:
    assert rules.check_text(" Привет, мир 👋 ", "bio", 100) == "Привет, мир 👋"


@pytest.mark.parametrize(
    "value",
    [
        "coder \U0001f469\u200d\U0001f4bb",  # woman technologist: a ZWJ sequence
        "family \U0001f468\u200d\U0001f469\u200d\U0001f467",
        "from \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # tags
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian needs the ZWNJ
    ],
)
def test_check_text_keeps_emoji_sequences_and_joiners(value: str) -> None:
    assert rules.check_text(value, "bio", 100) == value


# ---------------------------------------------------------------------------- time zone


@pytest.mark.parametrize("name", ["UTC", "Europe/Minsk", "America/Argentina/Buenos_Aires"])
def test_check_time_zone_accepts_iana_names(name: str) -> None:
    assert rules.check_time_zone(name) == name


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "europe/minsk", "GMT+3", "../etc/passwd"])
def test_check_time_zone_refuses(name: str) -> None:
    with pytest.raises(Invalid) as err:
        rules.check_time_zone(name)
    assert err.value.code == "invalid_time_zone"


# ---------------------------------------------------------------------------- permissions


@pytest.mark.parametrize(
    ("role", "needed", "ok"),
    [
        (Role.USER, Role.USER, True),
        (Role.USER, Role.MODERATOR, False),
        (Role.MODERATOR, Role.MODERATOR, True),
        (Role.MODERATOR, Role.ADMIN, False),
        (Role.ADMIN, Role.MODERATOR, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_require_role(role: Role, needed: Role, ok: bool) -> None:
    assert permissions.at_least(role, needed) is ok
    if ok:
        permissions.require_role(role, needed)
    else:
        with pytest.raises(Forbidden) as err:
            permissions.require_role(role, needed)
        assert err.value.code == "insufficient_role"


def test_only_staff_see_hidden_accounts() -> None:
    assert not permissions.can_see_hidden_accounts(Role.USER)
    assert permissions.can_see_hidden_accounts(Role.MODERATOR)
    assert permissions.can_see_hidden_accounts(Role.ADMIN)


@pytest.mark.parametrize(
    ("role", "code"),
    [
        (Role.USER, "not_author"),
        (Role.MODERATOR, "moderation_required"),
        (Role.ADMIN, "moderation_required"),
    ],
)
def test_a_refused_delete_sends_staff_to_moderation_and_others_away(
    role: Role, code: str
) -> None:
    refusal = permissions.not_yours_to_delete(role, "comment", "its author")
    assert isinstance(refusal, Forbidden)
    assert refusal.code == code


# ---------------------------------------------------------------------------- fields


def _longest_address() -> str:
    """A valid address of exactly 254 characters (the most an address may have)."""
    address = "a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 61])
    assert len(address) == 254
    return address


@pytest.mark.parametrize(
    ("check", "code", "field"),
    [
        (lambda: rules.normalize_email("not an address"), "invalid_email", "email"),
        (lambda: rules.normalize_email(_longest_address() + "d"), "invalid_email", "email"),
        (lambda: rules.check_email_domain("a@x.org", ("bsu.by",)),
         "email_domain_not_allowed", "email"),
        (lambda: rules.check_email_domain("a@x.org", ()), "email_domain_not_allowed", "email"),
        (lambda: rules.check_password("short"), "password_too_short", "password"),
        (lambda: rules.check_nickname("-no"), "invalid_nickname", "nickname"),
        (lambda: rules.check_text("x" * 51, "name", 50), "name_too_long", "name"),
        (lambda: rules.check_text("bom\ufeff", "bio", 100), "control_characters", "bio"),
        (lambda: rules.check_time_zone("Mars/Olympus"), "invalid_time_zone", "time_zone"),
        (lambda: rules.check_comment(" "), "comment_empty", "body"),
        (lambda: rules.check_comment("x" * 501), "comment_too_long", "body"),
        (lambda: rules.check_comment("\x00"), "control_characters", "body"),
    ],
)
def test_every_refusal_names_its_code_and_the_field_at_fault(
    check: Callable[[], object], code: str, field: str
) -> None:
    # Clients switch on the code and put the message next to the field it names.
    with pytest.raises(Invalid) as err:
        check()
    assert (err.value.code, err.value.extra) == (code, {"field": field})


def test_an_address_of_254_characters_is_the_longest_accepted() -> None:
    longest = _longest_address()
    assert rules.normalize_email(longest.upper()) == longest
    with pytest.raises(Invalid):
        rules.normalize_email(longest + "d")


def test_comments_keep_line_breaks_and_refuse_other_controls() -> None:
    assert rules.check_comment(" a\r\nb\n ") == "a\nb"
    assert rules.check_comment("x" * 500) == "x" * 500
    assert rules.check_comment("hi \U0001f468\u200d\U0001f469\u200d\U0001f467") == (
        "hi \U0001f468\u200d\U0001f469\u200d\U0001f467"
    )
