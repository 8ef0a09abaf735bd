"""What each handler answers, declared next to it (issue 16 item 2).

``@contract(...)`` on a handler states its summary, its area (tag), whether it needs a
bearer token, its request body (the attrs class it structures, JSON or multipart), its
path and query parameters, each status it answers with the view class it renders (or no
content, or another media type), and the error codes it can answer: described problems
(``problem(...)``, each the answer of its code's status) and further codes of the
catalogue (``momentic_core/errors.py``). ``adapters/http/openapi.py`` walks the route
tables and builds each operation from its handler's declaration; a route without one
fails tests/e2e/test_openapi.py.

A leaf: it names classes and codes, and renders nothing. The document gives a view its
example (``openapi.EXAMPLES``, by component) unless the declaration gives one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from adapters.http import paging
from adapters.http.problems import HTTP_CODES, STATUS
from momentic_core.errors import CATALOGUE, MomenticError

Json = dict[str, Any]

TIME = "2026-11-27T08:30:00.123456+00:00"


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()  # the view's example, from the document's table


@attrs.frozen
class Answer:
    """One status's answer: a JSON ``view`` (an attrs class, or a named list type), none
    (``NO_CONTENT``), or ``content`` of other media types (media type: schema, example)."""

    description: str
    view: Any = None
    example: Any = DEFAULT
    content: Json | None = None
    headers: Json | None = None


def json(view: Any, description: str, example: Any = DEFAULT,
         headers: Json | None = None) -> Answer:
    return Answer(description, view, example, headers=headers)


def content(description: str, media: Json) -> Answer:
    """An answer that is not JSON: ``{"text/html": {"schema": ..., "example": ...}}``."""
    return Answer(description, content=media)


NO_CONTENT = Answer("Done; no content.")
SWITCHING = Answer("Switching protocols: the socket is open.")


def status_of(code: str) -> str:
    """The status a catalogued code answers with ("default": a 500 or the base kind)."""
    entry = CATALOGUE[code]
    if entry.kind is None:  # the edge's: its own kinds, the router's answers, a 500
        edge = {kind.code: s for kind, s in STATUS.items()} | {
            c: s for s, c in HTTP_CODES.items()}
        return str(edge[code]) if code in edge else "default"
    if entry.kind is MomenticError:
        return "default"
    return str(next(s for kind, s in STATUS.items() if issubclass(entry.kind, kind)))


@attrs.frozen
class Problem:
    """A described problem answer: the answer of ``code``'s status, its example ``code``;
    the catalogued codes its description names are listed under it too."""

    description: str
    code: str
    status: str


def problem(description: str, code: str) -> Problem:
    """``code`` answers, at the status of its kind, with this description."""
    if code not in CATALOGUE:
        raise ValueError(f"{code} is not in momentic_core/errors.py CATALOGUE")
    return Problem(description, code, status_of(code))


@attrs.frozen
class Body:
    """A request body of the attrs class ``cls`` (its request component) or, for bytes, of
    the written ``content`` (media type: schema, example)."""

    cls: Any
    example: Any
    required: bool = True
    media: str = "application/json"
    content: Json | None = None


def body(cls: type, example: Any, required: bool = True,
         media: str = "application/json") -> Body:
    return Body(cls, example, required, media)


def binary_body(*media: str) -> Body:
    """Raw bytes of one of ``media`` (an image, a part of an upload)."""
    return Body(None, None, content={
        t: {"schema": {"type": "string", "contentMediaType": t}, "example": "(binary)"}
        for t in media})


# ---------------------------------------------------------------- parameters

STRING: Json = {"type": "string"}
ID: Json = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
CURSOR_DOC = ("next_cursor of the previous page, as it came; any other value is 422 "
              "invalid_cursor.")


def path_id(name: str) -> Json:
    return {"name": name, "in": "path", "required": True, "schema": dict(ID), "example": 42}


def query(name: str, schema: Json, example: Any, description: str | None = None,
          required: bool = False) -> Json:
    param: Json = {"name": name, "in": "query", "required": required, "schema": schema}
    if description is not None:
        param["description"] = description
    param["example"] = example
    return param


def filter_param(name: str, values: Sequence[str], default: str | None, example: str) -> Json:
    """A filter of one of ``values``, or all."""
    schema: Json = {"type": "string", "enum": [*values, "all"]}
    if default is not None:
        schema["default"] = default
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": "all: any." + ("" if default is None else f" Default {default}."),
            "example": example}


def cursor(kind: str, *values: Any) -> Json:
    return query("cursor", STRING, paging.encode(kind, *values), CURSOR_DOC)


CURSOR: Json = {"name": "cursor", "in": "query", "required": False, "schema": STRING,
                "example": paging.encode("older", TIME, 1001)}
LIMIT: Json = {"name": "limit", "in": "query", "required": False,
               "schema": {"type": "integer", "minimum": 1, "default": 20,
                          "description": "Clamped to 50."}, "example": 20}


# ---------------------------------------------------------------- problems several areas give

NO_VIDEO = problem("No such video (or not yours to see).", "video_not_found")
NO_USER = problem("No such user (or hidden by a block).", "user_not_found")
NOT_AUTHOR = problem("Not the author.", "not_author")
NOT_READY = problem("The video is not ready yet.", "video_not_ready")
LOCKED = problem("Post your moment of today first (BeReal lock).", "moment_locked")
NOT_YOURS_TO_DELETE = problem(
    "Not the author (not_author); staff remove someone else's content through a case "
    "(moderation_required: report it, then resolve the case with remove).",
    "moderation_required")
COMMENT_LIMITS = problem("Blank, over 500 characters, control characters, or a reply to a "
                         "reply.", "comment_empty")
ADMIN_ONLY = problem("Needs the admin role (insufficient_role); or the account is banned or "
                     "suspended.", "insufficient_role")
NOT_STAFF = problem("Needs the moderator role (insufficient_role); or the account is banned "
                    "or suspended.", "insufficient_role")
BAD_LOGIN = (
    problem("Wrong email or password.", "invalid_credentials"),
    problem("email_not_verified: verify the email first. mfa_required: the account has "
            "two-factor authentication, so the right password gets no tokens but mfa_token "
            "(and expires_in, seconds): send it with a code to POST /v1/auth/2fa. Also "
            "account_banned, account_suspended.", "email_not_verified"),
)
CRED_EXAMPLE = {"email": "alex@bsu.by", "password": "correct horse battery"}

# Codes several use cases raise alike.
REFUSED_ACCOUNT = ("account_banned", "account_suspended")
NEW_PASSWORD = ("password_too_short", "password_too_long", "password_too_common")
SIGN_UP = ("invalid_email", "email_domain_not_allowed", *NEW_PASSWORD)
PROFILE_TEXT = ("name_too_long", "surname_too_long", "bio_too_long", "control_characters")
UPLOAD = ("invalid_visibility", "description_too_long", "control_characters",
          "malformed_multipart", "multipart_required", "storage_unavailable")
COMMENT = ("comment_empty", "comment_too_long", "control_characters", "comment_held")
REASON = ("reason_too_long", "control_characters")
MOD_ACTION = (*REASON, "own_case", "cannot_target_self", "concurrent_update")


# ---------------------------------------------------------------- the declaration

@attrs.frozen
class Contract:
    summary: str
    tag: str
    responses: Mapping[int, Answer]
    auth: bool = False
    body: Body | None = None
    params: tuple[Json, ...] = ()
    problems: tuple[Problem, ...] = ()  # later ones replace earlier ones of their status
    codes: tuple[str, ...] = ()  # further codes, described by the catalogue
    description: str | None = None
    token_optional: bool = False  # a bearer token, or credentials in the body instead


_H = TypeVar("_H", bound=Callable[..., Any])
_ATTRIBUTE = "__contract__"


def contract(
    summary: str,
    tag: str,
    responses: Mapping[int, Answer],
    *,
    auth: bool = False,
    body: Body | None = None,
    params: Sequence[Json] = (),
    errors: Sequence[Problem | str] = (),
    description: str | None = None,
    token_optional: bool = False,
) -> Callable[[_H], _H]:
    """Declare what the handler below answers (see the module's docstring). ``errors``:
    described problems and further catalogued codes, the handler's own first."""
    for code in errors:
        if isinstance(code, str) and code not in CATALOGUE:
            raise ValueError(f"{code} is not in momentic_core/errors.py CATALOGUE")
    declared_ = Contract(
        summary, tag, dict(responses), auth, body, tuple(params),
        tuple(e for e in errors if isinstance(e, Problem)),
        tuple(e for e in errors if isinstance(e, str)), description, token_optional)

    def declare(handler: _H) -> _H:
        setattr(handler, _ATTRIBUTE, declared_)
        return handler

    return declare


def declared(handler: Any) -> Contract | None:
    found = getattr(handler, _ATTRIBUTE, None)
    return found if isinstance(found, Contract) else None
