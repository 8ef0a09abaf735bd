"""Reactions, comments, comment likes, notifications and the live event outbox: memory
and PostgreSQL behave alike, and every counter equals its rows whatever happens."""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import random
import secrets
from datetime import timedelta
from typing import Any

import asyncpg
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.memory.clock import ManualClock
from momentic_core.errors import NotFound
from momentic_core.model.accounts import AccountStatus, FeedAuthor, Person
from momentic_core.model.engagement import (
    Comment,
    NotificationKind,
    ReactionKind,
    no_reactions,
)
from momentic_core.model.events import (
    CommentDeleted,
    CommentEdited,
    CommentLiked,
    Event,
    ReactionsChanged,
)
from momentic_core.model.social import FeedItem, FeedSettings
from momentic_core.model.videos import Visibility
from momentic_core.policies.ranking import for_you_score

from .engagement_support import (
    Heard,
    assert_counters_match_rows,
    comment,
    like,
    new_notification,
    notify,
    react,
)
from .social_support import befriend, block
from .support import T0, Adapters, add_user, add_video

HEART, FLAME, FUNNY, ANGRY = ReactionKind
DAY = timedelta(days=1)


def counts(**given: int) -> dict[str, int]:
    return {**no_reactions(), **given}


@pytest.fixture
def pool(backend: Adapters, request: pytest.FixtureRequest) -> asyncpg.Pool | None:
    """The PostgreSQL pool behind ``backend`` (None for memory), to check counters by SQL."""
    if backend.name != "postgres":
        return None
    return request.getfixturevalue("clean_pg_pool")


# ---------------------------------------------------------------- reactions


async def test_set_replace_and_remove_report_the_previous_kind_and_the_counts(
    backend: Adapters,
) -> None:
    author, a, b = [await add_user(backend) for _ in range(3)]
    video = await add_video(backend, author.id)

    first = await react(backend, a.id, video.id, HEART, at=T0)
    assert (first.previous, first.counts, first.since) == (None, counts(heart=1), None)
    again = await react(backend, a.id, video.id, HEART, at=T0 + timedelta(hours=1))
    assert (again.previous, again.counts, again.since) == (HEART, counts(heart=1), T0)
    changed = await react(backend, a.id, video.id, FLAME, at=T0 + timedelta(hours=2))
    assert (changed.previous, changed.counts, changed.since) == (HEART, counts(flame=1), T0)
    other = await react(backend, b.id, video.id, FLAME, at=T0 + timedelta(hours=3))
    assert (other.previous, other.counts) == (None, counts(flame=2))
    async with backend.uow() as tx:
        assert (await tx.videos.get(video.id)).reactions == counts(flame=2)
        assert await tx.reactions.get(a.id, video.id) is FLAME
        # A replacement keeps the reaction's first time.
        reactors = await tx.reactions.list(video.id, author.id, None, 10)
        assert [(r.user.id, r.kind, r.created_at) for r in reactors] == [
            (b.id, FLAME, T0 + timedelta(hours=3)),
            (a.id, FLAME, T0),
        ]
        assert reactors[0].user == Person.of(b)  # their public part only
        assert type(reactors[0].user) is Person

    async with backend.uow() as tx:
        removed = await tx.reactions.remove(a.id, video.id)
        assert removed is not None
        assert (removed.previous, removed.counts, removed.since) == (FLAME, counts(flame=1), T0)
        assert await tx.reactions.remove(a.id, video.id) is None
        assert await tx.reactions.get(a.id, video.id) is None
        assert await tx.reactions.remove(a.id, 999_999) is None
    async with backend.uow() as tx:
        assert (await tx.videos.get(video.id)).reactions == counts(flame=1)


async def test_a_reaction_needs_an_existing_video_and_user(backend: Adapters) -> None:
    user = await add_user(backend)
    video = await add_video(backend, user.id)
    for user_id, video_id, code in (
        (user.id, 999_999, "video_not_found"),
        (999_999, video.id, "user_not_found"),
    ):
        with pytest.raises(NotFound) as caught:
            await react(backend, user_id, video_id, HEART)
        assert caught.value.code == code
    async with backend.uow() as tx:
        assert (await tx.videos.get(video.id)).reactions == counts()


async def test_a_rolled_back_reaction_leaves_rows_and_counts(backend: Adapters) -> None:
    user = await add_user(backend)
    video = await add_video(backend, user.id)
    await react(backend, user.id, video.id, HEART)
    with pytest.raises(RuntimeError):
        async with backend.uow() as tx:
            await tx.reactions.set(user.id, video.id, ANGRY, T0)
            await tx.comments.add(Comment(0, video.id, user.id, "x", T0))
            raise RuntimeError("boom")
    async with backend.uow() as tx:
        stored = await tx.videos.get(video.id)
        assert (stored.reactions, stored.comment_count) == (counts(heart=1), 0)
        assert await tx.reactions.get(user.id, video.id) is HEART


async def test_updating_a_video_leaves_its_counters(backend: Adapters) -> None:
    author, fan = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id)
    await react(backend, fan.id, video.id, FUNNY)
    await comment(backend, fan.id, video.id)
    async with backend.uow() as tx:
        stale = attrs.evolve(video, description="new", reactions=counts(angry=7), comment_count=9)
        updated = await tx.videos.update(stale)
    assert (updated.description, updated.reactions, updated.comment_count) == (
        "new",
        counts(funny=1),
        1,
    )
    async with backend.uow() as tx:
        assert await tx.videos.get(video.id) == updated


