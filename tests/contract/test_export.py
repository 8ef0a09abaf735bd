"""The keyset pages a data export reads (GET /v1/me/export), one port method each:
SessionRepository.page_for_user, ReactionRepository.by_user, CommentRepository.by_author
and likes_by_user, ModerationRepository.reports_by and appeals_by, AuditRepository
about_user. Memory and PostgreSQL behave alike: each page is ordered by its key, starts
strictly after it, holds only the user's rows, and reads in a read-only unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import attrs

from momentic_core.model.accounts import AccountStatus
from momentic_core.model.engagement import (
    CommentLike,
    NotificationKind,
    ReactionKind,
    UserReaction,
)
from momentic_core.model.moderation import Appeal, AuditEntry, ReportReason, TargetType
from momentic_core.ports import UnitOfWork

from .engagement_support import comment, like, notify, react
from .social_support import block
from .support import T0, Adapters, add_session, add_user, add_video
from .test_moderation import audit, open_case, report

Page = Callable[[UnitOfWork, Any, int], Awaitable[list[Any]]]


async def pages(backend: Adapters, fetch: Page, key: Callable[[Any], Any], size: int) -> list[Any]:
    """Every item, page after page of ``size`` (each read-only), checking the page sizes."""
    found: list[Any] = []
    after = None
    while True:
        async with backend.uow(read_only=True) as tx:  # type: ignore[call-arg]
            page = await fetch(tx, after, size)
        assert len(page) <= size
        found += page
        if len(page) < size:
            return found
        after = key(page[-1])


async def test_sessions_page_by_id_revoked_ones_too(backend: Adapters) -> None:
    ann, bob = await add_user(backend), await add_user(backend)
    mine = [await add_session(backend, ann.id, device_name=f"d{n}") for n in range(5)]
    await add_session(backend, bob.id)
    async with backend.uow() as tx:
        await tx.sessions.revoke(mine[1].id, T0 + timedelta(hours=1))

    found = await pages(
        backend, lambda tx, after, n: tx.sessions.page_for_user(ann.id, after, n),
        lambda s: s.id, 2,
    )

    assert [s.id for s in found] == [s.id for s in mine]
    assert found[1].revoked_at == T0 + timedelta(hours=1)
    assert found[0] == mine[0]
    async with backend.uow() as tx:
        assert await tx.sessions.page_for_user(ann.id, mine[-1].id, 10) == []
        assert await tx.sessions.page_for_user(ann.id, None, 0) == []


async def test_reactions_page_by_video_whoever_may_see_the_video_now(backend: Adapters) -> None:
    ann, bob, cat = await add_user(backend), await add_user(backend), await add_user(backend)
    videos = [await add_video(backend, bob.id) for _ in range(3)] + [
        await add_video(backend, ann.id)
    ]
    for n, video in enumerate(videos):
        await react(backend, ann.id, video.id, ReactionKind.HEART, T0 + timedelta(minutes=n))
    await react(backend, ann.id, videos[2].id, ReactionKind.FLAME)  # a change keeps its time
    await react(backend, cat.id, videos[0].id, ReactionKind.ANGRY)
    await block(backend, bob.id, ann.id)  # bob's videos are gone from ann's sight, not her rows

    found = await pages(
        backend, lambda tx, after, n: tx.reactions.by_user(ann.id, after, n),
        lambda r: r.video_id, 3,
    )

    assert found == [
        UserReaction(v.id, ReactionKind.FLAME if n == 2 else ReactionKind.HEART,
                     T0 + timedelta(minutes=n))
        for n, v in enumerate(videos)
    ]


async def test_comments_page_by_id_with_replies_hidden_ones_and_my_own_likes(
    backend: Adapters,
) -> None:
    ann, bob = await add_user(backend), await add_user(backend)
    video, other = await add_video(backend, bob.id), await add_video(backend, ann.id)
    top = await comment(backend, ann.id, video.id, body="first")
    theirs = await comment(backend, bob.id, video.id)
    reply = await comment(backend, ann.id, video.id, parent_id=theirs.id, body="a reply")
    hidden = await comment(backend, ann.id, other.id, body="held")
    await comment(backend, bob.id, other.id)
    await like(backend, top.id, ann.id)
    await like(backend, top.id, bob.id)
    async with backend.uow() as tx:
        await tx.comments.set_hidden(hidden.id, True)

    found = await pages(
        backend, lambda tx, after, n: tx.comments.by_author(ann.id, after, n),
        lambda view: view.comment.id, 2,
    )

    assert [v.comment.id for v in found] == [top.id, reply.id, hidden.id]
    assert [v.comment.body for v in found] == ["first", "a reply", "held"]
    assert [v.comment.parent_id for v in found] == [None, theirs.id, None]
    assert [v.comment.hidden for v in found] == [False, False, True]
    assert [v.liked_by_me for v in found] == [True, False, False]
    assert found[0].comment.like_count == 2
    assert {v.author.id for v in found} == {ann.id}


async def test_comment_likes_page_by_comment_with_their_video(backend: Adapters) -> None:
    ann, bob = await add_user(backend), await add_user(backend)
    v1, v2 = await add_video(backend, bob.id), await add_video(backend, bob.id)
    comments = [await comment(backend, bob.id, v.id) for v in (v1, v2, v1)]
    for c in comments:
        await like(backend, c.id, ann.id)
    await like(backend, comments[0].id, bob.id)

    found = await pages(
        backend, lambda tx, after, n: tx.comments.likes_by_user(ann.id, after, n),
        lambda like: like.comment_id, 2,
    )

    assert found == [CommentLike(c.id, c.video_id, T0) for c in comments]


async def test_reports_page_by_id_each_with_its_case(backend: Adapters) -> None:
    ann, bob, cat = await add_user(backend), await add_user(backend), await add_user(backend)
    video = await add_video(backend, bob.id)
    on_video = await open_case(backend, TargetType.VIDEO, video.id, bob.id)
    on_user = await open_case(backend, TargetType.USER, cat.id, cat.id)
    await report(backend, on_video.id, ann.id, ReportReason.SPAM, note="again")
    await report(backend, on_video.id, cat.id)
    await report(backend, on_user.id, ann.id, ReportReason.HARASSMENT)

    found = await pages(
        backend, lambda tx, after, n: tx.moderation.reports_by(ann.id, after, n),
        lambda pair: pair[0].id, 1,
    )

    assert [(r.reporter_id, r.reason, r.note) for r, _ in found] == [
        (ann.id, ReportReason.SPAM, "again"), (ann.id, ReportReason.HARASSMENT, None)
    ]
    assert [(c.id, c.target_type, c.target_id) for _, c in found] == [
        (on_video.id, TargetType.VIDEO, video.id), (on_user.id, TargetType.USER, cat.id)
    ]
    assert [r.case_id for r, _ in found] == [on_video.id, on_user.id]


async def test_appeals_page_by_id_the_users_own(backend: Adapters) -> None:
    ann, bob = await add_user(backend), await add_user(backend)
    video = await add_video(backend, ann.id)
    cases = [
        await open_case(backend, TargetType.USER, ann.id, ann.id),
        await open_case(backend, TargetType.USER, bob.id, bob.id),
        await open_case(backend, TargetType.VIDEO, video.id, ann.id),
    ]
    async with backend.uow() as tx:
        made = [
            await tx.moderation.add_appeal(
                Appeal(id=0, case_id=c.id, user_id=c.owner_id, body=f"appeal {n}",
                       created_at=T0)
            )
            for n, c in enumerate(cases)
        ]

    found = await pages(
        backend, lambda tx, after, n: tx.moderation.appeals_by(ann.id, after, n),
        lambda a: a.id, 1,
    )

    assert found == [made[0], made[2]]


async def test_audit_about_a_user_their_account_content_cases_and_own_actions(
    backend: Adapters,
) -> None:
    ann, bob = await add_user(backend), await add_user(backend)
    video, bobs_video = await add_video(backend, ann.id), await add_video(backend, bob.id)
    gone = await add_video(backend, ann.id)
    remark = await comment(backend, ann.id, bobs_video.id)
    gone_case = await open_case(backend, TargetType.VIDEO, gone.id, ann.id)
    async with backend.uow() as tx:
        await tx.videos.delete(gone.id)  # its case (and so its entries) stays hers
    entries: dict[str, AuditEntry] = {}

    async def add(name: str, **fields: object) -> None:
        entries[name] = await audit(backend, **fields)

    await add("ban", actor_id=bob.id, action="user.ban", target_type="user", target_id=ann.id)
    await add("others", action="user.ban", target_type="user", target_id=bob.id)
    await add("video", action="case.resolve", target_type="video", target_id=video.id)
    await add("their video", target_type="video", target_id=bobs_video.id)
    await add("comment", action="case.resolve", target_type="comment", target_id=remark.id)
    await add("gone", action="appeal.accept", target_type="video", target_id=gone.id)
    await add("case", action="case.assign", target_type="case", target_id=gone_case.id)
    await add("own", actor_id=ann.id, action="user.suspend", target_type="user",
              target_id=bob.id, data={"until": "2026-02-01T00:00:00+00:00"})
    await add("settings", actor_id=bob.id, action="settings.update",
              target_type="settings", target_id=None)

    for size in (1, 2, 10):
        found = await pages(
            backend, lambda tx, after, n: tx.audit.about_user(ann.id, after, n),
            lambda e: e.id, size,
        )
        assert found == [
            entries[name] for name in ("ban", "video", "comment", "gone", "case", "own")
        ], size
    async with backend.uow() as tx:
        assert await tx.audit.about_user(bob.id, None, 10) == [
            entries[name] for name in ("ban", "others", "their video", "own", "settings")
        ]


async def test_notifications_leave_out_the_words_of_an_actor_not_shown(
    backend: Adapters,
) -> None:
    """A data export holds my notifications as the list shows them: the preview of a
    comment by someone I blocked (or who blocked me, or is banned) is their content."""
    me, blocked, banned, friend = [await add_user(backend) for _ in range(4)]
    video = await add_video(backend, me.id)
    for who, words in ((blocked, "blocked words"), (banned, "banned words"),
                       (friend, "kind words")):
        said = await comment(backend, who.id, video.id, body=words)
        await notify(backend, me.id, actor_id=who.id, comment_id=said.id, video_id=video.id,
                     text=words)
        await notify(backend, me.id, kind=NotificationKind.REACTION, actor_id=who.id,
                     video_id=video.id, text="heart")
    await block(backend, me.id, blocked.id)
    async with backend.uow() as tx:
        await tx.users.update(attrs.evolve(banned, status=AccountStatus.BANNED))

    async with backend.uow(read_only=True) as tx:  # type: ignore[call-arg]
        page = await tx.notifications.list(me.id, None, 10)

    assert [(v.actor.id if v.actor else None, v.notification.text) for v in page] == [
        (friend.id, "heart"), (friend.id, "kind words"), (None, "heart"), (None, None),
        (None, "heart"), (None, None),
    ]


def test_the_port_items_are_plain_values() -> None:
    # What the export views read off an item; attrs keeps them comparable across adapters.
    assert [f.name for f in attrs.fields(UserReaction)] == ["video_id", "kind", "created_at"]
    assert [f.name for f in attrs.fields(CommentLike)] == ["comment_id", "video_id", "created_at"]
