"""Seeded data for the admin dashboard: 30 days of users, activity, videos, reactions and
comments, deterministic from a seed, written through the repositories."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from momentic_core.model.accounts import User
from momentic_core.model.engagement import REACTION_KINDS, Comment, ReactionKind
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.ports import UnitOfWorkFactory


async def seed(uow: UnitOfWorkFactory, *, days: int = 30, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    counts = {"users": 0, "videos": 0, "reactions": 0, "comments": 0}
    users: list[User] = []
    async with uow() as tx:
        for n in range(60):
            joined = today - timedelta(days=rng.randrange(days), hours=rng.randrange(10))
            users.append(await tx.users.add(User(
                id=0, email=f"student{n}@bsu.by", nickname=f"student{n}", created_at=joined,
                email_verified=True,
            )))
        counts["users"] = len(users)
        for offset in range(days):
            day = (today - timedelta(days=offset)).date()
            # Activity grows towards today, with a weekly wobble.
            active = 10 + (days - offset) + (5 if day.weekday() < 5 else -5)
            for user in rng.sample(users, min(len(users), max(1, active))):
                await tx.stats.record_activity(user.id, day)
        for n in range(150):
            author = rng.choice(users)
            posted = today - timedelta(days=rng.randrange(days), minutes=rng.randrange(600))
            video = await tx.videos.add(Video(
                id=0, author_id=author.id, description=f"moment {n}",
                visibility=Visibility.PUBLIC, status=VideoStatus.READY, created_at=posted,
                updated_at=posted, ready_at=posted,
            ))
            counts["videos"] += 1
            for fan in rng.sample(users, rng.randrange(6)):
                at = posted + timedelta(minutes=rng.randrange(1, 300))
                kind = ReactionKind(rng.choice(REACTION_KINDS))
                await tx.reactions.set(fan.id, video.id, kind, at)
                counts["reactions"] += 1
            for _ in range(rng.randrange(4)):
                at = posted + timedelta(minutes=rng.randrange(1, 300))
                await tx.comments.add(Comment(0, video.id, rng.choice(users).id, "nice", at))
                counts["comments"] += 1
    return counts