async def test_reactors_page_newest_first_by_time_then_user(backend: Adapters) -> None:
    author = await add_user(backend)
    video = await add_video(backend, author.id)
    people = [await add_user(backend) for _ in range(7)]
    seconds = [3, 1, 3, 0, 2, 3, 1]  # ties on purpose
    for person, s, kind in zip(people, seconds, itertools.cycle(ReactionKind), strict=False):
        await react(backend, person.id, video.id, kind, at=T0 + timedelta(seconds=s))
    expected = sorted(
        ((T0 + timedelta(seconds=s), p.id) for p, s in zip(people, seconds, strict=True)),
        reverse=True,
    )
    for limit in (1, 2, 3, 7, 8):
        seen: list[tuple[Any, int]] = []
        after = None
        while True:
            async with backend.uow() as tx:
                page = await tx.reactions.list(video.id, author.id, after, limit)
            assert len(page) <= limit
            seen += [(r.created_at, r.user.id) for r in page]
            if len(page) < limit:
                break
            after = (page[-1].created_at, page[-1].user.id)
        assert seen == expected
    async with backend.uow() as tx:
        assert await tx.reactions.list(video.id, author.id, None, 0) == []
        assert await tx.reactions.list(999_999, author.id, None, 5) == []


async def test_reactors_leave_out_blocked_banned_and_suspended_users(
    backend: Adapters, clock: ManualClock
) -> None:
    viewer, author, fine, blocked, blocker = [await add_user(backend) for _ in range(5)]
    banned = await add_user(backend, status=AccountStatus.BANNED)
    suspended = await add_user(
        backend, status=AccountStatus.SUSPENDED, suspended_until=clock.now() + timedelta(days=1)
    )
    served = await add_user(
        backend, status=AccountStatus.SUSPENDED, suspended_until=clock.now() - timedelta(days=1)
    )
    video = await add_video(backend, author.id)
    await block(backend, viewer.id, blocked.id)
    await block(backend, blocker.id, viewer.id)
    everyone = [viewer, fine, blocked, blocker, banned, suspended, served]
    for n, person in enumerate(everyone):
        await react(backend, person.id, video.id, HEART, at=T0 + timedelta(seconds=n))
    async with backend.uow() as tx:
        seen = {r.user.id for r in await tx.reactions.list(video.id, viewer.id, None, 20)}
        by_author = {r.user.id for r in await tx.reactions.list(video.id, author.id, None, 20)}
        # Hidden users still count: the counters are rows, not what a viewer sees.
        assert (await tx.videos.get(video.id)).reactions == counts(heart=len(everyone))
    assert seen == {viewer.id, fine.id, served.id}
    assert by_author == {viewer.id, fine.id, blocked.id, blocker.id, served.id}
    clock.advance(timedelta(days=2))  # the suspension runs out
    async with backend.uow() as tx:
        seen = {r.user.id for r in await tx.reactions.list(video.id, viewer.id, None, 20)}
    assert seen == {viewer.id, fine.id, served.id, suspended.id}


# ---------------------------------------------------------------- comments


async def test_comments_and_replies_are_counted_on_the_video_and_the_parent(
    backend: Adapters,
) -> None:
    author, a, b = [await add_user(backend) for _ in range(3)]
    video = await add_video(backend, author.id)
    async with backend.uow() as tx:
        top = await tx.comments.add(
            Comment(id=55, video_id=video.id, author_id=a.id, body="first", created_at=T0,
                    like_count=9, reply_count=9)  # id and counters are the store's
        )
    assert top == Comment(top.id, video.id, a.id, "first", T0)
    replies = [
        await comment(backend, b.id, video.id, parent_id=top.id, at=T0 + timedelta(minutes=m))
        for m in (1, 2)
    ]
    assert all(r.parent_id == top.id and r.reply_count == 0 for r in replies)
    async with backend.uow() as tx:
        assert (await tx.comments.get(top.id)).reply_count == 2
        assert (await tx.videos.get(video.id)).comment_count == 3
        view = await tx.comments.view(replies[0].id, a.id)
    assert (view.comment, view.author, view.liked_by_me) == (replies[0], Person.of(b), False)
    assert type(view.author) is Person


async def test_a_comment_needs_its_video_author_and_parent(backend: Adapters) -> None:
    user = await add_user(backend)
    video = await add_video(backend, user.id)
    for fields, code in (
        ({"video_id": 999_999}, "video_not_found"),
        ({"author_id": 999_999}, "user_not_found"),
        ({"parent_id": 999_999}, "comment_not_found"),
    ):
        values: dict[str, Any] = {
            "id": 0, "video_id": video.id, "author_id": user.id, "body": "hi", "created_at": T0,
        }
        with pytest.raises(NotFound) as caught:
            async with backend.uow() as tx:
                await tx.comments.add(Comment(**(values | fields)))
        assert caught.value.code == code
    for call in (
        lambda tx: tx.comments.get(999_999),
        lambda tx: tx.comments.get_for_update(999_999),
        lambda tx: tx.comments.view(999_999, user.id),
        lambda tx: tx.comments.edit(999_999, "x", T0),
    ):
        with pytest.raises(NotFound) as caught:
            async with backend.uow() as tx:
                await call(tx)
        assert caught.value.code == "comment_not_found"
    async with backend.uow() as tx:
        assert (await tx.videos.get(video.id)).comment_count == 0


async def test_editing_replaces_the_body_and_stamps_the_time(backend: Adapters) -> None:
    user = await add_user(backend)
    video = await add_video(backend, user.id)
    first = await comment(backend, user.id, video.id, body="tpyo")
    await like(backend, first.id, user.id)
    async with backend.uow() as tx:
        edited = await tx.comments.edit(first.id, "typo", T0 + timedelta(minutes=5))
        assert await tx.comments.get_for_update(first.id) == edited
    assert edited == attrs.evolve(
        first, body="typo", edited_at=T0 + timedelta(minutes=5), like_count=1
    )


