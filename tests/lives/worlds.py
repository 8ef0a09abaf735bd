"""Two worlds for the model-based test: the same composition root (``Composition``) on the
in-memory adapters and on PostgreSQL, sharing one manual clock and one server secret (so
the daily moments fall alike).

Ids differ between the worlds (the memory store has one counter for every table, a
PostgreSQL sequence skips the values of rolled-back inserts), so the machine names what
it creates with logical numbers and each world maps them to its own ids. ``rows`` reads a
world's whole state in logical terms, straight from its tables (the store's dicts, or
SQL), so two worlds can be compared and counters checked against the rows they count.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from adapters.config import Settings
from adapters.container import Composition, postgres_storage, resolve
from adapters.http.keys import Services
from adapters.memory.clock import ManualClock
from adapters.memory.mail import InMemoryMailer
from adapters.memory.store import MemoryStore
from adapters.postgres.db import create_pool
from momentic_core.model.jobs import SendMail
from momentic_core.services.jobs import Worker
from momentic_core.services.ranking import schedule_ranking

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday, before any moment
KINDS = ("user", "video", "comment")


def lives_settings(data_dir: Path, **more: Any) -> Settings:
    return Settings(
        secret="the lives machine",  # the same in both worlds: the same daily moments
        data_dir=str(data_dir),
        storage="memory",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        rate_limit_multiplier=10_000.0,
        access_token_ttl_seconds=400 * 86400,
        inprocess_worker=False,
        **more,
    )


def _sorted(rows: Any) -> list[Any]:
    """A row set in a fixed order (None sorts beside numbers by its repr)."""
    return sorted(rows, key=repr)


class World:
    """One backend, its services, and the logical names of what the machine made."""

    def __init__(self, name: str, backend: Composition, mailer: InMemoryMailer) -> None:
        self.name = name
        self.backend = backend
        self.mailer = mailer
        self.services: Services
        self.worker: Worker
        self.store: MemoryStore | None = None
        self.conn: asyncpg.Pool | None = None
        self._to_real: dict[str, dict[int, int]] = {k: {} for k in KINDS}
        self._to_logical: dict[str, dict[int, int]] = {k: {} for k in KINDS}
        self.tokens: dict[int, str] = {}  # logical user -> access token

    async def start(self) -> None:
        self.services = await self.backend.start()
        self.worker = await self.backend.worker()

    async def stop(self) -> None:
        await self.backend.stop()

    def bind(self, kind: str, logical: int, real: int) -> None:
        self._to_real[kind][logical] = real
        self._to_logical[kind][real] = logical

    def real(self, kind: str, logical: int) -> int:
        """The world's id of a logical one; an id nothing has (-1... ) when the thing
        was never made in this world (its creation failed)."""
        return self._to_real[kind].get(logical, -1 - logical)

    def logical(self, kind: str, real: int | None) -> Any:
        if real is None:
            return None
        return self._to_logical[kind].get(real, f"{kind}?{real}")

    async def run_jobs(self) -> int:
        """Run every job that is due, as the job worker would."""
        ran = 0
        while await self.worker.run_once() is not None:
            ran += 1
        return ran

    async def mail_settled(self) -> None:
        """Send every queued mail and wait until no mail job is queued or running (on
        PostgreSQL the instance's mail worker may hold one): every mail has arrived."""
        storage = await resolve(self.backend.container.storage())
        async with asyncio.timeout(5.0):
            while True:
                await self.backend.deliver_mail()
                backlog = {b.kind: b for b in await storage.runner.backlog()}
                mail = backlog.get(SendMail.kind)
                if mail is None or mail.queued + mail.running == 0:
                    return
                await asyncio.sleep(0.01)

    async def accounts_with(self, email: str) -> int:
        """How many accounts hold this address (straight from the rows)."""
        if self.store is not None:
            return sum(1 for u in self.store.users.values() if u.email == email)
        assert self.conn is not None
        n: int = await self.conn.fetchval("SELECT count(*) FROM users WHERE email = $1", email)
        return n

    async def hourly(self) -> None:
        """What the janitor clock queues every hour (broken streaks, announcements)."""
        storage = await resolve(self.backend.container.storage())
        ranking = self.services.ranking
        await schedule_ranking(ranking, storage.uow)
        await self.run_jobs()

    # ------------------------------------------------------------------ the rows

    async def rows(self) -> dict[str, Any]:
        raw = await (self._memory_rows() if self.store is not None else self._pg_rows())
        return self._normalize(raw)

    def _normalize(self, raw: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
        """Logical ids everywhere; row sets as sorted lists (order is no fact)."""
        u = lambda i: self.logical("user", i)  # noqa: E731
        v = lambda i: self.logical("video", i)  # noqa: E731
        c = lambda i: self.logical("comment", i)  # noqa: E731
        target = {"video": v, "comment": c, "user": u}
        out: dict[str, Any] = {
            "users": _sorted((u(r[0]), *r[1:]) for r in raw["users"]),
            "videos": _sorted((v(r[0]), u(r[1]), *r[2:]) for r in raw["videos"]),
            "comments": _sorted(
                (c(r[0]), v(r[1]), u(r[2]), c(r[3]), *r[4:]) for r in raw["comments"]
            ),
            "reactions": _sorted((v(r[0]), u(r[1]), r[2]) for r in raw["reactions"]),
            "likes": _sorted((c(r[0]), u(r[1])) for r in raw["likes"]),
            "friendships": _sorted((u(a), u(b)) for a, b in raw["friendships"]),
            "requests": _sorted((u(a), u(b)) for a, b in raw["requests"]),
            "blocks": _sorted((u(a), u(b)) for a, b in raw["blocks"]),
            "mutes": _sorted((u(a), u(b)) for a, b in raw["mutes"]),
            # A day's 0 points and no row for the day are the same fact.
            "points": _sorted((u(r[0]), r[1], r[2]) for r in raw["points"] if r[2]),
            "notifications": _sorted(
                Counter(
                    (u(r[0]), r[1], u(r[2]), v(r[3]), c(r[4]), r[5], r[6] is not None)
                    for r in raw["notifications"]
                ).items(),
            ),
            "cases": _sorted(
                (
                    (r[0], target[r[0]](r[1]), u(r[2]), r[3], r[4], r[5], r[6], u(r[7]))
                    for r in raw["cases"]
                ),
            ),
            "reports": _sorted((r[0], target[r[0]](r[1]), u(r[2]), r[3]) for r in raw["reports"]),
        }
        return out

    async def _memory_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        s = self.store
        assert s is not None
        async with s.lock:
            cases = dict(s.cases)
            return {
                "users": [
                    (
                        x.id,
                        x.role.value,
                        x.status.value,
                        x.time_zone,
                        x.rating,
                        x.current_streak,
                        x.max_streak,
                        x.max_reactions,
                        x.last_post_day,
                        x.suspended_until,
                    )
                    for x in s.users.values()
                ],
                "videos": [
                    (
                        x.id,
                        x.author_id,
                        x.visibility.value,
                        x.status.value,
                        x.description,
                        *(x.reactions[k] for k in ("heart", "flame", "funny", "angry")),
                        x.comment_count,
                        x.on_time,
                        x.created_at,
                        x.moment_at,
                    )
                    for x in s.videos.values()
                ],
                "comments": [
                    (
                        x.id,
                        x.video_id,
                        x.author_id,
                        x.parent_id,
                        x.body,
                        x.like_count,
                        x.reply_count,
                        x.hidden,
                        x.edited_at is not None,
                    )
                    for x in s.comments.values()
                ],
                "reactions": [(v, uid, r.kind.value) for (v, uid), r in s.reactions.items()],
                "likes": list(s.comment_likes),
                "friendships": list(s.friendships),
                "requests": list(s.friend_requests),
                "blocks": list(s.blocks),
                "mutes": list(s.mutes),
                "points": [(uid, d, p) for (uid, d), p in s.rating_points.items()],
                "notifications": [
                    (
                        n.user_id,
                        n.kind.value,
                        n.actor_id,
                        n.video_id,
                        n.comment_id,
                        n.text,
                        n.read_at,
                    )
                    for n in s.notifications.values()
                ],
                "cases": [
                    (
                        x.target_type.value,
                        x.target_id,
                        x.owner_id,
                        x.status.value,
                        x.report_count,
                        x.held,
                        x.action.value if x.action else None,
                        x.decided_by,
                    )
                    for x in cases.values()
                ],
                "reports": [
                    (
                        cases[r.case_id].target_type.value,
                        cases[r.case_id].target_id,
                        r.reporter_id,
                        r.reason.value,
                    )
                    for r in s.reports.values()
                ],
            }

    async def _pg_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        assert self.conn is not None
        queries = {
            "users": "SELECT id, role, status, time_zone, rating, current_streak, max_streak,"
            " max_reactions, last_post_day, suspended_until FROM users",
            "videos": "SELECT id, author_id, visibility, status, description, heart_count,"
            " flame_count, funny_count, angry_count, comment_count, on_time, created_at,"
            " moment_at FROM videos",
            "comments": "SELECT id, video_id, author_id, parent_id, body, like_count,"
            " reply_count, hidden, edited_at IS NOT NULL FROM comments",
            "reactions": "SELECT video_id, user_id, kind FROM reactions",
            "likes": "SELECT comment_id, user_id FROM comment_likes",
            "friendships": "SELECT user_id, friend_id FROM friendships",
            "requests": "SELECT from_id, to_id FROM friend_requests",
            "blocks": "SELECT blocker_id, blocked_id FROM blocks",
            "mutes": "SELECT muter_id, muted_id FROM mutes",
            "points": "SELECT user_id, day, points FROM rating_points",
            "notifications": "SELECT user_id, kind, actor_id, video_id, comment_id, text,"
            " read_at FROM notifications",
            "cases": "SELECT target_type, target_id, owner_id, status, report_count, held,"
            " action, decided_by FROM cases",
            "reports": "SELECT c.target_type, c.target_id, r.reporter_id, r.reason"
            " FROM reports r JOIN cases c ON c.id = r.case_id",
        }
        async with self.conn.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            return {
                name: [tuple(r.values()) for r in await conn.fetch(sql)]
                for name, sql in queries.items()
            }


# ---------------------------------------------------------------------------------------


class Worlds:
    """What one test run keeps across examples: an event loop, a pool on this run's
    database and its reset script. ``fresh()`` gives two new worlds on empty tables."""

    def __init__(self, database_url: str, reset_script: str, data_dir: Path) -> None:
        # A loop of its own, on a thread of its own: the test is synchronous (hypothesis
        # drives it) while pytest-asyncio keeps its session loop in this thread.
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="lives", daemon=True)
        self._thread.start()
        self.url = database_url
        self.reset_script = reset_script
        self.data_dir = data_dir
        self.pool: asyncpg.Pool = self.run(
            create_pool(database_url, min_size=1, max_size=6, command_timeout=30)
        )
        self._runs = itertools.count()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def fresh(self) -> tuple[ManualClock, list[World]]:
        clock = ManualClock(START)
        async with self.pool.acquire() as conn:
            await conn.execute(self.reset_script)
        n = next(self._runs)
        memory_mail, pg_mail = InMemoryMailer(), InMemoryMailer()
        memory = World(
            "memory",
            Composition(
                lives_settings(self.data_dir / f"m{n}", memory=True),
                clock=clock,
                mailer=memory_mail,
            ),
            memory_mail,
        )
        pg_settings = lives_settings(self.data_dir / f"p{n}", database_url=self.url)
        postgres = World(
            "postgres",
            Composition(
                pg_settings,
                clock=clock,
                mailer=pg_mail,
                storage=postgres_storage(self.pool, self.url, clock),
            ),
            pg_mail,
        )
        postgres.conn = self.pool
        for world in (memory, postgres):
            await world.start()
        storage = await resolve(memory.backend.container.storage())
        memory.store = storage.uow.args[0]
        return clock, [memory, postgres]

    def close(self) -> None:
        self.run(self.pool.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()
