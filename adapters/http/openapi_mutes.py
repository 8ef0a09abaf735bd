"""The OpenAPI entries of mutes (issue 21 item 2), kept apart from ``openapi.py`` as
``openapi_devices`` is, until the document is generated from typed route declarations.
``openapi.document`` merges ``paths(openapi)``; ``LINKS`` joins its links table."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

_WHAT = ("Muting hides the user from my feeds (friends, global, For-You), my "
         "notifications and my live events; they are not told and nothing changes on their "
         "side; a muted friend stays a friend (their profile and videos stay readable by "
         "their own routes).")

# (source operationId, status, target operationIds, {parameter: runtime expression})
LINKS: list[tuple[str, str, tuple[str, ...], dict[str, str]]] = [
    ("post_v1_users_user_id_mute", "204", ("delete_v1_users_user_id_mute",),
     {"user_id": "$request.path.user_id"}),
    ("get_v1_me_mutes", "200", ("delete_v1_users_user_id_mute",),
     {"user_id": "$response.body#/items/0/user/id"}),
]


def paths(o: Any) -> Json:
    """``o``: the ``openapi`` module building the document (its helpers and tables)."""
    tag = "friends"
    uid = [o._path_id("user_id")]
    return {
        "/v1/me/mutes": {"get": o._op(
            "Users I muted, newest first (banned and suspended ones too, so I can unmute "
            "them).", tag, {"200": o._json("ContactPage", "One page.")}, auth=True,
            params=[o._cursor("muted", o.TIME, 42), o._LIMIT])},
        "/v1/users/{user_id}/mute": {
            "post": o._op(f"Mute (idempotent). {_WHAT}", tag, {"204": o._NO_CONTENT},
                          auth=True, params=uid, errors={**o._NO_USER, "422": o._problem(
                              "That is me.", "cannot_target_self", 422)}),
            "delete": o._op("Unmute (idempotent: unmuting someone not muted is 204 too).",
                            tag, {"204": o._NO_CONTENT}, auth=True, params=uid),
        },
    }