async def test_deleting_a_comment_takes_its_replies_likes_and_notifications(
    backend: Adapters, pool: asyncpg.Pool | None
) -> None:
    author, a, b = [await add_user(backend) for _ in range(3)]
    video = await add_video(backend, author.id)
    top = await comment(backend, a.id, video.id)
    other = await comment(backend, b.id, video.id)
    replies = [await comment(backend, u.id, video.id, parent_id=top.id) for u in (b, author, b)]
    await like(backend, top.id, b.id)
    await like(backend, replies[0].id, a.id)
    await like(backend, other.id, a.id)
    about = await notify(backend, a.id, actor_id=b.id, video_id=video.id,
                         comment_id=replies[0].id)
    kept = await notify(backend, a.id, actor_id=b.id, video_id=video.id, comment_id=other.id)
    assert about is not None and kept is not None

    async with backend.uow() as tx:
        assert await tx.comments.delete(replies[2].id) == 1  # a reply alone
    async with backend.uow() as tx:
        assert (await tx.comments.get(top.id)).reply_count == 2
        assert (await tx.videos.get(video.id)).comment_count == 4
        assert await tx.comments.delete(top.id) == 3  # with its two replies
        assert await tx.comments.delete(top.id) == 0
    async with backend.uow() as tx:
        assert (await tx.videos.get(video.id)).comment_count == 1
        assert [v.comment.id for v in await tx.comments.list(video.id, None, a.id, None, 9)] == [
            other.id
        ]
        assert await tx.comments.list(video.id, top.id, a.id, None, 9) == []
        assert [n.notification.id for n in await tx.notifications.list(a.id, None, 9)] == [
            kept.id
        ]
        assert (await tx.comments.get(other.id)).like_count == 1
    for gone in (top, *replies):
        with pytest.raises(NotFound):
            async with backend.uow() as tx:
                await tx.comments.get(gone.id)
    await assert_counters_match_rows(
        backend, [author.id, a.id, b.id], [video.id],
        [top.id, other.id, *[r.id for r in replies]], pool,
    )


async def test_like_and_unlike_are_idempotent_and_report_the_count(backend: Adapters) -> None:
    author, a, b = [await add_user(backend) for _ in range(3)]
    video = await add_video(backend, author.id)
    target = await comment(backend, author.id, video.id)
    async with backend.uow() as tx:
        assert await tx.comments.like(target.id, a.id, T0) == (True, 1)
        assert await tx.comments.like(target.id, a.id, T0) == (False, 1)
        assert await tx.comments.like(target.id, b.id, T0) == (True, 2)
    async with backend.uow() as tx:
        assert (await tx.comments.get(target.id)).like_count == 2
        assert (await tx.comments.view(target.id, a.id)).liked_by_me is True
        assert await tx.comments.unlike(target.id, a.id) == (True, 1)
        assert await tx.comments.unlike(target.id, a.id) == (False, 1)
        assert await tx.comments.unlike(target.id, author.id) == (False, 1)
    async with backend.uow() as tx:
        assert (await tx.comments.get(target.id)).like_count == 1
        assert (await tx.comments.view(target.id, a.id)).liked_by_me is False
        assert (await tx.comments.view(target.id, b.id)).liked_by_me is True
    for call, code in (
        (lambda tx: tx.comments.like(999_999, a.id, T0), "comment_not_found"),
        (lambda tx: tx.comments.unlike(999_999, a.id), "comment_not_found"),
        (lambda tx: tx.comments.like(target.id, 999_999, T0), "user_not_found"),
    ):
        with pytest.raises(NotFound) as caught:
            async with backend.uow() as tx:
                await call(tx)
        assert caught.value.code == code


async def test_comments_page_oldest_first_each_thread_apart(backend: Adapters) -> None:
    author, viewer, other = [await add_user(backend) for _ in range(3)]
    video = await add_video(backend, author.id)
    elsewhere = await add_video(backend, author.id)
    seconds = [2, 0, 2, 1, 0, 2]  # ties on purpose
    tops = [
        await comment(backend, (viewer, other)[n % 2].id, video.id, at=T0 + timedelta(seconds=s))
        for n, s in enumerate(seconds)
    ]
    replies = [
        await comment(backend, other.id, video.id, parent_id=tops[3].id,
                      at=T0 + timedelta(seconds=s))
        for s in (1, 0, 1)
    ]
    await comment(backend, viewer.id, elsewhere.id)
    await like(backend, tops[1].id, viewer.id)
    await like(backend, replies[2].id, viewer.id)
    await like(backend, tops[2].id, other.id)

    def oldest_first(items: list[Comment]) -> list[int]:
        return [c.id for c in sorted(items, key=lambda c: (c.created_at, c.id))]

    for parent, expected in ((None, oldest_first(tops)), (tops[3].id, oldest_first(replies))):
        for limit in (1, 2, 4, 10):
            seen: list[int] = []
            liked: set[int] = set()
            after = None
            while True:
                async with backend.uow() as tx:
                    page = await tx.comments.list(video.id, parent, viewer.id, after, limit)
                assert len(page) <= limit
                seen += [v.comment.id for v in page]
                liked |= {v.comment.id for v in page if v.liked_by_me}
                if len(page) < limit:
                    break
                after = (page[-1].comment.created_at, page[-1].comment.id)
            assert seen == expected
            assert liked == ({tops[1].id} if parent is None else {replies[2].id})
    async with backend.uow() as tx:
        [first] = await tx.comments.list(video.id, tops[3].id, viewer.id, None, 1)
        assert await tx.comments.list(video.id, None, viewer.id, None, 0) == []
    assert (first.comment, first.author) == (
        attrs.evolve(replies[1], like_count=0),
        Person.of(other),
    )


