"""Where a feed page's time goes (issue 19 item 3): statements per request and the
Python cost of rendering a page, on the small bench dataset.

It makes the dataset and the production-like server as ``run.py`` does
(``run.environment``), then, in this process, serves the app as ``sqlcapture`` does and:

- captures each route's statements (the last of three requests);
- times, for N pages, the page's unit of work in the service (``Feeds.global_`` /
  ``Feeds.friends``: the SQL round trips and the row mapping), the views
  (``FeedItemOut.of`` per item), cattrs' unstructure and orjson's encoding, the same page
  through a warm ``RenderedItems`` (checked byte for byte against the fresh rendering);
  and the whole request through the in-process server, for scale;
- for the global page's statement alone, on one connection: the round trip (asyncpg's
  decoding included) and the mapping of its rows to FeedItems.

    PYTHONPATH=$PWD .venv/bin/python bench/feed_costs.py [--pages 300]

Prints each route's figures and writes bench/results/feed-costs.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

import asyncpg
import orjson
import run
import sqlcapture
from feeds import ADMIN_URL, HEAVY, MEDIUM, SIZES, VIEWER

from adapters.clock import SystemClock
from adapters.http import keys
from adapters.http.converter import unstructure
from adapters.http.items import RenderedItems
from adapters.http.views import FeedItemOut
from adapters.postgres.social import _item, global_feed_query
from momentic_core.model.accounts import Principal, Role

ROUTES = {
    "global": (VIEWER, "/v1/feed/global?limit=20"),
    "friends_200": (MEDIUM, "/v1/feed/friends?limit=20"),
    "friends_2000": (HEAVY, "/v1/feed/friends?limit=20"),
}


def _ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def measure(pages: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with run.environment(SIZES["small"], 1, ADMIN_URL, keep=False) as env:
        async with sqlcapture.in_process_app(env.environ) as client:
            svc = client.app[keys.SERVICES]
            for name, (user, path) in ROUTES.items():
                captured = await sqlcapture.capture(client, name, "GET", path, env.headers[user])
                who = Principal(user_id=user, role=Role.USER, session_id=0)
                t_svc, t_view, t_unst, t_json, t_req = [], [], [], [], []
                t_kept, t_kept_json = [], []
                kept = RenderedItems()
                size = 0
                for _ in range(pages):
                    a = time.perf_counter()
                    if name == "global":
                        page = await svc.feeds.global_(who, None, False, 20)
                    else:
                        _, page = await svc.feeds.friends(who, None, None, False, 20)
                    b = time.perf_counter()
                    views = [FeedItemOut.of(i, svc.media_url, svc.share_url) for i in page.items]
                    c = time.perf_counter()
                    data = unstructure(views)
                    d = time.perf_counter()
                    body = orjson.dumps(data)
                    e = time.perf_counter()
                    size = len(body)
                    f = time.perf_counter()
                    rendered = kept.render(page.items, svc.media_url, svc.share_url)
                    g = time.perf_counter()
                    assert orjson.dumps(rendered) == body
                    h = time.perf_counter()
                    orjson.dumps(rendered)
                    t_kept.append(g - f)
                    t_kept_json.append(time.perf_counter() - h)
                    t_svc.append(b - a)
                    t_view.append(c - b)
                    t_unst.append(d - c)
                    t_json.append(e - d)
                for _ in range(pages):
                    a = time.perf_counter()
                    async with client.get(path, headers=env.headers[user]) as r:
                        await r.read()
                    t_req.append(time.perf_counter() - a)
                out[name] = {
                    "statements": len(captured.statements),
                    "sql": captured.describe(),
                    "items": len(page.items),
                    "body_bytes": size,
                    "median_ms": {
                        "service (SQL + rows)": _ms(t_svc),
                        "views (FeedItemOut.of)": _ms(t_view),
                        "cattrs unstructure": _ms(t_unst),
                        "orjson dumps": _ms(t_json),
                        "kept items (RenderedItems, warm)": _ms(t_kept),
                        "orjson dumps of kept items": _ms(t_kept_json),
                        "whole request, in process": _ms(t_req),
                    },
                }
                print(name, json.dumps(out[name], indent=1), flush=True)
            out["global"]["median_ms"].update(await _split(env.url, pages))
            print("global split", json.dumps(out["global"]["median_ms"], indent=1))
    return out


async def _split(url: str, pages: int) -> dict[str, float]:
    """The global page's statement on one connection: the round trip (asyncpg decoding
    included) and the mapping of its rows to FeedItems (``_item``)."""
    conn = await asyncpg.connect(url)
    try:
        sql, args = global_feed_query(VIEWER, None, False, 21, SystemClock().now())
        fetch, mapping = [], []
        for _ in range(pages):
            a = time.perf_counter()
            rows = await conn.fetch(sql, *args)
            b = time.perf_counter()
            [_item(r) for r in rows]
            fetch.append(b - a)
            mapping.append(time.perf_counter() - b)
        return {"statement round trip (asyncpg)": _ms(fetch), "rows -> FeedItems": _ms(mapping)}
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=300)
    args = parser.parse_args()
    result = asyncio.run(measure(args.pages))
    out = run.RESULTS_DIR / "feed-costs.json"
    out.write_text(json.dumps({"pages": args.pages, "loadavg": os.getloadavg(), **result},
                              indent=1) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
