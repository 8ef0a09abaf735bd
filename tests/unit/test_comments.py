"""What a comment may say (``rules.check_comment``), through the comment use cases on the
memory adapters: 1 to 500 characters after trimming, line breaks kept (CRLF becomes LF),
emoji sequences kept, other control characters refused; each refusal names the field."""

from __future__ import annotations

import pytest

from momentic_core.errors import Invalid
from momentic_core.policies.rules import COMMENT_MAX

from .ranking_support import make_world


async def test_a_comment_of_exactly_500_characters_is_kept_and_501_are_refused() -> None:
    world = make_world()
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    video = (await world.ready_post(ann, "public")).id
    assert COMMENT_MAX == 500
    longest = "é" * 499 + "!"
    view = await world.engagement.comment(bob, video, longest, None)
    assert view.comment.body == longest
    padded = await world.engagement.comment(bob, video, "  \n" + "x" * 500 + "\t ", None)
    assert padded.comment.body == "x" * 500  # trimmed first, then measured
    with pytest.raises(Invalid) as refused:
        await world.engagement.comment(bob, video, "x" * 501, None)
    assert (refused.value.code, refused.value.extra) == ("comment_too_long", {"field": "body"})
    with pytest.raises(Invalid) as edited:
        await world.engagement.edit_comment(bob, view.comment.id, longest + "?")
    assert (edited.value.code, edited.value.extra) == ("comment_too_long", {"field": "body"})
    listed = await world.engagement.comments(ann, video, None, None, 10)
    assert [c.comment.body for c in listed] == [longest, "x" * 500]


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        ("first line\nsecond line", "first line\nsecond line"),
        ("windows\r\nline", "windows\nline"),
        ("coder \U0001f469\u200d\U0001f4bb", "coder \U0001f469\u200d\U0001f4bb"),  # ZWJ
        ("  hi  ", "hi"),
    ],
)
async def test_line_breaks_and_emoji_sequences_are_kept(body: str, stored: str) -> None:
    world = make_world()
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    video = (await world.ready_post(ann, "public")).id
    view = await world.engagement.comment(bob, video, body, None)
    assert view.comment.body == stored


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", "comment_empty"),
        (" \n\r\n\t ", "comment_empty"),
        ("bell\x07", "control_characters"),
        ("lone\rreturn", "control_characters"),
        ("rtl\u202eoverride", "control_characters"),
        ("tab\tinside", "control_characters"),
    ],
)
async def test_empty_comments_and_control_characters_are_refused(body: str, code: str) -> None:
    world = make_world()
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    video = (await world.ready_post(ann, "public")).id
    with pytest.raises(Invalid) as refused:
        await world.engagement.comment(bob, video, body, None)
    assert (refused.value.code, refused.value.extra) == (code, {"field": "body"})
    assert await world.engagement.comments(ann, video, None, None, 10) == []