async def test_comments_leave_out_blocked_banned_and_suspended_authors(
    backend: Adapters, clock: ManualClock
) -> None:
    viewer, author, fine, blocked, blocker = [await add_user(backend) for _ in range(5)]
    banned = await add_user(backend, status=AccountStatus.BANNED)
    suspended = await add_user(
        backend, status=AccountStatus.SUSPENDED, suspended_until=clock.now() + timedelta(days=1)
    )
    video = await add_video(backend, author.id)
    everyone = [viewer, fine, blocked, blocker, banned, suspended]
    made = {}
    for n, person in enumerate(everyone):
        made[person.id] = await comment(backend, person.id, video.id,
                                        at=T0 + timedelta(seconds=n))
    top = made[fine.id]
    for n, person in enumerate(everyone):
        await comment(backend, person.id, video.id, parent_id=top.id,
                      at=T0 + timedelta(seconds=n))
    await block(backend, viewer.id, blocked.id)
    await block(backend, blocker.id, viewer.id)
    async with backend.uow() as tx:
        tops = await tx.comments.list(video.id, None, viewer.id, None, 20)
        replies = await tx.comments.list(video.id, top.id, viewer.id, None, 20)
        assert (await tx.videos.get(video.id)).comment_count == 2 * len(everyone)
    assert [v.author.id for v in tops] == [viewer.id, fine.id]
    assert [v.author.id for v in replies] == [viewer.id, fine.id]
    clock.advance(timedelta(days=2))
    async with backend.uow() as tx:
        tops = await tx.comments.list(video.id, None, viewer.id, None, 20)
    assert [v.author.id for v in tops] == [viewer.id, fine.id, suspended.id]


# ---------------------------------------------------------------- notifications


async def test_notifications_dedupe_per_user_and_key(backend: Adapters) -> None:
    me, you, actor = [await add_user(backend) for _ in range(3)]
    first = await notify(backend, me.id, kind=NotificationKind.REACTION, actor_id=actor.id,
                         text="heart", dedupe_key="reaction:1:2")
    assert first is not None and first.id > 0
    assert first == new_notification(
        me.id, id=first.id, kind=NotificationKind.REACTION, actor_id=actor.id, text="heart",
        dedupe_key="reaction:1:2",
    )
    assert await notify(backend, me.id, dedupe_key="reaction:1:2") is None
    assert await notify(backend, you.id, dedupe_key="reaction:1:2") is not None
    # No key, no deduplication.
    assert await notify(backend, me.id) is not None
    assert await notify(backend, me.id) is not None
    async with backend.uow() as tx:
        assert await tx.notifications.unread_count(me.id) == 3
        assert await tx.notifications.unread_count(you.id) == 1
    with pytest.raises(NotFound) as caught:
        await notify(backend, 999_999)
    assert caught.value.code == "user_not_found"


async def test_notifications_page_newest_first_with_their_actors(
    backend: Adapters, clock: ManualClock
) -> None:
    me, friend, other = [await add_user(backend) for _ in range(3)]
    banned = await add_user(backend, status=AccountStatus.BANNED)
    suspended = await add_user(
        backend, status=AccountStatus.SUSPENDED, suspended_until=clock.now() + timedelta(days=1)
    )
    await notify(backend, other.id, actor_id=friend.id)  # someone else's
    actors = [friend, None, banned, suspended, friend, other]
    made = [
        await notify(backend, me.id, actor_id=None if a is None else a.id, text=str(n))
        for n, a in enumerate(actors)
    ]
    shown = [friend, None, None, None, friend, other]  # banned and suspended show as None
    expected = [
        (n.id, s and Person.of(s)) for n, s in zip(made, shown, strict=True) if n is not None
    ][::-1]
    for limit in (1, 2, 4, 6, 7):
        seen: list[tuple[int, Any]] = []
        before = None
        while True:
            async with backend.uow() as tx:
                page = await tx.notifications.list(me.id, before, limit)
            assert len(page) <= limit
            seen += [(v.notification.id, v.actor) for v in page]
            if len(page) < limit:
                break
            before = page[-1].notification.id
        assert seen == expected
    async with backend.uow() as tx:
        assert await tx.notifications.list(me.id, None, 0) == []


async def test_marking_read_once_or_all(backend: Adapters) -> None:
    me, you = await add_user(backend), await add_user(backend)
    mine = [await notify(backend, me.id) for _ in range(3)]
    yours = await notify(backend, you.id)
    assert yours is not None and all(n is not None for n in mine)
    first, second, third = [n.id for n in mine if n is not None]
    async with backend.uow() as tx:
        assert await tx.notifications.mark_read(me.id, second, T0) is True
        assert await tx.notifications.mark_read(me.id, second, T0 + timedelta(hours=1)) is True
        assert await tx.notifications.mark_read(me.id, yours.id, T0) is False  # not mine
        assert await tx.notifications.mark_read(me.id, 999_999, T0) is False
        assert await tx.notifications.unread_count(me.id) == 2
    async with backend.uow() as tx:
        [n3, n2, n1] = await tx.notifications.list(me.id, None, 5)
    assert (n3.notification.read_at, n2.notification.read_at, n1.notification.read_at) == (
        None, T0, None  # the first reading stays
    )
    async with backend.uow() as tx:
        assert await tx.notifications.mark_all_read(me.id, T0 + DAY) == 2
        assert await tx.notifications.mark_all_read(me.id, T0 + 2 * DAY) == 0
        assert await tx.notifications.unread_count(me.id) == 0
        assert await tx.notifications.unread_count(you.id) == 1
        reads = {v.notification.id: v.notification.read_at
                 for v in await tx.notifications.list(me.id, None, 5)}
    assert reads == {first: T0 + DAY, second: T0, third: T0 + DAY}



