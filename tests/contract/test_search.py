"""SearchRepository and the description index, memory and PostgreSQL alike: hashtags and
search words follow the description through add, edit and delete (in the same unit of
work), pages are keyset-paged newest first, and every answer leaves out what the feeds
leave out (not ready, held, removed, friends-only of strangers, blocked either way,
banned, suspended and unverified authors). Nicknames match by prefix or pg_trgm
similarity, with the very float PostgreSQL computes."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from momentic_core.model.accounts import AccountStatus, Person
from momentic_core.model.social import FeedItem, Keyset
from momentic_core.model.videos import VideoStatus, Visibility
from momentic_core.policies import rules
from momentic_core.policies.search import search_words, similarity

from .support import T0, Adapters, add_user, add_video


def _ids(items: list[FeedItem]) -> list[int]:
    return [i.video.id for i in items]


async def _tag(backend: Adapters, viewer: int, tag: str, limit: int = 50) -> list[int]:
    async with backend.uow() as tx:
        return _ids(await tx.search.hashtag_videos(viewer, tag, None, False, limit))


async def _find(backend: Adapters, viewer: int, q: str) -> list[int]:
    async with backend.uow() as tx:
        return _ids(await tx.search.videos(viewer, search_words(q), None, False, 50))


async def _trending(backend: Adapters, viewer: int) -> list[tuple[str, int]]:
    now = T0 + timedelta(hours=1)
    async with backend.uow() as tx:
        found = await tx.search.trending(viewer, now - timedelta(hours=24), now, 50)
    return [(t.tag, t.video_count) for t in found]


async def _edit(backend: Adapters, video_id: int, **fields: object) -> None:
    async with backend.uow() as tx:
        video = await tx.videos.get_for_update(video_id)
        await tx.videos.update(attrs.evolve(video, **fields))


async def _friends(backend: Adapters, a: int, b: int) -> None:
    async with backend.uow() as tx:
        await tx.social.add_friendship(a, b, T0)


async def test_tags_follow_the_description_through_edits_and_deletion(backend: Adapters) -> None:
    author, viewer = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id, description="Sunset #Минск #travel_2026")
    assert await _tag(backend, viewer.id, "минск") == [video.id]
    assert await _tag(backend, viewer.id, "travel_2026") == [video.id]
    assert await _find(backend, viewer.id, "SUNS") == [video.id]

    await _edit(backend, video.id, description="Sunrise #dawn")
    assert await _tag(backend, viewer.id, "минск") == []
    assert await _tag(backend, viewer.id, "dawn") == [video.id]
    assert await _find(backend, viewer.id, "sunset") == []
    assert await _find(backend, viewer.id, "sunrise dawn") == [video.id]

    await _edit(backend, video.id, status=VideoStatus.FAILED)  # another write keeps them
    await _edit(backend, video.id, status=VideoStatus.READY)
    assert await _tag(backend, viewer.id, "dawn") == [video.id]

    async with backend.uow() as tx:
        await tx.videos.delete(video.id)
    assert await _tag(backend, viewer.id, "dawn") == []
    assert await _find(backend, viewer.id, "sunrise") == []


async def test_an_edit_rolled_back_leaves_the_old_tags(backend: Adapters) -> None:
    author = await add_user(backend)
    video = await add_video(backend, author.id, description="#old")
    with pytest.raises(RuntimeError):
        async with backend.uow() as tx:
            stored = await tx.videos.get_for_update(video.id)
            await tx.videos.update(attrs.evolve(stored, description="#new"))
            raise RuntimeError("the use case fails after the write")
    assert await _tag(backend, author.id, "old") == [video.id]
    assert await _tag(backend, author.id, "new") == []


async def test_a_tag_page_is_keyset_paged_newest_first(backend: Adapters) -> None:
    author, viewer = await add_user(backend), await add_user(backend)
    videos = [
        await add_video(backend, author.id, description=f"#daily {n}",
                        created_at=T0 - timedelta(minutes=n))
        for n in range(5)
    ]
    newest_first = [v.id for v in videos]
    async with backend.uow() as tx:
        first = await tx.search.hashtag_videos(viewer.id, "daily", None, False, 2)
        at = Keyset(first[-1].video.created_at, first[-1].video.id)
        older = await tx.search.hashtag_videos(viewer.id, "daily", at, False, 2)
        back = Keyset(older[0].video.created_at, older[0].video.id)
        newer = await tx.search.hashtag_videos(viewer.id, "daily", back, True, 5)
    assert _ids(first) == newest_first[:2]
    assert _ids(older) == newest_first[2:4]
    assert _ids(newer) == newest_first[:2], "newer ones, newest first"


async def test_results_leave_out_what_the_feeds_leave_out(backend: Adapters) -> None:
    viewer = await add_user(backend)
    friend, stranger = await add_user(backend), await add_user(backend)
    await _friends(backend, viewer.id, friend.id)
    blocked, blocker = await add_user(backend), await add_user(backend)
    banned = await add_user(backend, status=AccountStatus.BANNED)
    suspended = await add_user(
        backend, status=AccountStatus.SUSPENDED, suspended_until=T0 + timedelta(days=1))
    unverified = await add_user(backend, email_verified=False)
    private = await add_user(backend)
    async with backend.uow() as tx:  # a private account's videos are friends-only
        await tx.users.update(attrs.evolve(await tx.users.get_for_update(private.id),
                                           private=True))
    async with backend.uow() as tx:
        await tx.social.add_block(viewer.id, blocked.id, T0)
        await tx.social.add_block(blocker.id, viewer.id, T0)
    text = "#walk in the park"
    shown = [
        await add_video(backend, stranger.id, description=text),
        await add_video(backend, friend.id, description=text, visibility=Visibility.FRIENDS),
        await add_video(backend, viewer.id, description=text, visibility=Visibility.FRIENDS),
    ]
    for author in (blocked, blocker, banned, suspended, unverified, private):
        await add_video(backend, author.id, description=text)
    await add_video(backend, stranger.id, description=text, visibility=Visibility.FRIENDS)
    for status in (VideoStatus.PROCESSING, VideoStatus.HELD, VideoStatus.REMOVED):
        await add_video(backend, stranger.id, description=text, status=status)

    expected = sorted(v.id for v in shown)
    assert sorted(await _tag(backend, viewer.id, "walk")) == expected
    assert sorted(await _find(backend, viewer.id, "park walk")) == expected
    # Trending counts public videos only: the stranger's (the friend's is friends-only).
    assert await _trending(backend, viewer.id) == [("walk", 1)]


async def test_search_needs_every_word_as_a_prefix_folded(backend: Adapters) -> None:
    author = await add_user(backend)
    a = await add_video(backend, author.id, description="Straße Ёлка #Зима")
    b = await add_video(backend, author.id, description="street yolka")
    assert await _find(backend, author.id, "STRASSE") == [a.id]
    assert await _find(backend, author.id, "ёлк зим") == [a.id]
    assert await _find(backend, author.id, "str") == [b.id, a.id], "same time: newest id first"
    assert await _find(backend, author.id, "street зима") == []
    assert await _find(backend, author.id, "treet") == [], "a prefix of a word, not a part"


async def test_trending_counts_distinct_videos_in_the_window(backend: Adapters) -> None:
    a, b, viewer = await add_user(backend), await add_user(backend), await add_user(backend)
    await add_video(backend, a.id, description="#cats #dogs #cats")  # once per video
    await add_video(backend, b.id, description="#cats")
    await add_video(backend, b.id, description="#birds")
    await add_video(backend, b.id, description="#apples")
    await add_video(backend, a.id, description="#cats", created_at=T0 - timedelta(days=2))
    await add_video(backend, a.id, description="#future", created_at=T0 + timedelta(hours=2))
    assert await _trending(backend, viewer.id) == [
        ("cats", 2), ("apples", 1), ("birds", 1), ("dogs", 1)]
    async with backend.uow() as tx:
        await tx.social.add_block(viewer.id, b.id, T0)
    assert await _trending(backend, viewer.id) == [("cats", 1), ("dogs", 1)]
    async with backend.uow() as tx:
        now = T0 + timedelta(hours=1)
        top = await tx.search.trending(viewer.id, now - timedelta(hours=24), now, 1)
    assert [t.tag for t in top] == ["cats"]


async def test_a_video_keeps_its_first_tags_only(backend: Adapters) -> None:
    author = await add_user(backend)
    tags = [f"t{n}x" for n in range(rules.HASHTAGS_PER_VIDEO + 2)]
    video = await add_video(backend, author.id, description=" ".join("#" + t for t in tags))
    last_kept, first_dropped = tags[rules.HASHTAGS_PER_VIDEO - 1], tags[rules.HASHTAGS_PER_VIDEO]
    assert await _tag(backend, author.id, last_kept) == [video.id]
    assert await _tag(backend, author.id, first_dropped) == []


async def test_nicknames_match_by_prefix_or_similarity_best_first(backend: Adapters) -> None:
    viewer = await add_user(backend, nickname="viewer_one")
    names = ["alexander", "alex_ivanov", "alexa", "lex", "aleksei", "alx", "boris"]
    users = {n: await add_user(backend, nickname=n) for n in names}
    hidden = await add_user(backend, nickname="alex_banned", status=AccountStatus.BANNED)
    blocked = await add_user(backend, nickname="alex_blocked")
    async with backend.uow() as tx:
        await tx.social.add_block(blocked.id, viewer.id, T0)
        found = await tx.search.users(viewer.id, "alex", None, 50)
    got = [(m.user.nickname, m.score) for m in found]
    assert {n for n, _ in got} >= {"alexander", "alex_ivanov", "alexa"}
    assert "boris" not in {n for n, _ in got}
    assert hidden.id not in {m.user.id for m in found} and blocked.id not in {
        m.user.id for m in found}
    for nickname, score in got:  # PostgreSQL's similarity(), to the bit
        assert score == similarity(nickname, "alex"), nickname
    assert got == sorted(got, key=lambda ns: (-ns[1], ns[0]))
    assert users["alex_ivanov"].id in {m.user.id for m in found}

    async with backend.uow() as tx:  # keyset pages: the same list, two at a time
        paged: list[tuple[str, float]] = []
        after = None
        while True:
            page = await tx.search.users(viewer.id, "alex", after, 2)
            paged += [(m.user.nickname, m.score) for m in page]
            if len(page) < 2:
                break
            after = (page[-1].score, page[-1].user.nickname)
    assert paged == got

    async with backend.uow() as tx:  # a typo still finds them, by similarity alone
        typo = [m.user.nickname for m in await tx.search.users(viewer.id, "alexandr", None, 5)]
        me = [m.user.id for m in await tx.search.users(viewer.id, "viewer", None, 5)]
    assert typo[0] == "alexander"
    assert {type(m.user) for m in found} == {Person}  # the public part only
    assert me == [], "not myself"


async def test_the_lock_is_the_callers_the_repository_lists_friends_moments(
    backend: Adapters,
) -> None:
    viewer, friend = await add_user(backend), await add_user(backend)
    await _friends(backend, viewer.id, friend.id)
    moment = await add_video(backend, friend.id, description="#today",
                             visibility=Visibility.FRIENDS)
    assert await _tag(backend, viewer.id, "today") == [moment.id]
