"""Seeded data for the staff interface: a few users who posted videos and comments, and
reports about them from other users, so the case queue has cases of every kind. Written
through the repositories and the moderation use case, deterministic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from momentic_core.model.accounts import Principal, Role, User
from momentic_core.model.engagement import Comment
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.ports import UnitOfWorkFactory
from momentic_core.services.moderation import Moderation


@attrs.frozen
class Seeded:
    video_id: int  # reported twice: below the threshold of 3, so still in the feeds
    case_id: int
    author_id: int
    held_video_id: int  # reported three times: held until a moderator decides


VIDEOS = [  # author, description, [(reporter, reason, note)]
    ("lena.k", "Sunset over the Svisloch", [
        ("pavel", "spam", "Same clip posted ten times today"),
        ("olga", "spam", None),
        ("ivan", "other", "Links to a shop in the comments"),
    ]),
    ("max.b", "Dorm party, room 412", [("olga", "nudity", "Not for the global feed")]),
    ("dasha", "Exam tips for calculus", [("pavel", "harassment", "Mocks a classmate by name")]),
    ("artem", "Football in the rain", [("lena.k", "violence", "A real fight at 0:12")]),
]


async def seed_cases(uow: UnitOfWorkFactory, moderation: Moderation) -> Seeded:
    now = datetime.now(UTC).replace(microsecond=0)
    users: dict[str, User] = {}
    videos: list[Video] = []
    async with uow() as tx:
        names = sorted({a for a, _, _ in VIDEOS} | {r for _, _, rs in VIDEOS for r, _, _ in rs})
        for n, nick in enumerate(names):
            users[nick] = await tx.users.add(User(
                id=0, email=f"{nick.replace('.', '')}@bsu.by", nickname=nick,
                created_at=now - timedelta(days=20 - n), email_verified=True,
            ))
        for n, (author, description, _) in enumerate(VIDEOS):
            at = now - timedelta(hours=5 * n + 1)
            videos.append(await tx.videos.add(Video(
                id=0, author_id=users[author].id, description=description,
                visibility=Visibility.PUBLIC, status=VideoStatus.READY, created_at=at,
                updated_at=at, ready_at=at,
            )))
        comment = await tx.comments.add(Comment(
            0, videos[2].id, users["max.b"].id, "nobody asked, loser", now - timedelta(hours=2)
        ))
    for video, (_, _, reports) in zip(videos, VIDEOS, strict=True):
        for reporter, reason, note in reports:
            who = Principal(users[reporter].id, Role.USER, 0)
            await moderation.report(who, "video", video.id, reason, note)
    await moderation.report(Principal(users["dasha"].id, Role.USER, 0), "comment", comment.id,
                            "harassment", "Aimed at me")
    await moderation.report(Principal(users["olga"].id, Role.USER, 0), "user",
                            users["max.b"].id, "spam", "Follows everyone, then unfollows")
    last = await moderation.report(Principal(users["lena.k"].id, Role.USER, 0), "video",
                                   videos[1].id, "nudity", None)
    return Seeded(videos[1].id, last.case_id, users["max.b"].id, videos[0].id)