async def test_notifications_hide_blocked_actors_and_hidden_comment_previews(
    backend: Adapters,
) -> None:
    me, blocker, blocked, friend = [await add_user(backend) for _ in range(4)]
    video = await add_video(backend, me.id)
    shown = await comment(backend, friend.id, video.id, body="kind words")
    hidden = await comment(backend, friend.id, video.id, body="rude words")
    async with backend.uow() as tx:
        await tx.comments.set_hidden(hidden.id, True)
    made = [
        await notify(backend, me.id, actor_id=blocker.id),  # they blocked me
        await notify(backend, me.id, actor_id=blocked.id),  # I blocked them
        await notify(backend, me.id, actor_id=friend.id, comment_id=shown.id,
                     video_id=video.id, text="kind words"),
        await notify(backend, me.id, actor_id=friend.id, comment_id=hidden.id,
                     video_id=video.id, text="rude words"),
        await notify(backend, me.id, kind=NotificationKind.MODERATION, comment_id=hidden.id,
                     text="hold: Insults"),  # a reason, not the comment: it stays
    ]
    await block(backend, blocker.id, me.id)
    await block(backend, me.id, blocked.id)
    await block(backend, blocker.id, friend.id)  # a block between others changes nothing
    async with backend.uow() as tx:
        page = await tx.notifications.list(me.id, None, 10)
    assert [v.notification.id for v in page] == [n.id for n in made if n is not None][::-1]
    assert [(v.actor, v.notification.text) for v in page] == [
        (None, "hold: Insults"), (Person.of(friend), None), (Person.of(friend), "kind words"),
        (None, None), (None, None),
    ]
    async with backend.uow() as tx:  # the rows stay as they were
        await tx.comments.set_hidden(hidden.id, False)
        await tx.social.remove_block(me.id, blocked.id)
        page = await tx.notifications.list(me.id, None, 10)
    assert [(v.actor, v.notification.text) for v in page] == [
        (None, "hold: Insults"), (Person.of(friend), "rude words"),
        (Person.of(friend), "kind words"), (Person.of(blocked), None), (None, None),
    ]
    assert {type(v.actor) for v in page} == {Person, type(None)}  # the public part only



# ---------------------------------------------------------------- deletions


async def test_deleting_a_user_keeps_every_counter_equal_to_its_rows(
    backend: Adapters, pool: asyncpg.Pool | None
) -> None:
    gone, author, b, c = [await add_user(backend) for _ in range(4)]
    theirs = await add_video(backend, author.id)
    mine = await add_video(backend, gone.id)
    for person, kind in ((gone, HEART), (b, HEART), (c, FLAME)):
        await react(backend, person.id, theirs.id, kind)
        await react(backend, person.id, mine.id, kind)
    my_top = await comment(backend, gone.id, theirs.id)
    my_top_replies = [await comment(backend, u.id, theirs.id, parent_id=my_top.id) for u in (b, c)]
    b_top = await comment(backend, b.id, theirs.id)
    my_reply = await comment(backend, gone.id, theirs.id, parent_id=b_top.id)
    c_reply = await comment(backend, c.id, theirs.id, parent_id=b_top.id)
    on_mine = await comment(backend, b.id, mine.id)
    for target in (b_top, c_reply, my_top_replies[0]):
        await like(backend, target.id, gone.id)
    await like(backend, b_top.id, c.id)
    await notify(backend, author.id, actor_id=gone.id, video_id=theirs.id)
    kept = await notify(backend, author.id, actor_id=b.id, video_id=theirs.id)
    assert kept is not None
    await notify(backend, gone.id, actor_id=b.id)
    await notify(backend, b.id, actor_id=author.id, video_id=mine.id)

    async with backend.uow() as tx:
        await tx.users.delete(gone.id)
    async with backend.uow() as tx:
        video = await tx.videos.get(theirs.id)
        top = await tx.comments.get(b_top.id)
        listed = await tx.comments.list(theirs.id, None, author.id, None, 10)
        author_notes = await tx.notifications.list(author.id, None, 10)
        b_notes = await tx.notifications.list(b.id, None, 10)
        assert await tx.notifications.unread_count(gone.id) == 0
    assert video.reactions == counts(heart=1, flame=1)
    assert video.comment_count == 2  # b's comment and c's reply to it
    assert (top.reply_count, top.like_count) == (1, 1)
    assert [v.comment.id for v in listed] == [b_top.id]
    assert [n.notification.id for n in author_notes] == [kept.id]
    assert b_notes == []  # it was about a video that is gone
    with pytest.raises(NotFound):
        async with backend.uow() as tx:
            await tx.videos.get(mine.id)
    everything = [my_top, *my_top_replies, b_top, my_reply, c_reply, on_mine]
    await assert_counters_match_rows(
        backend, [gone.id, author.id, b.id, c.id], [theirs.id, mine.id],
        [x.id for x in everything], pool,
    )


async def test_deleting_a_video_takes_its_engagement_and_nothing_else(
    backend: Adapters, pool: asyncpg.Pool | None
) -> None:
    author, fan = await add_user(backend), await add_user(backend)
    doomed, kept = await add_video(backend, author.id), await add_video(backend, author.id)
    made = []
    for video in (doomed, kept):
        await react(backend, fan.id, video.id, ANGRY)
        top = await comment(backend, fan.id, video.id)
        made += [top, await comment(backend, author.id, video.id, parent_id=top.id)]
        await like(backend, top.id, author.id)
        await notify(backend, author.id, actor_id=fan.id, video_id=video.id, comment_id=top.id)
    async with backend.uow() as tx:
        await tx.videos.delete(doomed.id)
        await tx.videos.delete(doomed.id)  # idempotent
    async with backend.uow() as tx:
        assert await tx.reactions.get(fan.id, doomed.id) is None
        assert await tx.reactions.list(doomed.id, author.id, None, 9) == []
        assert await tx.comments.list(doomed.id, None, author.id, None, 9) == []
        stored = await tx.videos.get(kept.id)
        notes = await tx.notifications.list(author.id, None, 9)
    assert (stored.reactions, stored.comment_count) == (counts(angry=1), 2)
    assert [n.notification.video_id for n in notes] == [kept.id]
    await assert_counters_match_rows(
        backend, [author.id, fan.id], [doomed.id, kept.id], [c.id for c in made], pool
    )


