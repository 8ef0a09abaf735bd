"""Feed items rendered once per process (issue 19 item 3).

A feed page is one statement that already brings each item's video and author rows; what
the page then costs in Python is turning them into JSON: ``FeedItemOut.of`` and cattrs'
unstructure, about 20 us an item (bench/feed_costs.py). ``RenderedItems`` keeps, per video
id, the unstructured item of the last rendering together with the ``Video`` and
``FeedAuthor`` it was rendered from, and reuses it only when the page's video and author
are *equal* to those (attrs equality over every field: caption, visibility, status, keys,
counters, the author's nickname, names, avatar, privacy; a field added later is compared
too). The rendering reads nothing else (the author's public part is all a feed row
brings). So nothing can serve a stale item: a removed video, a changed caption or count,
an author's new name or avatar or a visibility change are in the rows the page's own
statement read on whichever instance answers, and a row that differs renders again; a
banned or suspended author's videos are not in the rows at all (the statement leaves
them out). No event, channel or clock is needed for correctness; the bound (``size``
videos, least recently used first) is for memory only.

Merged at each answer, never kept: what depends on the viewer (my reaction, in both
places it shows) and every media URL (``views.video_urls``, ``views.avatar_url``: signed
URLs and tokens expire, and their lifetime follows the visibility in force). Items behind
the BeReal lock are rendered as before (they are sealed per viewer).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import attrs
import orjson
from aiohttp import web

from adapters.http.converter import unstructure
from adapters.http.views import FeedItemOut, MediaUrl, ShareUrl, avatar_url, video_urls
from momentic_core.model.accounts import FeedAuthor
from momentic_core.model.social import FeedItem
from momentic_core.model.videos import Video

Rendered = dict[str, Any]


class RenderedItems:
    SIZE = 5_000  # videos; an entry is ~4 KB (the item's dict and its two models): ~20 MB

    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._items: OrderedDict[int, tuple[Video, FeedAuthor, ShareUrl | None, Rendered]] = (
            OrderedDict()
        )
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def render(
        self, items: list[FeedItem], media_url: MediaUrl, share_url: ShareUrl | None
    ) -> list[Rendered]:
        """The items as ``unstructure(FeedItemOut.of(item, media_url, share_url))`` gives
        them, key for key."""
        return [self._one(item, media_url, share_url) for item in items]

    def _one(self, item: FeedItem, media_url: MediaUrl, share_url: ShareUrl | None) -> Rendered:
        if item.locked:
            return unstructure(FeedItemOut.of(item, media_url, share_url))  # type: ignore[no-any-return]
        video, author = item.video, item.author
        known = self._items.get(video.id)
        if (known is not None and known[2] is share_url and known[0] == video
                and known[1] == author):
            self._items.move_to_end(video.id)
            self.hits += 1
            return _merge(known[3], item, media_url)
        self.misses += 1
        rendered: Rendered = unstructure(FeedItemOut.of(item, media_url, share_url))
        self._items[video.id] = (video, author, share_url, rendered)
        self._items.move_to_end(video.id)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        return _merge(rendered, item, media_url)


def _merge(template: Rendered, item: FeedItem, media_url: MediaUrl) -> Rendered:
    """A copy of ``template`` (never changed: the cache keeps it) with this answer's
    viewer part and URLs."""
    video = template["video"].copy()
    author = video["author"] = video["author"].copy()
    author["avatar_url"] = avatar_url(item.author, media_url)
    video["playback_url"], video["hls_url"], video["thumbnail_url"] = video_urls(
        item.video, media_url, locked=False
    )
    video["my_reaction"] = item.my_reaction
    out = template.copy()
    out["video"] = video
    out["reactions"] = dict(item.reactions)
    out["my_reaction"] = item.my_reaction
    out["comment_count"] = item.comment_count
    return out


ITEMS = web.AppKey("rendered_items", RenderedItems)


def page_response(view: Any, field: str, items: list[Rendered]) -> web.Response:
    """``view`` (an attrs page view whose ``field`` lists FeedItemOut, given empty) as
    JSON with ``items`` in that field, as ``common.json_response`` would encode it."""
    assert attrs.has(type(view)) and getattr(view, field) == []
    body = unstructure(view)
    body[field] = items
    return web.Response(body=orjson.dumps(body), content_type="application/json")
