"""No request that only reads writes to the database (ARCHITECTURE.md), on PostgreSQL:
the rate limits counted on every request (api:user, api:ip) live per process, or in Redis
when one is configured, never in a committed row per request.

The proof is the whole database before and after a round of reads: every application
table's rows, hashed. And with Redis, two instances share one count exactly, which the
per-process default does not (README: rate limits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as redis
from signup_support import FAST_HASH, new_user_auth

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.memory.mail import InMemoryMailer
from momentic_core.services.throttle import DEFAULT_LIMITS

READS = [
    "/v1/me",
    "/v1/config",
    "/v1/feed/global",
    "/v1/feed/friends",
    "/v1/notifications",
    "/v1/friends",
    "/v1/ranking?scope=global&period=week",
]


def _settings(database_url: str, tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url, "storage": "local", "data_dir": str(tmp_path),
        "secret": "reads-secret", "db_pool_min": 1, "db_pool_max": 4, **FAST_HASH,
    }
    return Settings(**(values | extra))


async def _fingerprint(pool: asyncpg.Pool) -> dict[str, str | None]:
    """Each application table's rows, hashed in a stable order."""
    async with pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT quote_ident(table_name) AS name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' "
            "AND table_name NOT LIKE '\\_yoyo%' AND table_name NOT LIKE 'yoyo%'"
        )
        return {
            row["name"]: await conn.fetchval(
                f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {row['name']} t"
            )
            for row in tables
        }


async def test_a_round_of_reads_leaves_the_database_as_it_was(
    aiohttp_client: Any, database_url: str, clean_pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(Composition(
        _settings(database_url, tmp_path), mailer=InMemoryMailer())))
    auth = await new_user_auth(client)
    assert (await client.get("/v1/me", headers=auth)).status == 200
    before = await _fingerprint(clean_pg_pool)
    assert "rate_limits" in before  # the table the per-request counts used to go to
    for _ in range(3):
        for path in READS:
            r = await client.get(path, headers=auth)
            assert r.status == 200, (path, await r.text())
            assert "X-RateLimit-Remaining" in r.headers  # counted all the same
    assert await _fingerprint(clean_pg_pool) == before


async def test_with_redis_two_instances_share_the_per_request_count_exactly(
    aiohttp_client: Any, database_url: str, clean_pg_pool: asyncpg.Pool, tmp_path: Path,
    own_redis_url: str,
) -> None:
    # api:ip scaled down to 5 a minute; /v1/config counts it and nothing else.
    multiplier = 5 / DEFAULT_LIMITS["api:ip"].count
    before = await _fingerprint(clean_pg_pool)
    url = own_redis_url
    instances = [
        await aiohttp_client(create_app(Composition(
            _settings(database_url, tmp_path / str(n), redis_url=url,
                      rate_limit_multiplier=multiplier),
            mailer=InMemoryMailer())))
        for n in range(2)
    ]
    try:
        answers = [(await instances[n % 2].get("/v1/config")).status for n in range(8)]
        assert answers == [200] * 5 + [429] * 3
        assert await _fingerprint(clean_pg_pool) == before
    finally:
        store = redis.Redis.from_url(url)
        await store.flushdb()
        await store.aclose()


async def test_without_redis_each_process_counts_on_its_own(
    aiohttp_client: Any, database_url: str, clean_pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The accuracy the README states: per process, so two instances let a client reach
    the per-request limit once in each."""
    multiplier = 5 / DEFAULT_LIMITS["api:ip"].count
    instances = [
        await aiohttp_client(create_app(Composition(
            _settings(database_url, tmp_path / str(n), rate_limit_multiplier=multiplier),
            mailer=InMemoryMailer())))
        for n in range(2)
    ]
    answers = [(await instances[n % 2].get("/v1/config")).status for n in range(12)]
    assert answers == [200] * 10 + [429] * 2


async def test_while_redis_is_down_reads_still_answer_and_sign_ins_fail_closed(
    aiohttp_client: Any, database_url: str, clean_pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The per-request counts fall back to the process; a guessable limit (sign-in)
    answers 503 rather than count nothing."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    client = await aiohttp_client(create_app(Composition(
        _settings(database_url, tmp_path, redis_url=dead, db_timeout_seconds=1),
        mailer=InMemoryMailer())))
    r = await client.get("/v1/config")
    assert r.status == 200, await r.text()
    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": "nobody@bsu.by", "password": "x" * 12})
    assert r.status == 503 and (await r.json())["code"] == "unavailable", await r.text()