# ---------------------------------------------------------------- feeds


async def test_feed_items_carry_the_counts_and_my_reaction(backend: Adapters) -> None:
    viewer, author, fan = [await add_user(backend) for _ in range(3)]
    await befriend(backend, viewer.id, author.id)
    video = await add_video(backend, author.id, visibility=Visibility.FRIENDS)
    quiet = await add_video(backend, author.id, created_at=T0 - timedelta(hours=1))
    await react(backend, viewer.id, video.id, ANGRY)
    await react(backend, fan.id, video.id, HEART)
    top = await comment(backend, fan.id, video.id)
    await comment(backend, viewer.id, video.id, parent_id=top.id)
    async with backend.uow() as tx:
        stored = await tx.videos.get(video.id)
        friends = await tx.feeds.friends_feed(viewer.id, T0 - DAY, T0 + DAY, None, False, 9)
        snapshot = await tx.feeds.save_snapshot(viewer.id, [video.id, quiet.id], T0, keep=3)
        ranked = await tx.feeds.snapshot_page(snapshot, viewer.id, 0, 9)
        public = await tx.feeds.global_feed(fan.id, None, False, 9)
    expected = FeedItem(
        video=stored, author=FeedAuthor.of(author), reactions=counts(heart=1, angry=1),
        my_reaction="angry", comment_count=2,
    )
    assert stored.reactions == counts(heart=1, angry=1) and stored.comment_count == 2
    assert friends[0] == expected
    assert ranked[0] == (1, expected)
    assert friends[1] == FeedItem(quiet, FeedAuthor.of(author), counts(), None, 0)
    assert [i.video.id for i in public] == [quiet.id]  # friends-only for the fan


async def test_for_you_scores_engagement_and_friends_who_engaged(backend: Adapters) -> None:
    viewer, author, f1, f2, f3, stranger = [await add_user(backend) for _ in range(6)]
    for friend in (f1, f2, f3):
        await befriend(backend, viewer.id, friend.id)
    await befriend(backend, author.id, stranger.id)  # a friend of someone else's
    v = [await add_video(backend, author.id, created_at=T0 - timedelta(hours=2)) for _ in range(5)]
    # v0: one friend, twice (a reaction and a comment): one person.
    await react(backend, f1.id, v[0].id, HEART)
    await comment(backend, f1.id, v[0].id)
    # v1: three friends, one by a reply only; a stranger's reaction too.
    top = await comment(backend, stranger.id, v[1].id)
    await react(backend, f1.id, v[1].id, FLAME)
    await react(backend, f2.id, v[1].id, FUNNY)
    await comment(backend, f3.id, v[1].id, parent_id=top.id)
    # v2: much engagement, by strangers only.
    for person in (stranger, author):
        await react(backend, person.id, v[2].id, ANGRY)
        await comment(backend, person.id, v[2].id)
    # v3: a friend's reaction that was removed again: nothing.
    await react(backend, f2.id, v[3].id, HEART)
    async with backend.uow() as tx:
        await tx.reactions.remove(f2.id, v[3].id)
    signals = {  # (reactions, comments, friends who engaged)
        v[0].id: (1, 1, 1),
        v[1].id: (2, 2, 3),
        v[2].id: (2, 2, 0),
        v[3].id: (0, 0, 0),
        v[4].id: (0, 0, 0),
    }
    s = FeedSettings()
    expected = sorted(
        signals,
        key=lambda i: (for_you_score(s, 2.0, *signals[i]), i),
        reverse=True,
    )
    async with backend.uow() as tx:
        ranked = await tx.feeds.rank_for_you(viewer.id, T0, s)
        for_stranger = await tx.feeds.rank_for_you(stranger.id, T0, s)
    assert ranked == expected
    assert ranked[:2] == [v[1].id, v[0].id]
    # The stranger's friend is the author, who engaged with v2 only.
    assert for_stranger[0] == v[2].id


# ---------------------------------------------------------------- live events


def _video() -> int:
    """A video id no other test's events use (the events need no row)."""
    return 1 + secrets.randbelow(10**12)


async def test_committed_events_are_heard_in_commit_order_rolled_back_ones_never(
    backend: Adapters,
) -> None:
    video = _video()
    channel = f"video:{video}"
    heard = Heard()
    source = backend.live()
    await source.start(heard)
    author = Person(7, "ann", name="Ann", avatar_key="avatars/ab/ann.jpg")

    def event(n: int, body: str = "hi") -> Event:
        return CommentEdited(Comment(id=n, video_id=video, author_id=7, body=body,
                                     created_at=T0, edited_at=T0), author)

    counts = ReactionsChanged(video, {"heart": 3, "flame": 0})
    try:
        async with backend.uow() as tx:
            await tx.events.emit(event(1, body="héllo ✨"))
            await tx.events.emit(event(2))
            await tx.events.emit(event(2))  # the same event twice is heard twice
        with pytest.raises(RuntimeError):
            async with backend.uow() as tx:
                await tx.events.emit(event(99))
                raise RuntimeError("rolled back")
        async with backend.uow() as tx:
            await tx.events.emit(counts)
        async with backend.uow() as tx:
            await tx.events.emit(event(4))
        await heard.until(lambda events: event(4) in events)
    finally:
        await source.stop()
    # Typed events come back equal, through JSON (NOTIFY, or the memory store's trip).
    assert heard.on(channel) == [event(1, body="héllo ✨"), event(2), event(2), counts, event(4)]


