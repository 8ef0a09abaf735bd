"""RenderedItems (adapters/http/items.py): an item from the kept rendering is, key for key,
what rendering it afresh gives, for every viewer; URLs are made at each answer, never
kept; a changed video or author renders again; the bound holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import orjson

from adapters.http.converter import unstructure
from adapters.http.items import RenderedItems
from adapters.http.views import FeedItemOut
from momentic_core.model.accounts import FeedAuthor
from momentic_core.model.social import FeedItem
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.services.visibility import sealed_item

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


class Urls:
    """A MediaUrl whose every URL names the answer it was made for (``answer``)."""

    def __init__(self) -> None:
        self.answer = 0

    def __call__(self, key: str, /) -> str:
        return f"https://cdn/{self.answer}/{key}"

    def of_video(self, key: str, video: Video) -> str:
        return f"https://cdn/{self.answer}/{video.visibility.value}/{key}"

    def hls(self, video: Video) -> str | None:
        return f"https://cdn/{self.answer}/{video.hls_key}" if video.hls_key else None


def share(video_id: int) -> str:
    return f"https://momentic.example/v/{video_id}"


def author(n: int = 2, **fields: object) -> FeedAuthor:
    """What a feed row brings of its author (the public part)."""
    values: dict[str, object] = {
        "id": n, "nickname": f"user{n}", "avatar_key": f"avatars/{n}/avatar.jpg",
    }
    return FeedAuthor(**(values | fields))  # type: ignore[arg-type]


def item(
    n: int = 1, my: str | None = None, who: FeedAuthor | None = None, **fields: object
) -> FeedItem:
    values: dict[str, object] = {
        "id": n, "author_id": 2, "description": f"video {n} #minsk",
        "visibility": Visibility.PUBLIC, "status": VideoStatus.READY,
        "created_at": NOW - timedelta(minutes=n), "updated_at": NOW,
        "playback_key": f"videos/{n}/p.mp4", "thumbnail_key": f"videos/{n}/t.jpg",
        "hls_key": f"videos/{n}/hls/master.m3u8", "duration_seconds": 1.5, "width": 320,
        "height": 240, "ready_at": NOW, "reactions": {"heart": 3, "flame": 1, "funny": 0,
                                                      "angry": 0},
        "comment_count": 2, "view_count": 7, "moment_at": NOW - timedelta(hours=1),
    }
    video = Video(**(values | fields))  # type: ignore[arg-type]
    return FeedItem(video=video, author=who or author(), reactions=dict(video.reactions),
                    my_reaction=my, comment_count=video.comment_count)


def fresh(i: FeedItem, urls: Urls) -> bytes:
    return orjson.dumps(unstructure(FeedItemOut.of(i, urls, share)))


def kept(cache: RenderedItems, i: FeedItem, urls: Urls) -> bytes:
    return orjson.dumps(cache.render([i], urls, share)[0])


def test_a_kept_item_is_what_rendering_afresh_gives_for_every_viewer() -> None:
    cache, urls = RenderedItems(), Urls()
    variants = [
        item(), item(my="heart"), item(my="angry"),
        item(visibility=Visibility.FRIENDS), item(hls_key=None, thumbnail_key=None),
        item(who=author(avatar_key=None)), item(who=author(private=True)),
        sealed_item(item(visibility=Visibility.FRIENDS)),
        item(moment_at=None), item(on_time=True),
    ]
    for round_ in range(3):  # the first renders, the later ones come from the kept items
        for i in variants:
            urls.answer = round_
            assert kept(cache, i, urls) == fresh(i, urls)
    assert cache.hits > 0


def test_urls_are_made_at_each_answer_and_never_kept() -> None:
    cache, urls = RenderedItems(), Urls()
    first = cache.render([item()], urls, share)[0]
    urls.answer = 1  # later: the store would sign anew (or a URL expired)
    again = cache.render([item()], urls, share)[0]
    assert cache.hits == 1
    assert again["video"]["playback_url"] == "https://cdn/1/public/videos/1/p.mp4"
    assert again["video"]["hls_url"] == "https://cdn/1/videos/1/hls/master.m3u8"
    assert again["video"]["author"]["avatar_url"] == "https://cdn/1/avatars/2/avatar.jpg"
    assert first["video"]["playback_url"] == "https://cdn/0/public/videos/1/p.mp4", (
        "an answer given is never changed by a later one")


def test_what_changed_in_the_rows_renders_again() -> None:
    cache, urls = RenderedItems(), Urls()
    base = item()
    cache.render([base], urls, share)
    changes = [
        attrs.evolve(base, video=attrs.evolve(base.video, description="take two")),
        attrs.evolve(base, video=attrs.evolve(base.video, reactions={
            "heart": 4, "flame": 1, "funny": 0, "angry": 0})),
        attrs.evolve(base, video=attrs.evolve(base.video, visibility=Visibility.FRIENDS)),
        attrs.evolve(base, video=attrs.evolve(base.video, view_count=8)),
        attrs.evolve(base, author=author(nickname="renamed")),
        attrs.evolve(base, author=author(avatar_key="avatars/2/new.jpg")),
        attrs.evolve(base, author=author(name="Ann")),
        attrs.evolve(base, author=author(private=True)),  # a share link no more
    ]
    for changed in changes:
        misses = cache.misses
        assert kept(cache, changed, urls) == fresh(changed, urls)
        assert cache.misses == misses + 1
        assert kept(cache, base, urls) == fresh(base, urls)


def test_the_least_recently_used_go_first() -> None:
    cache, urls = RenderedItems(size=3), Urls()
    cache.render([item(1), item(2), item(3)], urls, share)
    cache.render([item(1)], urls, share)  # 1 is now the most recent
    cache.render([item(4)], urls, share)  # 2 goes
    assert len(cache) == 3
    misses = cache.misses
    cache.render([item(1), item(3), item(4)], urls, share)
    assert cache.misses == misses
    cache.render([item(2)], urls, share)
    assert cache.misses == misses + 1
