"""Typed application and request state keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # the keys name these types in strings only
    from adapters.http.app import HttpOptions, Services  # noqa: F401
    from adapters.http.live import Hub  # noqa: F401
    from adapters.http.metrics import Metrics  # noqa: F401
    from momentic_core.model.accounts import Principal, RateDecision  # noqa: F401

SERVICES = web.AppKey["Services"]("services")
OPTIONS = web.AppKey["HttpOptions"]("options")
HUB = web.AppKey["Hub"]("hub")
METRICS = web.AppKey["Metrics"]("metrics")
# (METHOD, path template) of the operations that take a bearer token, from the OpenAPI
# document: where the per-IP count may wait for the per-user one (app.ip_rate_limit_middleware).
AUTHENTICATED = web.AppKey[frozenset[tuple[str, str]]]("authenticated")

PRINCIPAL = web.RequestKey["Principal"]("principal")
USER_ID = web.RequestKey[int]("user_id")
RATE = web.RequestKey["RateDecision"]("rate")
# The caller's address, when its per-IP counter waits to go with the per-user one
# (requests that carry a bearer token: one statement for both).
IP_PENDING = web.RequestKey[str]("ip_pending")