async def test_events_of_concurrent_units_of_work_arrive_in_commit_order(
    backend: Adapters,
) -> None:
    video = _video()
    channel = f"video:{video}"
    heard = Heard()
    source = backend.live()
    await source.start(heard)

    async def work(n: int) -> None:
        async with backend.uow() as tx:
            await tx.events.emit(CommentLiked(n, video, 1))
            await asyncio.sleep(random.random() / 100)
            await tx.events.emit(CommentDeleted(n, video, None, 0))

    try:
        await asyncio.gather(*(work(n) for n in range(8)))
        await heard.until(lambda events: len([e for e in events if e.channel == channel]) >= 16)
    finally:
        await source.stop()
    heard_here = heard.on(channel)
    got = [(e.name, e.id) for e in heard_here if isinstance(e, CommentLiked | CommentDeleted)]
    # Each unit of work's events arrive together, liked before deleted, never interleaved.
    pairs = [got[i:i + 2] for i in range(0, len(got), 2)]
    assert all(p == [("comment.liked", p[0][1]), ("comment.deleted", p[0][1])] for p in pairs)
    assert sorted(n for _, n in got[::2]) == list(range(8))


# ---------------------------------------------------------------- concurrency


async def _reaction_storm(
    backend: Adapters, videos: list[int], users: list[int], seed: int
) -> None:
    """Every user, all at once, sets, changes and removes reactions on the videos."""
    rng = random.Random(seed)

    async def one_user(user_id: int) -> None:
        for _ in range(6):
            video_id = rng.choice(videos)
            async with backend.uow() as tx:
                if rng.random() < 0.3:
                    await tx.reactions.remove(user_id, video_id)
                else:
                    await tx.reactions.set(user_id, video_id, rng.choice(list(ReactionKind)), T0)
            await asyncio.sleep(0)

    await asyncio.gather(*(one_user(u) for u in users))


async def test_concurrent_reactions_keep_counts_equal_to_rows(
    backend: Adapters, pool: asyncpg.Pool | None
) -> None:
    author = await add_user(backend)
    videos = [(await add_video(backend, author.id)).id for _ in range(3)]
    users = [(await add_user(backend)).id for _ in range(40)]
    await _reaction_storm(backend, videos, users, seed=5)
    await assert_counters_match_rows(backend, users, videos, [], pool)
    total = rows = 0
    async with backend.uow() as tx:
        for v in videos:
            total += sum((await tx.videos.get(v)).reactions.values())
            rows += sum([await tx.reactions.get(u, v) is not None for u in users])
    assert total == rows > 0


async def test_two_first_reactions_of_one_user_at_once_both_succeed(backend: Adapters) -> None:
    author, fan = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id)
    # PostgreSQL: both transactions are open before either sets (memory runs them in turn).
    together = asyncio.Barrier(2) if backend.name == "postgres" else None

    async def first(kind: ReactionKind) -> Any:
        async with backend.uow() as tx:
            if together is not None:
                await together.wait()
            return await tx.reactions.set(fan.id, video.id, kind, T0)

    heart, flame = await asyncio.gather(first(HEART), first(FLAME))
    # One came first; the other replaced it and says so.
    assert (heart.previous, flame.previous) in ((None, HEART), (FLAME, None))
    last = flame if flame.previous is HEART else heart
    async with backend.uow() as tx:
        stored = await tx.videos.get(video.id)
        kind = await tx.reactions.get(fan.id, video.id)
    assert kind is not None
    assert stored.reactions == last.counts == counts(**{kind.value: 1})


async def test_concurrent_likes_and_unlikes_keep_the_count(
    backend: Adapters, pool: asyncpg.Pool | None
) -> None:
    author = await add_user(backend)
    video = await add_video(backend, author.id)
    target = await comment(backend, author.id, video.id)
    users = [(await add_user(backend)).id for _ in range(20)]
    rng = random.Random(11)

    async def toggle(user_id: int) -> None:
        for _ in range(4):
            async with backend.uow() as tx:
                if rng.random() < 0.6:
                    await tx.comments.like(target.id, user_id, T0)
                else:
                    await tx.comments.unlike(target.id, user_id)

    await asyncio.gather(*(toggle(u) for u in users), *(toggle(users[0]) for _ in range(3)))
    await assert_counters_match_rows(backend, users, [video.id], [target.id], pool)


# ---------------------------------------------------------------- property


class _RolledBack(Exception):
    pass


_USERS = 4
_VIDEOS = 3
# (operation, user, video, reaction kind, which comment, roll back): deletions of users
# and videos are rarer than the rest, so that there is something left to count.
_NAMES = (
    ["comment"] * 4 + ["react"] * 4 + ["reply"] * 4 + ["like"] * 4
    + ["unreact", "unlike", "delete_comment"] * 2 + ["delete_user", "delete_video"]
)
_ops = st.lists(
    st.tuples(
        st.sampled_from(_NAMES),
        st.integers(0, _USERS - 1),
        st.integers(0, _VIDEOS - 1),
        st.sampled_from(list(ReactionKind)),
        st.integers(0, 30),
        st.integers(0, 5).map(lambda n: n == 0),
    ),
    min_size=20,
    max_size=50,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=_ops)
async def test_any_sequence_of_writes_keeps_every_counter_equal_to_its_rows(
    backend: Adapters,
    pool: asyncpg.Pool | None,
    ops: list[tuple[str, int, int, ReactionKind, int, bool]],
) -> None:
    # The examples share the backend's tables: each makes its own users and videos.
    users = [(await add_user(backend)).id for _ in range(_USERS)]
    videos = [(await add_video(backend, users[n % _USERS])).id for n in range(_VIDEOS)]
    tops: list[int] = []  # replies go to top-level comments only, as the service makes them
    made: list[int] = []
    for step, (name, u, v, kind, pick, roll_back) in enumerate(ops):
        at = T0 + timedelta(seconds=step)
        user_id, video_id = users[u], videos[v]
        picked = made[pick % len(made)] if made else None
        try:
            async with backend.uow() as tx:
                if name == "react":
                    await tx.reactions.set(user_id, video_id, kind, at)
                elif name == "unreact":
                    await tx.reactions.remove(user_id, video_id)
                elif name == "comment" or (name == "reply" and tops):
                    parent = tops[pick % len(tops)] if name == "reply" else None
                    if parent is not None:
                        video_id = (await tx.comments.get(parent)).video_id
                    new = await tx.comments.add(
                        Comment(0, video_id, user_id, f"c{step}", at, parent_id=parent)
                    )
                    if not roll_back:
                        made.append(new.id)
                        if parent is None:
                            tops.append(new.id)
                elif name == "delete_comment" and picked is not None:
                    await tx.comments.delete(picked)
                elif name == "like" and picked is not None:
                    await tx.comments.like(picked, user_id, at)
                elif name == "unlike" and picked is not None:
                    await tx.comments.unlike(picked, user_id)
                elif name == "delete_user":
                    await tx.users.delete(user_id)
                elif name == "delete_video":
                    await tx.videos.delete(video_id)
                if roll_back:
                    raise _RolledBack
        except (_RolledBack, NotFound):
            pass  # rolled back, or a row the operation needed was gone: nothing happened
    await assert_counters_match_rows(backend, users, videos, made, pool)


