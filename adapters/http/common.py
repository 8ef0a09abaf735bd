"""Helpers every handler uses: reading bodies, the caller's identity, JSON answers."""

from __future__ import annotations

import json
import unicodedata
from typing import Any, TypeVar

from aiohttp import web

from adapters.http import keys
from adapters.http.app import MalformedBody, Services, client_ip
from adapters.http.converter import structure, unstructure
from momentic_core.errors import Invalid, Unauthenticated
from momentic_core.model.accounts import Principal
from momentic_core.policies.rules import CONTROL_CATEGORIES, DEVICE_NAME_MAX
from momentic_core.services.accounts import DeviceInfo

T = TypeVar("T")


def services(request: web.Request) -> Services:
    return request.app[keys.SERVICES]


async def read_json(request: web.Request) -> Any:
    """The parsed JSON body. Raises Invalid(code="malformed_json" | "body_required");
    a body over the limit answers 413 (aiohttp raises it while reading)."""
    raw = await request.read()
    if not raw.strip():
        raise Invalid("A JSON body is required.", code="body_required")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MalformedBody("The body is not valid JSON.") from None


async def read_body(request: web.Request, cls: type[T]) -> T:
    return structure(await read_json(request), cls)


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.json_response(unstructure(value), status=status)


def device(request: web.Request, name: str | None = None) -> DeviceInfo:
    """Where the request comes from. A ``device_name`` the client chose is validated by the
    core; the User-Agent stands in for it, cut to what a session keeps (browsers send
    longer ones) and without control characters, so a header alone never fails a sign-in."""
    if not name:
        agent = request.headers.get("User-Agent", "")
        name = "".join(ch for ch in agent if unicodedata.category(ch) not in CONTROL_CATEGORIES)
        name = name.strip()[:DEVICE_NAME_MAX] or None
    return DeviceInfo(ip=client_ip(request), name=name)


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send an access token: Authorization: Bearer <token>.",
                              code="missing_token")
    return token.strip()


async def principal(request: web.Request) -> Principal:
    """The verified caller; counts the per-user rate limit. Cached on the request."""
    cached: Principal | None = request.get(keys.PRINCIPAL)
    if cached is not None:
        return cached
    svc = services(request)
    who = await svc.accounts.authenticate(bearer_token(request))
    request[keys.PRINCIPAL] = who
    request[keys.USER_ID] = who.user_id
    request[keys.RATE] = await svc.throttle.check("api:user", str(who.user_id))
    return who


async def optional_principal(request: web.Request) -> Principal | None:
    if "Authorization" not in request.headers:
        return None
    return await principal(request)


def bool_query(request: web.Request, name: str, default: bool = False) -> bool:
    """A boolean query parameter: ``true`` or ``false``, given at most once."""
    values = request.query.getall(name, [])
    if not values:
        return default
    if len(values) > 1 or values[0] not in ("true", "false"):
        raise Invalid(f"{name} must be true or false.", code="invalid_query", field=name)
    return values[0] == "true"


def int_param(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be an integer.", code="invalid_id", field=name) from None
    if not 0 < value < 2**63:
        raise Invalid(f"{name} is out of range.", code="invalid_id", field=name)
    return value
