"""The slugs of share links (momentic_core/policies/share_links.py): each id has one, it
reads back to that id under its key only, and nothing else reads back to anything."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from momentic_core.policies.share_links import SLUG_LENGTH, ShareSlugs

KEY = b"k" * 32
SLUGS = ShareSlugs(KEY)
IDS = st.integers(min_value=1, max_value=2**63 - 1)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@given(IDS)
def test_a_slug_reads_back_to_its_id(video_id: int) -> None:
    slug = SLUGS.slug(video_id)
    assert len(slug) == SLUG_LENGTH and set(slug) <= set(ALPHABET)
    assert SLUGS.video_id(slug) == video_id
    assert SLUGS.slug(video_id) == slug  # the same link every time it is shown


@given(IDS)
def test_another_key_reads_nothing(video_id: int) -> None:
    assert ShareSlugs(b"o" * 32).video_id(SLUGS.slug(video_id)) is None


@given(IDS, st.integers(min_value=0, max_value=SLUG_LENGTH - 1), st.sampled_from(ALPHABET))
def test_a_slug_with_a_character_changed_reads_nothing(
    video_id: int, at: int, char: str
) -> None:
    slug = SLUGS.slug(video_id)
    changed = slug[:at] + char + slug[at + 1:]
    if changed != slug:
        assert SLUGS.video_id(changed) is None


@given(st.text(max_size=40))
def test_made_up_text_reads_nothing(text: str) -> None:
    # (a made-up slug of the right shape passes one time in 2**64)
    assert SLUGS.video_id(text) is None


def test_neighbouring_ids_have_unrelated_slugs() -> None:
    """Nothing of the order or count of videos shows: consecutive ids share no prefix
    beyond chance, and the id's bytes are not in the slug."""
    slugs = [SLUGS.slug(n) for n in range(1, 201)]
    assert len(set(slugs)) == 200
    assert len({s[:3] for s in slugs}) > 190
    for n, slug in enumerate(slugs, start=1):
        assert n.to_bytes(8, "big") not in base64.urlsafe_b64decode(slug + "==")


def test_the_other_spellings_of_the_same_bytes_read_nothing() -> None:
    """The last character holds 2 bits that decoding drops: only the written one counts."""
    slug = SLUGS.slug(42)
    last = ALPHABET.index(slug[-1])
    assert last % 4 == 0
    for spare in (1, 2, 3):
        assert SLUGS.video_id(slug[:-1] + ALPHABET[last + spare]) is None


def test_ids_out_of_range_and_short_keys_are_refused() -> None:
    for bad in (0, -1, 2**63):
        with pytest.raises(ValueError):
            SLUGS.slug(bad)
    with pytest.raises(ValueError):
        ShareSlugs(b"short")
    forged = base64.urlsafe_b64encode(b"\0" * 16).rstrip(b"=").decode()
    assert SLUGS.video_id(forged) is None
