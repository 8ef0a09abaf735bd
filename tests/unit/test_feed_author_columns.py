"""Every feed statement on PostgreSQL (friends, global, For-You pages, hashtag, video
search) brings the author's public part into the process, and nothing else of the
author: no email, no password hash, no account state (the statements judge that in SQL).
The rows map to ``FeedAuthor``, field for field."""

from __future__ import annotations

import itertools
import re

import attrs
import pytest

from adapters.postgres.search import hashtag_videos_sql, video_search_sql
from adapters.postgres.social import SNAPSHOT_PAGE_SQL, friends_feed_sql, global_feed_sql
from momentic_core.model.accounts import FeedAuthor

_KEYSETS = list(itertools.product((False, True), (False, True)))
STATEMENTS = {
    **{f"friends {c}/{n}": friends_feed_sql(cursor=c, newer=n) for c, n in _KEYSETS},
    **{f"global {c}/{n}": global_feed_sql(cursor=c, newer=n) for c, n in _KEYSETS},
    **{f"hashtag {c}/{n}": hashtag_videos_sql(cursor=c, newer=n) for c, n in _KEYSETS},
    **{f"search {c}/{n}": video_search_sql(cursor=c, newer=n) for c, n in _KEYSETS},
    "for-you page": SNAPSHOT_PAGE_SQL,
}


@pytest.mark.parametrize("sql", STATEMENTS.values(), ids=STATEMENTS.keys())
def test_a_feed_row_holds_the_authors_public_part_only(sql: str) -> None:
    selected = set(re.findall(r"\bu\.(\w+) AS u_\1\b", sql))
    assert selected == set(attrs.fields_dict(FeedAuthor))
    assert "u.*" not in sql
    for secret in ("email", "password_hash", "token_version", "status", "role"):
        assert not re.search(rf"\bAS u_{secret}\b", sql), secret
