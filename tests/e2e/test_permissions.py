"""Who may call what: every route of the app, called as every role, answers exactly the
status the table below says.

The roles: a guest (no token), a user, the owner of the object the route names (the
video's or comment's author, the user themself, the case's or appeal's subject, the
upload's or session's or notification's holder), a moderator and an admin. Every call
runs in a fresh world (new accounts and objects) so that one role's success (a delete, a
ban, a decision) never changes what the next one sees. Requests are valid-looking: real
ids of real objects, the OpenAPI document's example bodies (with the ids and emails of
this world where they matter).

The table is routed: a route of the app without a row fails ``test_every_route_has_a_row``
and its own parametrized case, and a row without a route fails too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from permissions_support import World, app_routes, legacy_routes, status_of, with_slash_twins

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app

ROLES = ("guest", "user", "owner", "moderator", "admin")
NA = None  # the route names no object of anyone's: there is no owner to call it as

# ---------------------------------------------------------------- the table
# fmt: off
EXPECTED: dict[tuple[str, str], tuple[int | None, ...]] = {
    # method, path                                          guest user owner  mod admin
    # system, documentation and the dashboard: public
    ("GET", "/healthz"):                                    (200, 200, NA,  200, 200),
    ("GET", "/readyz"):                                     (200, 200, NA,  200, 200),
    ("GET", "/openapi.json"):                               (200, 200, NA,  200, 200),
    # to a loopback client, any role (no token set); the rest in tests/e2e/test_metrics_http
    ("GET", "/metrics"):                                    (200, 200, NA,  200, 200),
    ("GET", "/docs"):                                       (200, 200, NA,  200, 200),
    ("GET", "/docs/assets/swagger-init.js"):                (200, 200, NA,  200, 200),
    ("GET", "/admin"):                                      (200, 200, NA,  200, 200),
    ("GET", "/admin/{name}"):                               (200, 200, NA,  200, 200),
    ("GET", "/media/{key}"):                                (200, 200, NA,  200, 200),
    # share links (issue 20): a public video's page, for anyone (no token is read)
    ("GET", "/v/{slug}"):                                   (200, 200, 200, 200, 200),
    ("GET", "/v/share.css"):                                (200, 200, NA,  200, 200),
    ("GET", "/v1/config"):                                  (200, 200, NA,  200, 200),
    # sign-up and sign-in: anyone (a token is not looked at)
    ("POST", "/v1/auth/register"):                          (202, 202, NA,  202, 202),
    ("POST", "/v1/auth/verify"):                            (200, 200, NA,  200, 200),
    ("POST", "/v1/auth/resend-code"):                       (202, 202, NA,  202, 202),
    ("POST", "/v1/auth/token"):                             (200, 200, NA,  200, 200),
    # (no provider is configured here: 422 unknown_provider, before any token check)
    ("POST", "/v1/auth/social/{provider}"):                 (422, 422, NA,  422, 422),
    ("POST", "/v1/auth/password-reset"):                    (202, 202, NA,  202, 202),
    ("POST", "/v1/auth/password-reset/confirm"):            (204, 204, NA,  204, 204),
    ("POST", "/v1/auth/logout"):                            (401, 204, NA,  204, 204),
    ("POST", "/auth/register/"):                            (201, 201, NA,  201, 201),
    ("POST", "/auth/verify-code/"):                         (200, 200, NA,  200, 200),
    ("POST", "/auth/resend-verify-code/"):                  (200, 200, NA,  200, 200),
    ("POST", "/auth/login/"):                               (200, 200, NA,  200, 200),
    ("POST", "/auth/refresh/"):                             (200, 200, NA,  200, 200),
    # my account
    ("GET", "/v1/me"):                                      (401, 200, NA,  200, 200),
    ("PATCH", "/v1/me"):                                    (401, 200, NA,  200, 200),
    # (the only admin cannot delete their account: 409 last_admin)
    ("DELETE", "/v1/me"):                                   (401, 204, NA,  204, 409),
    ("GET", "/v1/me/export"):                               (401, 200, NA,  200, 200),
    ("POST", "/v1/me/password"):                            (401, 204, NA,  204, 204),
    ("GET", "/v1/me/sessions"):                             (401, 200, NA,  200, 200),
    ("DELETE", "/v1/me/sessions"):                          (401, 204, NA,  204, 204),
    ("DELETE", "/v1/me/sessions/{session_id}"):             (401, 404, 204, 404, 404),
    # push devices and what is pushed (issue 17): mine only
    ("POST", "/v1/me/devices"):                             (401, 201, NA,  201, 201),
    ("GET", "/v1/me/devices"):                              (401, 200, NA,  200, 200),
    ("DELETE", "/v1/me/devices/{device_id}"):               (401, 404, 204, 404, 404),
    ("GET", "/v1/me/notification-settings"):                (401, 200, NA,  200, 200),
    ("PATCH", "/v1/me/notification-settings"):              (401, 200, NA,  200, 200),
    # two-factor authentication (issue 21): mine; its second sign-in step is anyone's
    ("GET", "/v1/me/2fa"):                                  (401, 200, NA,  200, 200),
    ("POST", "/v1/me/2fa"):                                 (401, 201, NA,  201, 201),
    ("POST", "/v1/me/2fa/confirm"):                         (401, 200, NA,  200, 200),
    ("DELETE", "/v1/me/2fa"):                               (401, 204, NA,  204, 204),
    ("POST", "/v1/auth/2fa"):                               (200, 200, NA,  200, 200),
    # changing my email address (issue 21): mine
    ("POST", "/v1/me/email"):                               (401, 202, NA,  202, 202),
    ("POST", "/v1/me/email/confirm"):                       (401, 204, NA,  204, 204),
    ("PUT", "/v1/me/avatar"):                               (401, 200, NA,  200, 200),
    ("PATCH", "/user/profile/"):                            (401, 204, NA,  204, 204),
    ("PATCH", "/user/avatar/"):                             (401, 200, NA,  200, 200),
    # users, friends and blocks ({user_id}: the owner is that user)
    ("GET", "/v1/users/{user_id}"):                         (401, 200, 200, 200, 200),
    ("GET", "/v1/users/{user_id}/videos"):                  (401, 200, 200, 200, 200),
    ("GET", "/v1/users/{user_id}/stats"):                   (401, 200, 200, 200, 200),
    ("GET", "/v1/users/search"):                            (401, 200, NA,  200, 200),
    ("GET", "/v1/friends"):                                 (401, 200, NA,  200, 200),
    ("DELETE", "/v1/friends/{user_id}"):                    (401, 204, 404, 204, 204),
    ("POST", "/v1/friend-requests"):                        (401, 201, 422, 201, 201),
    ("GET", "/v1/friend-requests"):                         (401, 200, NA,  200, 200),
    ("POST", "/v1/friend-requests/{user_id}/accept"):       (401, 204, 404, 204, 204),
    ("POST", "/v1/friend-requests/{user_id}/decline"):      (401, 204, 404, 204, 204),
    ("DELETE", "/v1/friend-requests/{user_id}"):            (401, 204, 404, 204, 204),
    ("GET", "/v1/blocks"):                                  (401, 200, NA,  200, 200),
    ("PUT", "/v1/blocks/{user_id}"):                        (401, 204, 422, 204, 204),
    ("DELETE", "/v1/blocks/{user_id}"):                     (401, 204, 404, 204, 204),
    # mutes (issue 21): mine; muting myself is 422, unmuting is idempotent
    ("GET", "/v1/me/mutes"):                                (401, 200, NA,  200, 200),
    ("POST", "/v1/users/{user_id}/mute"):                   (401, 204, 422, 204, 204),
    ("DELETE", "/v1/users/{user_id}/mute"):                 (401, 204, 204, 204, 204),
    ("GET", "/users/{user_id}/friends/videos"):             (401, 403, 200, 403, 403),
    # feeds and the ranking
    ("GET", "/v1/feed/friends"):                            (401, 200, NA,  200, 200),
    ("GET", "/v1/feed/global"):                             (401, 200, NA,  200, 200),
    ("GET", "/v1/feed/for-you"):                            (401, 200, NA,  200, 200),
    # hashtags and search (issue 20 item 5): any signed-in user, each sees what they may
    ("GET", "/v1/hashtags/trending"):                       (401, 200, NA,  200, 200),
    ("GET", "/v1/hashtags/{tag}/videos"):                   (401, 200, NA,  200, 200),
    ("GET", "/v1/search"):                                  (401, 200, NA,  200, 200),
    ("GET", "/v1/moments/today"):                           (401, 200, NA,  200, 200),
    ("GET", "/v1/ranking"):                                 (401, 200, NA,  200, 200),
    # videos and uploads ({video_id}: the owner's public video; staff remove others'
    # videos and comments through a case, never by DELETE: 403 moderation_required)
    ("POST", "/v1/videos"):                                 (401, 201, NA,  201, 201),
    ("GET", "/v1/videos/{video_id}"):                       (401, 200, 200, 200, 200),
    ("PATCH", "/v1/videos/{video_id}"):                     (401, 403, 200, 403, 403),
    ("DELETE", "/v1/videos/{video_id}"):                    (401, 403, 204, 403, 403),
    ("POST", "/v1/videos/{video_id}/view"):                 (401, 200, 200, 200, 200),
    ("POST", "/v1/uploads"):                                (401, 201, NA,  201, 201),
    ("GET", "/v1/uploads/{upload_id}"):                     (401, 404, 200, 404, 404),
    ("PUT", "/v1/uploads/{upload_id}/parts/{part}"):        (401, 404, 200, 404, 404),
    ("POST", "/v1/uploads/{upload_id}/complete"):           (401, 404, 200, 404, 404),
    ("POST", "/videos"):                                    (401, 201, NA,  201, 201),
    ("PATCH", "/videos/{video_id}"):                        (401, 403, 204, 403, 403),
    ("DELETE", "/videos/{video_id}"):                       (401, 403, 204, 403, 403),
    # reactions, comments ({comment_id}: the owner's comment on their video)
    ("PUT", "/v1/videos/{video_id}/reaction"):              (401, 200, 200, 200, 200),
    ("DELETE", "/v1/videos/{video_id}/reaction"):           (401, 200, 200, 200, 200),
    ("GET", "/v1/videos/{video_id}/reactions"):             (401, 200, 200, 200, 200),
    ("POST", "/v1/videos/{video_id}/comments"):             (401, 201, 201, 201, 201),
    ("GET", "/v1/videos/{video_id}/comments"):              (401, 200, 200, 200, 200),
    ("GET", "/v1/comments/{comment_id}"):                   (401, 200, 200, 200, 200),
    ("PATCH", "/v1/comments/{comment_id}"):                 (401, 403, 200, 403, 403),
    ("DELETE", "/v1/comments/{comment_id}"):                (401, 403, 204, 403, 403),
    ("GET", "/v1/comments/{comment_id}/replies"):           (401, 200, 200, 200, 200),
    ("PUT", "/v1/comments/{comment_id}/like"):              (401, 200, 200, 200, 200),
    ("DELETE", "/v1/comments/{comment_id}/like"):           (401, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/comments/"):                (401, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/comments"):                 (401, 200, 200, 200, 200),
    ("POST", "/videos/{video_id}/comments/"):               (401, 201, 201, 201, 201),
    ("POST", "/videos/{video_id}/comments"):                (401, 201, 201, 201, 201),
    ("POST", "/videos/{video_id}/reactions"):               (401, 200, 200, 200, 200),
    ("POST", "/videos/{video_id}/reactions/"):              (401, 200, 200, 200, 200),
    ("DELETE", "/videos/{video_id}/reactions"):             (401, 204, 204, 204, 204),
    ("DELETE", "/videos/{video_id}/reactions/"):            (401, 204, 204, 204, 204),
    ("GET", "/videos/{video_id}/reactions"):                (401, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/reactions/"):               (401, 200, 200, 200, 200),
    # notifications ({notification_id}: one of the owner's)
    ("GET", "/v1/notifications"):                           (401, 200, NA,  200, 200),
    ("POST", "/v1/notifications/read-all"):                 (401, 200, NA,  200, 200),
    ("POST", "/v1/notifications/{notification_id}/read"):   (401, 404, 204, 404, 404),
    # live sockets: a plain GET with a good token is 426 (not a handshake)
    ("GET", "/v1/ws"):                                      (401, 426, NA,  426, 426),
    ("GET", "/ws/chat"):                                    (401, 426, NA,  426, 426),
    ("GET", "/ws/chat/"):                                   (401, 426, NA,  426, 426),
    # reports and appeals: anyone signed in; an appeal only by the case's subject
    ("POST", "/v1/reports"):                                (401, 201, 422, 201, 201),
    ("POST", "/v1/appeals"):                                (401, 404, 201, 404, 404),
    # moderation ({user_id}: the owner, a user; {case_id}: a case about the owner;
    # {appeal_id}: the owner's appeal of another moderator's decision)
    ("POST", "/v1/mod/users/{user_id}/ban"):                (401, 403, 403, 200, 200),
    ("POST", "/v1/mod/users/{user_id}/suspend"):            (401, 403, 403, 200, 200),
    # (the owner of an unban is banned: their token is refused, 401)
    ("POST", "/v1/mod/users/{user_id}/unban"):              (401, 403, 401, 200, 200),
    ("GET", "/v1/mod/cases"):                               (401, 403, NA,  200, 200),
    ("GET", "/v1/mod/cases/{case_id}"):                     (401, 403, 403, 200, 200),
    ("POST", "/v1/mod/cases/{case_id}/assign"):             (401, 403, 403, 200, 200),
    ("POST", "/v1/mod/cases/{case_id}/resolve"):            (401, 403, 403, 200, 200),
    ("GET", "/v1/mod/appeals"):                             (401, 403, NA,  200, 200),
    ("POST", "/v1/mod/appeals/{appeal_id}/decide"):         (401, 403, 403, 200, 200),
    # administration (the user list is for moderators too)
    ("GET", "/v1/admin/users"):                             (401, 403, NA,  200, 200),
    ("PUT", "/v1/admin/users/{user_id}/role"):              (401, 403, 403, 403, 200),
    ("GET", "/v1/admin/audit"):                             (401, 403, NA,  403, 200),
    ("GET", "/v1/admin/settings"):                          (401, 403, NA,  403, 200),
    ("PATCH", "/v1/admin/settings"):                        (401, 403, NA,  403, 200),
    ("GET", "/v1/admin/stats"):                             (401, 403, NA,  403, 200),
    ("GET", "/v1/admin/ranking/weights"):                   (401, 403, NA,  403, 200),
    ("PATCH", "/v1/admin/ranking/weights"):                 (401, 403, NA,  403, 200),
}
# fmt: on

_APP = create_app(Composition(Settings(memory=True)))
ROUTES = app_routes(_APP)
# A legacy route's row holds for it with and without the trailing slash.
EXPECTED = with_slash_twins(EXPECTED, legacy_routes(_APP))


def test_every_route_has_a_row() -> None:
    assert set(ROUTES) - set(EXPECTED) == set(), "routes without a row in EXPECTED"
    assert set(EXPECTED) - set(ROUTES) == set(), "rows of EXPECTED with no route"
    for row in EXPECTED.values():
        assert len(row) == len(ROLES) and row[0] is not None and row[1] is not None


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
async def test_each_role_gets_exactly_its_status(
    route: tuple[str, str], make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    assert route in EXPECTED, f"{route} has no row in EXPECTED: decide who may call it"
    env = await make_video_env(rate_limit_multiplier=1000)
    method, path = route
    got = []
    for role, expected in zip(ROLES, EXPECTED[route], strict=True):
        if expected is NA:
            got.append(NA)
            continue
        got.append(await status_of(World(env, role, sample_clips), method, path))
    assert tuple(got) == EXPECTED[route], dict(zip(ROLES, got, strict=True))
