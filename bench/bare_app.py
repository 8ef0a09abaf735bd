"""The HTTP ceiling: a bare aiohttp JSON route served the way ``momentic serve`` serves
(``--workers`` processes on one port with SO_REUSEPORT, uvloop, no access log), with no
middleware, no database, nothing else. ``GET /json``: a small body (k6's ``http`` row);
``GET /items``: a page of 20 items (wrk's ``peaks`` rows).

    .venv/bin/python bench/bare_app.py --port 8099 [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import uvloop
from aiohttp import web

BODY = {"id": 1, "nickname": "bench", "items": [{"id": i, "kind": "heart"} for i in range(3)]}
# GET /items: a page of 20 items (the ceiling of the wrk peaks, issue 19).
ITEMS = {
    "items": [
        {"id": 10_000 - i, "author": {"id": i, "nickname": f"bench{i}"}, "caption": "bench",
         "counts": {"heart": i, "flame": 0, "funny": 1, "angry": 0, "comments": 2},
         "my_reaction": None, "created_at": "2026-12-07T10:00:00Z"}
        for i in range(20)
    ],
    "next_cursor": "bench",
}


async def hello(request: web.Request) -> web.Response:
    return web.json_response(BODY)


async def items(request: web.Request) -> web.Response:
    return web.json_response(ITEMS)


def serve(port: int, reuse_port: bool) -> None:
    app = web.Application()
    app.router.add_get("/json", hello)
    app.router.add_get("/items", items)
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=reuse_port, print=None,
                access_log=None, loop=uvloop.new_event_loop())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                serve(args.port, reuse_port=True)
            finally:
                os._exit(0)
        children.append(pid)

    def stop(signum: int, frame: object) -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in children:
        try:
            os.wait()
        except ChildProcessError:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
