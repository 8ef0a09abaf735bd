"""The yoyo migrations: apply on an empty database, idempotently, and roll back cleanly."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from yoyo.connections import parse_uri

from adapters.postgres.db import MISSING_PARENTS, UNIQUE_CONFLICTS
from adapters.postgres.migrate import MIGRATIONS_DIR, apply_migrations, rollback_all, yoyo_url
from momentic_core.errors import Unavailable

ACCOUNTS = "20261127_01_accounts"
ACCOUNT_TABLES = {
    "users",
    "verification_codes",
    "sessions",
    "refresh_tokens",
    "external_identities",
    "rate_limits",
}
VIDEOS = "20261127_02_videos"
VIDEO_TABLES = {"videos", "uploads", "jobs"}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows} - {"_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock"}


def _indexes(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_every_migration_has_a_rollback() -> None:
    forward = sorted(
        p for p in MIGRATIONS_DIR.glob("*.sql") if not p.name.endswith(".rollback.sql")
    )
    assert forward, "no migrations found"
    for path in forward:
        assert path.with_name(path.stem + ".rollback.sql").exists(), path.name


def test_apply_on_an_empty_database_then_again_applies_nothing(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    assert _tables(url) == set()
    applied = apply_migrations(url)
    assert ACCOUNTS in applied and VIDEOS in applied
    assert ACCOUNT_TABLES | VIDEO_TABLES <= _tables(url)
    # the names db.translate_error relies on, and the one enqueue's ON CONFLICT infers
    assert {"users_email_key", "users_nickname_key", "external_identities_pkey"} <= _indexes(url)
    assert {"jobs_dedupe_key_idx", "uploads_key_key", "users_avatar_key_idx"} <= _indexes(url)
    assert apply_migrations(url) == []


def test_rollback_leaves_an_empty_database_and_apply_works_again(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    applied = apply_migrations(url)
    rolled_back = rollback_all(url)
    assert sorted(rolled_back) == sorted(applied)
    assert _tables(url) == set()
    assert not {i for i in _indexes(url) if "yoyo" not in i}  # users_avatar_key_idx too
    assert rollback_all(url) == []
    assert apply_migrations(url) == applied
    assert ACCOUNT_TABLES <= _tables(url)


def test_crossed_friend_requests_settle_into_a_friendship(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    """20261207_20: two users who asked each other become friends; no request is left
    between friends, nor between users blocked either way; other requests stay."""
    url = make_database()
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if path.name < "20261207_20_friend_requests_settle":
            (earlier / path.name).write_bytes(path.read_bytes())
    apply_migrations(url, earlier)
    with psycopg.connect(url) as conn:
        ids = [conn.execute(
            "INSERT INTO users (email, nickname, created_at) VALUES (%s, %s, now()) "
            "RETURNING id", (f"u{n}@bsu.by", f"u{n}")).fetchone()[0] for n in range(6)]
        a, b, c, d, e, f = ids
        conn.execute(
            "INSERT INTO friend_requests (from_id, to_id, created_at) VALUES "
            "(%s, %s, now() - interval '1 hour'), (%s, %s, now()),"  # a and b crossed
            "(%s, %s, now()),"  # c asked d, who is a friend already
            "(%s, %s, now()),"  # e asked f, who blocked e
            "(%s, %s, now())",  # a asked c: pending, stays
            (a, b, b, a, c, d, e, f, a, c))
        conn.execute("INSERT INTO friendships (user_id, friend_id, created_at) VALUES "
                     "(%s, %s, now()), (%s, %s, now())", (c, d, d, c))
        conn.execute("INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES "
                     "(%s, %s, now())", (f, e))
    assert "20261207_20_friend_requests_settle" in apply_migrations(url)
    with psycopg.connect(url) as conn:
        requests = conn.execute("SELECT from_id, to_id FROM friend_requests").fetchall()
        friends = set(conn.execute("SELECT user_id, friend_id FROM friendships").fetchall())
    assert requests == [(a, c)]
    assert friends == {(a, b), (b, a), (c, d), (d, c)}


def test_every_name_the_error_translation_relies_on_exists(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        ).fetchall()
    names = {r[0] for r in rows} | _indexes(database_url)
    assert set(MISSING_PARENTS) | set(UNIQUE_CONFLICTS) <= names


def test_the_migrations_path_does_not_depend_on_the_working_directory(
    make_database: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert MIGRATIONS_DIR.is_absolute()
    monkeypatch.chdir(tmp_path)
    assert ACCOUNTS in apply_migrations(make_database())


async def test_instances_starting_together_apply_each_migration_once(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    results = await asyncio.gather(*(asyncio.to_thread(apply_migrations, url) for _ in range(3)))
    did_work = [r for r in results if r]
    assert len(did_work) == 1 and ACCOUNTS in did_work[0]


def test_an_unreachable_database_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Unavailable):
        apply_migrations(f"postgresql://postgres@127.0.0.1:{port}/nothing")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db.example:5433/app", "postgresql+psycopg://u:p@db.example:5433/app"),
        ("postgres://u@localhost/app", "postgresql+psycopg://u@localhost/app"),
        (
            "postgresql://postgres:@/momentic?host=/tmp/some dir",
            "postgresql+psycopg://postgres:@/momentic?host=/tmp/some dir",
        ),
        ("postgresql+psycopg://u@h/app", "postgresql+psycopg://u@h/app"),
    ],
)
def test_yoyo_url(given: str, expected: str) -> None:
    assert yoyo_url(given) == expected


def test_a_unix_socket_url_reaches_psycopg_as_a_host_directory() -> None:
    parsed = parse_uri(yoyo_url("postgresql://postgres:@/momentic?host=/run/pg"))
    assert (parsed.scheme, parsed.hostname, parsed.database) == (
        "postgresql+psycopg",
        None,
        "momentic",
    )
    assert parsed.args == {"host": "/run/pg"}


def test_yoyo_url_refuses_other_databases() -> None:
    with pytest.raises(ValueError, match="scheme"):
        yoyo_url("mysql://u@h/app")
