"""Hashtags and search words of a description, and the fuzzy match of a nickname: pure
functions, the one place both adapters (and the search use cases) take them from.

Words and tags are made of *word characters*: Unicode letters (any script, Cyrillic
included), combining marks, decimal digits and ``_``. Text is NFC-normalized and
case-folded first (``#Минск`` and ``#минск`` are one tag, ``Straße`` matches ``strasse``).

- A hashtag is ``#`` not preceded by a word character, then a run of word characters
  with at least one letter, at most ``rules.HASHTAG_MAX`` of them (a longer run is no
  tag: cutting it would make another one). A video keeps its first
  ``rules.HASHTAGS_PER_VIDEO`` distinct tags, in order of appearance.
- The search words of a text are its runs of word characters (``#dance`` gives
  ``dance``), distinct, in order, those up to ``rules.SEARCH_TERM_MAX`` long. A video
  matches a query when every word of the query begins a word of its description.
- Nicknames match as pg_trgm matches them (``trigrams``, ``similarity``): the adapters
  answer alike, PostgreSQL from its trigram index, memory from these functions.
"""

from __future__ import annotations

import re
import struct
import unicodedata

from momentic_core.policies import rules


def _word_char(ch: str) -> bool:
    category = unicodedata.category(ch)
    return ch == "_" or category[0] in "LM" or category == "Nd"


def fold(text: str) -> str:
    """NFC, case-folded, NFC again (folding may decompose)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def _runs(text: str) -> list[tuple[int, str]]:
    """(start, run) for every maximal run of word characters of ``text``."""
    runs: list[tuple[int, str]] = []
    start: int | None = None
    for i, ch in enumerate(text):
        if _word_char(ch):
            if start is None:
                start = i
        elif start is not None:
            runs.append((start, text[start:i]))
            start = None
    if start is not None:
        runs.append((start, text[start:]))
    return runs


def _is_tag(word: str) -> bool:
    return 0 < len(word) <= rules.HASHTAG_MAX and any(
        unicodedata.category(ch)[0] == "L" for ch in word
    )


def hashtags(description: str | None) -> tuple[str, ...]:
    """The hashtags of a description, folded, without ``#``: the first
    ``rules.HASHTAGS_PER_VIDEO`` distinct ones."""
    if not description:
        return ()
    text = fold(description)
    found: list[str] = []
    for start, run in _runs(text):
        if start == 0 or text[start - 1] != "#":
            continue
        # "#" itself is no word character, so a run that starts right after one has
        # "#" before it; the tag needs that "#" not to follow a word character (a#b).
        if start >= 2 and _word_char(text[start - 2]):
            continue
        if _is_tag(run) and run not in found:
            found.append(run)
            if len(found) == rules.HASHTAGS_PER_VIDEO:
                break
    return tuple(found)


def normalize_tag(text: str) -> str | None:
    """A tag as a client names it (``Dance``, ``#dance``): folded, or None when it is no
    tag at all."""
    value = fold(text.removeprefix("#"))
    if not value or not all(_word_char(ch) for ch in value) or not _is_tag(value):
        return None
    return value


def search_words(text: str | None) -> tuple[str, ...]:
    """The distinct search words of ``text``, folded, in order."""
    if not text:
        return ()
    found: dict[str, None] = {}
    for _, run in _runs(fold(text)):
        if len(run) <= rules.SEARCH_TERM_MAX:
            found.setdefault(run)
    return tuple(found)


def matches(words: tuple[str, ...], query: tuple[str, ...]) -> bool:
    """Whether every query word begins one of ``words`` (a description's)."""
    return all(any(w.startswith(q) for w in words) for q in query)


# ---- nicknames: pg_trgm's trigrams and similarity --------------------------------------

_NICK_OTHER = re.compile(r"[^a-z0-9_.]+")
_ALNUM_RUN = re.compile(r"[a-z0-9]+")


def nickname_query(text: str) -> str:
    """What a query is matched against nicknames as: folded, every character a nickname
    cannot hold made a space, trimmed ("" when nothing is left: no nickname matches)."""
    return " ".join(_NICK_OTHER.sub(" ", fold(text)).split())


def trigrams(text: str) -> frozenset[str]:
    """pg_trgm's trigrams of ``text`` (lower-case ASCII, as nicknames and
    ``nickname_query`` are): each run of letters and digits, padded with two spaces before
    and one after, cut into every three consecutive characters."""
    found: set[str] = set()
    for word in _ALNUM_RUN.findall(text.lower()):
        padded = f"  {word} "
        found.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return frozenset(found)


def _float4(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def similarity(a: str, b: str) -> float:
    """pg_trgm's ``similarity(a, b)``: shared trigrams over all trigrams, as a float4
    (a single-precision division, which rounding the double quotient once gives)."""
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    common = len(ta & tb)
    return _float4(common / (len(ta) + len(tb) - common))


def nickname_matches(nickname: str, query: str) -> bool:
    """A nickname matches a ``nickname_query``: it starts with it, or is at least
    ``rules.TRIGRAM_THRESHOLD`` similar."""
    value = nickname.lower()
    return bool(query) and (
        value.startswith(query) or similarity(value, query) >= rules.TRIGRAM_THRESHOLD
    )
