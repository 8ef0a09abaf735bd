"""Every route of the old app answers the same with and without its trailing slash (the
app adds slashes; ../shared/mobile-client-contract.md). The table is the app's router:
every route whose handler is in adapters/http/legacy/routes.py, walked both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from permissions_support import World, answer_of, legacy_routes, slash_twin

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app

_APP = create_app(Composition(Settings(memory=True)))
LEGACY = legacy_routes(_APP)
# Each route once, by the spelling the app uses (the contract's: mostly with the slash).
CANONICAL = sorted({(m, p) for m, p in LEGACY if (m, slash_twin(p)) not in LEGACY
                    or p.endswith("/")})


def _handlers() -> dict[tuple[str, str], Any]:
    found = {}
    for route in _APP.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if (route.method, path) in LEGACY:
            found[(route.method, path)] = route.handler
    return found


def test_the_legacy_table_is_the_whole_contract_and_each_route_has_both_spellings() -> None:
    assert len(LEGACY) >= 34, LEGACY  # 17 routes of the contract, two spellings each
    handlers = _handlers()
    for method, path in LEGACY:
        twin = (method, slash_twin(path))
        assert twin in handlers, f"{method} {path} answers without the slash only one way"
        assert handlers[twin] is handlers[(method, path)], (method, path)
    paths = {p.rstrip("/") for _, p in LEGACY}
    for must in ("/videos", "/videos/{video_id}", "/users/{user_id}/friends/videos",
                 "/auth/login", "/user/avatar", "/ws/chat"):
        assert must in paths


def _shape(body: Any) -> Any:
    """What a client decodes, without the values that differ between two worlds."""
    if isinstance(body, dict):
        if "code" in body and "status" in body:
            return ("problem", body["code"])
        return {k: _shape(v) if isinstance(v, dict | list) else type(v).__name__
                for k, v in body.items()}
    if isinstance(body, list):
        return [_shape(body[0])] if body else []
    return type(body).__name__


@pytest.mark.parametrize("route", CANONICAL, ids=lambda r: f"{r[0]} {r[1]}")
async def test_a_legacy_route_answers_alike_with_and_without_the_slash(
    route: tuple[str, str], make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    method, path = route
    answers = []
    for spelling in (path, slash_twin(path)):
        env = await make_video_env(rate_limit_multiplier=1000)  # the same fresh world
        status, body = await answer_of(World(env, "owner", sample_clips), method, spelling)
        answers.append((status, _shape(body)))
    assert answers[0] == answers[1], (method, path, answers)
    assert answers[0][0] not in (404, 405), (method, path, answers[0])
