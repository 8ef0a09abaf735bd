"""Helpers every handler uses: reading bodies, the caller's identity, JSON answers."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, TypeVar

import orjson
from aiohttp import web

from adapters import acting
from adapters.http import keys
from adapters.http.converter import structure, unstructure
from adapters.http.keys import Services
from adapters.http.middlewares import client_ip
from adapters.http.problems import MalformedBody
from momentic_core.errors import Invalid, MomenticError, Unauthenticated
from momentic_core.model.accounts import Principal
from momentic_core.policies.rules import CONTROL_CATEGORIES, DEVICE_NAME_MAX
from momentic_core.services.accounts import DeviceInfo

T = TypeVar("T")


def services(request: web.Request) -> Services:
    return request.app[keys.SERVICES]


# A \u escape of a UTF-16 surrogate: the only way a lone one gets into a parsed string.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


async def read_json(request: web.Request) -> Any:
    """The parsed JSON body. Raises MalformedBody(code="malformed_json") for what is not
    JSON text (including lone surrogates, which no store or hash can encode, and nesting
    deeper than the parser's limit), Invalid(code="body_required"); a body over the limit
    answers 413, up front when Content-Length says so, else while reading."""
    limit = request.app[keys.OPTIONS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    raw = await request.read()
    if not raw.strip():
        raise Invalid("A JSON body is required.", code="body_required")
    try:
        # RFC 8259: JSON between systems is UTF-8, and NaN or Infinity are not JSON.
        value = json.loads(raw.decode(), parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise MalformedBody("The body is not valid JSON.") from None
    if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(value):
        raise MalformedBody("The body holds a \\u escape of an unpaired surrogate.")
    return value


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _has_lone_surrogate(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode()
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


async def read_body(request: web.Request, cls: type[T]) -> T:
    return structure(await read_json(request), cls)


def json_response(value: Any, status: int = 200) -> web.Response:
    """``value`` (attrs views, lists, dicts) as JSON, encoded by orjson: UTF-8, compact."""
    return web.Response(
        body=orjson.dumps(unstructure(value)), status=status, content_type="application/json"
    )


def no_store(response: web.Response) -> web.Response:
    """Mark an answer that carries tokens as never to be cached (RFC 6749 section 5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


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


async def principal(request: web.Request, token: str | None = None) -> Principal:
    """The verified caller (of ``token``, else of the Authorization header); counts the
    per-user rate limit. Cached on the request."""
    cached: Principal | None = request.get(keys.PRINCIPAL)
    if cached is not None:
        return cached
    svc = services(request)
    ip = request.pop(keys.IP_PENDING, None)  # see middlewares.ip_rate_limit_middleware
    try:
        who = await svc.accounts.authenticate(
            token if token is not None else bearer_token(request)
        )
    except MomenticError:
        if ip is not None:
            await svc.throttle.check("api:ip", ip)
        raise
    request[keys.PRINCIPAL] = who
    request[keys.USER_ID] = who.user_id
    if (doing := acting.current()) is not None:
        doing.user_id = who.user_id  # their writes and reads, for the replicas
    events = [("api:user", str(who.user_id))] + ([("api:ip", ip)] if ip is not None else [])
    request[keys.RATE] = (await svc.throttle.check_many(events))[0]
    return who


def bool_query(request: web.Request, name: str, default: bool = False) -> bool:
    """A boolean query parameter: ``true`` or ``false``, given at most once."""
    values = request.query.getall(name, [])
    if not values:
        return default
    if len(values) > 1 or values[0] not in ("true", "false"):
        raise Invalid(f"{name} must be true or false.", code="invalid_query", field=name)
    return values[0] == "true"


ID_DIGITS = 19  # 2**63 - 1, the largest id, has 19 digits


def int_param(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    # ASCII digits only: int() would also take "+1", " 1", "1_0" and non-Latin digits.
    if not (raw.isascii() and raw.isdigit()):
        raise Invalid(f"{name} must be an integer.", code="invalid_id", field=name)
    if len(raw) > ID_DIGITS:  # before int(), which refuses over 4300 digits (a 500)
        raise Invalid(f"{name} is out of range.", code="invalid_id", field=name)
    value = int(raw)
    if not 0 < value < 2**63:
        raise Invalid(f"{name} is out of range.", code="invalid_id", field=name)
    return value


def body_id(value: int, field: str) -> int:
    """An id given in a body: what a row can hold (1 to 2**63 - 1)."""
    if not 0 < value < 2**63:
        raise Invalid(f"{field} is out of range.", code="invalid_id", field=field)
    return value
