"""The search index of a video's description, written with it.

``index_description`` runs on the unit of work's connection right after
``PostgresVideoRepository.add`` and ``.update`` write the video, so the description, its
search words (``videos.search_words``) and its hashtags (``video_hashtags``) commit or
roll back together. Both come from ``momentic_core.policies.search``, as the memory
adapter takes them, so the two match alike. One statement; when the description did not
change it writes nothing (the words are compared first, the tags are already there).
"""

from __future__ import annotations

from momentic_core.model.videos import Video
from momentic_core.policies.search import hashtags, search_words

from .repositories import Repository

# $1 video id, $2 search words, $3 hashtags, $4 the video's created_at.
INDEX_DESCRIPTION = """
    WITH words AS (
        UPDATE videos SET search_words = array_to_tsvector($2::text[])
        WHERE id = $1 AND search_words IS DISTINCT FROM array_to_tsvector($2::text[])
    ), gone AS (
        DELETE FROM video_hashtags WHERE video_id = $1 AND tag <> ALL ($3::text[])
    )
    INSERT INTO video_hashtags (video_id, tag, created_at)
    SELECT $1, t, $4 FROM unnest($3::text[]) AS t
    ON CONFLICT (video_id, tag) DO UPDATE SET created_at = excluded.created_at
    WHERE video_hashtags.created_at <> excluded.created_at
"""


async def index_description(repository: Repository, video: Video) -> None:
    """Index ``video``'s description (idempotent)."""
    await repository._execute(
        INDEX_DESCRIPTION,
        video.id,
        list(search_words(video.description)),
        list(hashtags(video.description)),
        video.created_at,
    )


async def index_unindexed(repository: Repository, video_ids: list[int]) -> int:
    """Index those of these videos never indexed (``search_words`` NULL: stored before
    migration 20261207_73), each locked first so that an edit cannot interleave; return
    how many. Idempotent."""
    rows = await repository._fetch(
        "SELECT id, description, created_at FROM videos"
        " WHERE id = ANY($1::bigint[]) AND search_words IS NULL ORDER BY id FOR UPDATE",
        video_ids,
    )
    for row in rows:
        await repository._execute(
            INDEX_DESCRIPTION,
            row["id"],
            list(search_words(row["description"])),
            list(hashtags(row["description"])),
            row["created_at"],
        )
    return len(rows)
