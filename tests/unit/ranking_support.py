"""The ranking use cases wired on one memory store and a manual clock, for the unit tests
of ratings, leaderboards and statistics."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import attrs
from config_support import runtime_config

from adapters.crypto.passwords import Argon2PasswordHasher
from adapters.media.images import PillowImageProcessor
from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.clock import ManualClock
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork
from momentic_core.model.accounts import AccountStatus, Principal, Role, User
from momentic_core.model.videos import StagedBlob, Video, VideoStatus
from momentic_core.policies.moments import MomentRules
from momentic_core.services.config import Config
from momentic_core.services.engagement import Engagement, Notifier
from momentic_core.services.feeds import Feeds
from momentic_core.services.profiles import Profiles
from momentic_core.services.ranking import Moments, Ranking, Scorer, Stats
from momentic_core.services.throttle import Throttle
from momentic_core.services.videos import Videos, new_key

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday
RULES = MomentRules(secret=b"test moment secret")


@attrs.define
class World:
    """Every service of the ranking area on one store; ``clock`` moves by hand."""

    store: MemoryStore
    clock: ManualClock
    scorer: Scorer
    engagement: Engagement
    videos: Videos
    ranking: Ranking
    stats: Stats
    profiles: Profiles
    moments: Moments
    config: Config
    feeds: Feeds

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, clock=self.clock)

    async def add_user(
        self, nickname: str, *, time_zone: str = "UTC", role: Role = Role.USER,
        **fields: Any,
    ) -> Principal:
        async with self.uow() as tx:
            user = await tx.users.add(User(
                id=0, email=f"{nickname}@example.com", nickname=nickname,
                created_at=self.clock.now(), email_verified=True, role=role,
                time_zone=time_zone, **fields,
            ))
        return Principal(user_id=user.id, role=role, session_id=0)

    def user(self, user_id: int) -> User:
        return self.store.users[user_id]

    async def post(self, who: Principal, visibility: str = "public") -> Video:
        """Publish a video (stamped with the moment it answers), still processing."""
        staged = StagedBlob(key=new_key("videos", "source"), size=1000, container="mp4")
        return (await self.videos.publish(who, staged, None, visibility)).video

    async def make_ready(self, video_id: int) -> Video:
        """What Processing does once the file is good: READY, then the Scorer."""
        now = self.clock.now()
        async with self.uow() as tx:
            current = await tx.videos.get_for_update(video_id)
            assert current.status is VideoStatus.PROCESSING
            done = await tx.videos.update(
                attrs.evolve(current, status=VideoStatus.READY, ready_at=now, updated_at=now)
            )
            await self.scorer.video_ready(tx, done)
        return done

    async def ready_post(self, who: Principal, visibility: str = "public") -> Video:
        return await self.make_ready((await self.post(who, visibility)).id)

    async def set_status(self, user_id: int, status: AccountStatus) -> None:
        async with self.uow() as tx:
            user = await tx.users.get_for_update(user_id)
            await tx.users.update(attrs.evolve(user, status=status))

    async def befriend(self, a: int, b: int) -> None:
        async with self.uow() as tx:
            await tx.social.add_friendship(a, b, self.clock.now())


def make_world(
    start: datetime = T0, rules: MomentRules = RULES, *, bereal_lock: bool = False,
    throttle_multiplier: float = 1000,
) -> World:
    store = MemoryStore()
    clock = ManualClock(start)
    uow = functools.partial(InMemoryUnitOfWork, store, clock=clock)
    # The BeReal lock off by default: these tests react to friends' moments without
    # posting first.
    config = runtime_config(uow, clock, bereal_lock=bereal_lock)
    throttle = Throttle(
        InMemoryRateLimiter(clock), multiplier=throttle_multiplier, config=config
    )
    scorer = Scorer(clock=clock)
    moments = Moments(rules)
    return World(
        store=store,
        clock=clock,
        scorer=scorer,
        engagement=Engagement(
            uow=uow, clock=clock, throttle=throttle, notifier=Notifier(), scorer=scorer,
            config=config,
        ),
        videos=Videos(
            uow=uow, blobs=InMemoryBlobStore("http://media.test", b"blob secret", clock=clock),
            images=PillowImageProcessor(), clock=clock, throttle=throttle, moments=moments,
            scorer=scorer, config=config,
        ),
        ranking=Ranking(uow=uow, clock=clock, scorer=scorer, moment_rules=rules),
        stats=Stats(uow=uow, clock=clock),
        profiles=Profiles(
            uow=uow, clock=clock,
            hasher=Argon2PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
            throttle=throttle, scorer=scorer,
        ),
        moments=moments,
        config=config,
        feeds=Feeds(uow=uow, clock=clock, config=config),
    )
