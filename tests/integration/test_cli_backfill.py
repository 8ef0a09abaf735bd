"""``momentic backfill search|hls|hashes`` on PostgreSQL and the local blob store, over
videos as the migrations 73, 75 and 79 left those stored before them: each fills in what
they lack with a progress bar, reports what it could not, and a second run does nothing
more."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from adapters.cli.main import main
from adapters.config import Settings
from adapters.container import Composition, resolve
from momentic_core.model.jobs import PackageHls
from momentic_core.model.videos import Video, VideoStatus, Visibility

FILES = {1: b"first clip " * 1000, 2: b"first clip " * 1000, 3: b"third clip"}


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _seed() -> list[int]:
    """Three of ann's ready videos, stored as before migration 73: files, no hash, no HLS
    (videos 1 and 2 are the same file)."""
    backend = Composition(Settings.from_env())
    async with backend as s:
        ann = await s.accounts.find_by_email("ann@bsu.by")
        storage = await resolve(backend.container.storage())
        ids = []
        for n, data in FILES.items():
            key = f"videos/{n:032x}/source"
            await s.blobs.put_stream(key, _one(data), "video/mp4")
            async with storage.uow() as tx:
                video = await tx.videos.add(Video(
                    id=0, author_id=ann.id, description=f"#old clip{n}",
                    visibility=Visibility.PUBLIC, status=VideoStatus.READY,
                    created_at=s.clock.now(), updated_at=s.clock.now(), source_key=key,
                    playback_key=key))
            ids.append(video.id)
    return ids


async def _sql(url: str, statement: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(statement))
    finally:
        await conn.close()


def test_backfill_search_hls_and_hashes(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["users", "create", "--email", "ann@bsu.by", "--password",
                 "correct horse battery"]) == 0
    ids = asyncio.run(_seed())
    asyncio.run(_sql(cli_env, "UPDATE videos SET search_words = NULL"))
    asyncio.run(_sql(cli_env, "DELETE FROM video_hashtags"))
    capsys.readouterr()

    assert main(["backfill", "search", "--batch", "2"]) == 0
    done = capsys.readouterr()
    assert done.out == "indexed 3 video(s) for search\n"
    assert "indexing descriptions" in done.err and "3/3" in done.err  # the progress bar
    tags = asyncio.run(_sql(cli_env, "SELECT video_id FROM video_hashtags WHERE tag = 'old'"))
    assert sorted(r["video_id"] for r in tags) == ids
    assert main(["backfill", "search"]) == 0
    assert capsys.readouterr().out == "indexed 0 video(s) for search\n"

    assert main(["backfill", "hashes", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "hashed 2 video(s)",
        f"  video {ids[1]} left unhashed: the same file as video {ids[0]} "
        f"(author {_author(cli_env)})",
    ]
    hashes = asyncio.run(_sql(cli_env, "SELECT id, content_hash FROM videos ORDER BY id"))
    assert [r["content_hash"] for r in hashes] == [
        hashlib.sha256(FILES[1]).hexdigest(), None, hashlib.sha256(FILES[3]).hexdigest()]
    assert main(["backfill", "hashes", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["seen"], again["done"], again["missing"]) == (1, 0, [])
    assert again["duplicates"] == [
        {"video_id": ids[1], "author_id": _author(cli_env), "kept_video_id": ids[0]}]

    # The third's MP4 would not package (a package_hls job kept why): passed over.
    asyncio.run(_sql(cli_env, f"UPDATE videos SET hls_error = 'undecodable' WHERE id = {ids[2]}"))
    skipped = ("  skipped 1 video(s) whose MP4 would not package (videos.hls_error): they keep"
               " playing as MP4\n")
    assert main(["backfill", "hls"]) == 0
    assert capsys.readouterr().out == (
        "queued HLS packaging for 2 video(s); the job workers (momentic worker) package them\n"
        + skipped)
    assert main(["backfill", "hls"]) == 0
    assert capsys.readouterr().out == (
        "queued HLS packaging for 0 video(s); 2 already queued\n" + skipped)
    assert main(["backfill", "hls", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["failed"] == 1
    jobs = asyncio.run(_sql(
        cli_env, f"SELECT payload FROM jobs WHERE kind = '{PackageHls.kind}' ORDER BY id"))
    assert [json.loads(r["payload"])["video_id"] for r in jobs] == ids[:2]


def _author(url: str) -> int:
    rows = asyncio.run(_sql(url, "SELECT id FROM users WHERE email = 'ann@bsu.by'"))
    return int(rows[0]["id"])