# ---------------------------------------------------------------- PostgreSQL only


async def test_the_postgres_source_reconnects_after_its_connection_drops(
    clean_pg_pool: asyncpg.Pool, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from adapters.postgres.live import PostgresLiveEventSource
    from adapters.postgres.uow import PostgresUnitOfWork

    video = _video()
    channel = f"video:{video}"
    heard = Heard()
    source = PostgresLiveEventSource(database_url, min_backoff=0.05, max_backoff=0.2)
    caplog.set_level(logging.INFO, logger="adapters.postgres.live")
    await source.start(heard)
    try:
        killed = await clean_pg_pool.fetchval(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE 'LISTEN %momentic_live%'
            """
        )
        assert killed == 1
        for n in itertools.count():  # a hint per try until the new connection hears one
            async with PostgresUnitOfWork(clean_pg_pool) as tx:
                await tx.events.emit(CommentLiked(n, video, n))
            try:
                await heard.until(lambda events: bool(heard.on(channel)), guard=0.2)
                break
            except TimeoutError:
                assert n < 200, "the source did not come back"
    finally:
        await source.stop()
    assert "connection lost" in caplog.text
    assert "listening again" in caplog.text


async def test_the_triggers_count_hand_written_sql_too(
    clean_pg_pool: asyncpg.Pool, database_url: str
) -> None:
    """Every path keeps counts equal to rows, not only the repositories': updates that
    move what is counted, and deletions of parents and children in one statement."""
    from adapters.postgres.live import PostgresLiveEventSource
    from adapters.postgres.rate_limiter import PostgresRateLimiter
    from adapters.postgres.uow import PostgresUnitOfWork
    from adapters.postgres.videos import PostgresJobRunner

    pool = clean_pg_pool
    backend = Adapters(
        name="postgres",
        uow=functools.partial(PostgresUnitOfWork, pool),
        rate_limiter=lambda c: PostgresRateLimiter(pool, c),
        job_runner=lambda c: PostgresJobRunner(pool, c),
        live=lambda: PostgresLiveEventSource(database_url),
    )
    people = [(await add_user(backend)).id for _ in range(4)]
    v1, v2 = [(await add_video(backend, people[0])).id for _ in range(2)]
    for n, user_id in enumerate(people):
        await react(backend, user_id, v1, list(ReactionKind)[n])
    top1 = await comment(backend, people[1], v1)
    top2 = await comment(backend, people[2], v1)
    replies = [await comment(backend, u, v1, parent_id=top1.id) for u in people]
    for user_id in people:
        await like(backend, top1.id, user_id)
        await like(backend, replies[0].id, user_id)
    statements = [
        f"UPDATE reactions SET kind = 'angry' WHERE video_id = {v1}",
        f"UPDATE reactions SET video_id = {v2} WHERE user_id = {people[3]}",
        f"UPDATE comments SET parent_id = {top2.id} WHERE id = {replies[1].id}",
        f"UPDATE comments SET video_id = {v2}, parent_id = NULL WHERE id = {replies[3].id}",
        f"UPDATE comment_likes SET comment_id = {top2.id}"
        f" WHERE user_id = {people[2]} AND comment_id = {top1.id}",
        f"UPDATE comments SET body = 'edited', like_count = like_count WHERE id = {top1.id}",
        # A parent and its replies in one statement; then several users at once.
        f"DELETE FROM comments WHERE id = {top1.id} OR parent_id = {top1.id}",
        f"DELETE FROM users WHERE id IN ({people[1]}, {people[2]})",
    ]
    for statement in statements:
        await pool.execute(statement)
        await assert_counters_match_rows(
            backend, people, [v1, v2], [top1.id, top2.id, *[r.id for r in replies]], pool
        )
    async with backend.uow() as tx:
        first, second = await tx.videos.get(v1), await tx.videos.get(v2)
    assert first.reactions == counts(angry=1)  # people[0]'s; people[3]'s moved to v2
    assert (second.reactions, second.comment_count) == (counts(angry=1), 1)


async def test_my_reactions_to_a_page_of_videos_in_one_call(backend: Adapters) -> None:
    me, author = await add_user(backend), await add_user(backend)
    videos = [await add_video(backend, author.id) for _ in range(3)]
    async with backend.uow() as tx:
        await tx.reactions.set(me.id, videos[0].id, ReactionKind.FLAME, T0)
        await tx.reactions.set(author.id, videos[1].id, ReactionKind.HEART, T0)  # not mine
        await tx.reactions.set(me.id, videos[2].id, ReactionKind.ANGRY, T0)
        mine = await tx.reactions.mine(me.id, [v.id for v in videos] + [999_999])
        assert await tx.reactions.mine(me.id, []) == {}
    assert mine == {videos[0].id: ReactionKind.FLAME, videos[2].id: ReactionKind.ANGRY}
