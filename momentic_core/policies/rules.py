"""Input rules for accounts: email, password, nickname, profile fields, time zones."""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from importlib import resources

from momentic_core.errors import Invalid

PASSWORD_MIN = 8
PASSWORD_MAX = 128
NICKNAME_CHARS = re.compile(r"[a-z0-9_.]+")
NICKNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.]{2,29}$")
NAME_MAX = 50
BIO_MAX = 100
DEVICE_NAME_MAX = 100
# Unicode categories refused in user text: control, format (zero-width, bidi), surrogate,
# private use.
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})
# Format characters that ordinary text needs, kept in names and bios: the zero-width
# joiner and non-joiner (emoji sequences such as 👩‍💻, Persian and Indic spelling) and the
# tag characters of subdivision flags (🏴 + tags). Bidi overrides, BOMs and zero-width
# spaces stay refused.
TEXT_FORMAT_ALLOWED = frozenset({"\u200c", "\u200d"} | {chr(c) for c in range(0xE0020, 0xE0080)})
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL_RE = re.compile(rf"^[^@\s]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")


def normalize_email(email: str) -> str:
    """Trim and lower-case; raises Invalid(code="invalid_email") for a malformed address."""
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL_RE.match(value) or _has_control(value):
        raise Invalid("That is not a valid email address.", code="invalid_email", field="email")
    return value


def check_email_domain(email: str, allowed: tuple[str, ...]) -> None:
    """Whether ``email`` (normalized) may register. ``allowed`` holds domains and
    wildcards: ``bsu.by`` admits that domain only (not ``sub.bsu.by``), ``*.edu`` admits
    every domain under edu (``mit.edu``, ``cs.mit.edu``; not ``edu`` itself), ``*`` admits
    any. An empty tuple admits nobody.

    Raises Invalid(code="email_domain_not_allowed")."""
    domain = email.rsplit("@", 1)[1]
    for pattern in allowed:
        pattern = pattern.strip().lower()
        if pattern == "*":
            return
        if pattern.startswith("*."):
            if domain.endswith(pattern[1:]):
                return
        elif domain == pattern:
            return
    raise Invalid(
        "Sign-up is open to these email domains only: " + ", ".join(allowed) + "."
        if allowed else "Sign-up is closed.",
        code="email_domain_not_allowed",
        field="email",
    )


@functools.cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("momentic_core").joinpath("data/common_passwords.txt").read_text()
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def check_password(password: str) -> None:
    """NIST SP 800-63B: 8 to 128 characters, not a commonly used password."""
    if len(password) < PASSWORD_MIN:
        raise Invalid(
            f"The password needs at least {PASSWORD_MIN} characters.",
            code="password_too_short",
            field="password",
        )
    if len(password) > PASSWORD_MAX:
        raise Invalid(
            f"The password may have at most {PASSWORD_MAX} characters.",
            code="password_too_long",
            field="password",
        )
    if password.lower() in _common_passwords():
        raise Invalid(
            "This password is too common; choose another.",
            code="password_too_common",
            field="password",
        )


def check_nickname(nickname: str) -> str:
    """3 to 30 of a-z, 0-9, '_' and '.', starting with a letter or digit; lower-cased."""
    value = nickname.strip().lower()
    if not NICKNAME_RE.match(value):
        raise Invalid(
            "A nickname has 3 to 30 characters: letters, digits, '_' and '.', "
            "starting with a letter or digit.",
            code="invalid_nickname",
            field="nickname",
        )
    return value


def check_text(value: str | None, field: str, maximum: int) -> str | None:
    """Refuse control characters (at the ends too: a tab or a line break is not a blank
    to trim away, as the API document says); trim; empty becomes None; refuse overlong
    text."""
    if value is None:
        return None
    if _has_control(value, allowed=TEXT_FORMAT_ALLOWED):
        raise Invalid(
            f"{field} may not contain control characters.", code="control_characters", field=field
        )
    value = value.strip()
    if not value:
        return None
    if len(value) > maximum:
        raise Invalid(
            f"{field} may have at most {maximum} characters.", code=f"{field}_too_long", field=field
        )
    return value


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(name: str) -> str:
    if name not in _zones():
        raise Invalid(
            "Unknown time zone; use an IANA name such as Europe/Minsk.",
            code="invalid_time_zone",
            field="time_zone",
        )
    return name


def _has_control(value: str, allowed: frozenset[str] = frozenset()) -> bool:
    return any(
        unicodedata.category(ch) in CONTROL_CATEGORIES and ch not in allowed for ch in value
    )


COMMENT_MAX = 500


def check_comment(body: str) -> str:
    """1 to 500 characters after trimming; line breaks kept, other controls refused."""
    value = body.replace("\r\n", "\n").strip()
    if not value:
        raise Invalid("A comment needs some text.", code="comment_empty", field="body")
    if len(value) > COMMENT_MAX:
        raise Invalid(
            f"A comment may have at most {COMMENT_MAX} characters.",
            code="comment_too_long",
            field="body",
        )
    if _has_control(value, allowed=TEXT_FORMAT_ALLOWED | {"\n"}):
        raise Invalid(
            "A comment may not contain control characters.",
            code="control_characters",
            field="body",
        )
    return value


# Hashtags and search (momentic_core.policies.search): a tag has at most HASHTAG_MAX
# characters (case-folded), a video at most HASHTAGS_PER_VIDEO tags (the first ones); a
# search query at most SEARCH_QUERY_MAX characters and SEARCH_TERMS_MAX words, a word at
# most SEARCH_TERM_MAX; a nickname matches fuzzily from TRIGRAM_THRESHOLD similarity on
# (pg_trgm's default); trending counts the last TRENDING_HOURS.
HASHTAG_MAX = 50
HASHTAGS_PER_VIDEO = 10
SEARCH_QUERY_MAX = 100
SEARCH_TERMS_MAX = 8
SEARCH_TERM_MAX = 100
TRIGRAM_THRESHOLD = 0.3
TRENDING_HOURS = 24
