"""The OpenAPI 3.1 document: every route, request and response, with examples.

The schemas come from the attrs classes of the wire (adapters/http/schema.py): response
views from views*.py, each request body from the class its handler parses through the
converter. What is written here is prose, examples, parameters, links and the WebSocket
section. tests/e2e/test_openapi.py checks that routes and document match both ways, and
schemathesis runs against the app with this document.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any

from aiohttp import web

from adapters.http import (
    paging,
    views,
    views_devices,
    views_legacy,
    views_mfa,
)
from adapters.http.contract import DEFAULT, Answer, Contract, declared
from adapters.http.problems import HTTP_CODES, STATUS
from adapters.http.schema import Components, refuse_nul
from momentic_core.errors import CATALOGUE, MomenticError
from momentic_core.model.accounts import AccountStatus, Role
from momentic_core.model.moderation import AppealStatus, CaseStatus, ReportReason, TargetType
from momentic_core.model.ranking import WEIGHT_FIELDS, Period, RankingWeights, Scope
from momentic_core.model.videos import MediaLimits
from momentic_core.policies.rules import TRENDING_HOURS
from momentic_core.services import mfa

Json = dict[str, Any]

TIME = "2026-11-27T08:30:00.123456+00:00"


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


# Parameter schemas (the request types of item 2 of issue 16 will carry these too).
_S: Json = {"type": "string"}
_INT: Json = {"type": "integer"}


def _obj(required: list[str], props: Json) -> Json:
    """For a module documenting routes of its own whose answers are not views yet."""
    return {"type": "object", "required": required, "properties": props}


_INT_PARAM: Json = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}

# The request bodies met while the paths are written: each a component generated from
# the class its handler parses (open, as the converter ignores other keys; free strings
# refuse U+0000 as converter.structure does).
_REQUESTS = Components(closed=False, requests=True)
# The answers met while the operations are built: each view a component (closed).
_VIEWS = Components()
# Written schemas merged by modules that document routes of their own (none now).
SCHEMAS: Json = {}

EXAMPLES: Json = {
    "Status": {"status": "ok"},
    "Accepted": {"status": "pending_verification", "message": "If the address can receive a "
                 "code, one is on its way."},
    "Token": {
        "access_token": "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.c2ln",
        "token_type": "Bearer",
        "expires_in": 900,
        "refresh_token": "q8V4m1xv0b2vS9cK3lqYlq1R0x0dXo2bHc3c2Rm",
        "session_id": 7,
    },
    "Me": {
        "id": 42, "email": "alex@bsu.by", "email_verified": True, "nickname": "alex",
        "name": "Alex", "surname": "Ivanov", "bio": "Film student", "time_zone": "Europe/Minsk",
        "role": "user", "status": "active", "avatar_url": None, "rating": 120,
        "current_streak": 3, "max_streak": 9, "max_reactions": 41, "created_at": TIME,
    },
    "PublicUser": {
        "relation": "friends", "friend_count": 18,
        "id": 42, "nickname": "alex", "name": "Alex", "surname": "Ivanov",
        "bio": "Film student", "avatar_url": None, "rating": 120, "current_streak": 3,
        "max_streak": 9, "max_reactions": 41, "created_at": TIME,
    },
    "SessionList": {"items": [{
        "id": 7, "device_name": "iPhone 15", "ip": "203.0.113.9", "created_at": TIME,
        "last_used_at": TIME, "current": True,
    }]},
    "LegacyStatus": {"success": True, "message": "Check your email for the verification code."},
    "LegacyTokens": {"access": "eyJhbGciOiJFUzI1NiJ9.e30.c2ln", "refresh": "q8V4m1xv0b2vS9cK"},
    "LegacyVerified": {"success": True, "message": "Email verified.",
                       "token": {"access": "eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
                                 "refresh": "q8V4m1xv0b2vS9cK"}},
}

_DEVICE_EXAMPLE = {
    "id": 501, "platform": "ios", "token": "0f" * 32, "app_version": "1.4.0",
    "locale": "ru-BY", "apns_environment": "production", "current_session": True,
    "created_at": TIME, "last_seen_at": TIME,
}
EXAMPLES.update({
    "Device": _DEVICE_EXAMPLE,
    "DeviceList": {"items": [_DEVICE_EXAMPLE]},
    "NotificationSettings": {
        "moment": True, "reactions": False, "comments": True, "friend_requests": True,
        "moderation": True, "videos": True, "quiet_hours": {"start": "22:30", "end": "07:00"},
        "time_zone": "Europe/Minsk",
    },
})
_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
EXAMPLES.update({
    "MfaEnrolment": {
        "secret": _SECRET,
        "otpauth_uri": f"otpauth://totp/Momentic:alex%40bsu.by?secret={_SECRET}"
                       "&issuer=Momentic",
        "digits": mfa.DIGITS, "period": mfa.STEP_SECONDS,
    },
    "MfaRecoveryCodes": {"recovery_codes": [
        "k7m2p-x9q4r", "a3b4c-d5e6f", "g7h8j-k9m2n", "p3q4r-s5t6u", "v7w8x-y9z2a",
        "b3c4d-e5f6g", "h7j8k-m9n2p", "q3r4s-t5u6v", "w7x8y-z9a2b", "c3d4e-f5g6h"]},
    "MfaStatus": {"enabled": True, "pending": False, "recovery_codes_left": 9},
})

_PROBLEM_EXAMPLE = {
    "type": "https://momentic.app/problems/validation_failed",
    "title": "Invalid input",
    "status": 422,
    "detail": "The request body is not valid.",
    "code": "validation_failed",
    "request_id": "5f0c9a7e2b8e4c1fa3d2",
    "errors": ["required field missing @ $.email"],
}


def _problem(description: str, code: str, status: int) -> Json:
    # The example's detail is the catalogue's line for the code (the description says more).
    entry = CATALOGUE.get(code)
    example = {"type": f"https://momentic.app/problems/{code}",
               "title": entry.kind.title if entry and entry.kind else "Error",
               "status": status, "detail": entry.description if entry else description,
               "code": code}
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem"), "example": example}},
    }


_COMMON_ERRORS: Json = {
    "400": _problem("Malformed JSON or a missing body.", "malformed_json", 400),
    "413": _problem("The body is larger than allowed.", "body_too_large", 413),
    "422": _problem("A field is missing, of the wrong type, or breaks a rule.",
                    "validation_failed", 422),
    "429": _problem("Rate limited; see Retry-After.", "rate_limited", 429),
    "503": _problem("A dependency is unavailable; retry later.", "unavailable", 503),
    "default": _problem("Any other error, as problem+json.", "internal_error", 500),
}
_AUTH_ERRORS: Json = {
    "401": _problem("Missing, invalid, expired or revoked access token.", "token_revoked", 401),
    "403": _problem("Banned or suspended, or not allowed.", "account_banned", 403),
}


def _json(schema_name: str, description: str, example: Any = None) -> Json:
    """A JSON answer of the component ``schema_name`` (a view of VIEWS or LISTS)."""
    return {
        "description": description,
        "content": {"application/json": {
            "schema": _ref(schema_name),
            "example": EXAMPLES[schema_name] if example is None else example,
        }},
    }


def _body(cls: Any, example: Json, required: bool = True,
          media: str = "application/json") -> Json:
    """A request body of the class ``cls`` (its component), or of a written schema."""
    schema = _REQUESTS.ref(cls) if isinstance(cls, type) else cls
    return {
        "required": required,
        "content": {media: {"schema": schema, "example": example}},
    }


_NO_CONTENT: Json = {"description": "Done; no content."}


def _op(
    summary: str,
    tag: str,
    responses: Json,
    *,
    body: Json | None = None,
    auth: bool = False,
    params: list[Json] | None = None,
    errors: Json | None = None,
) -> Json:
    op: Json = {"summary": summary, "tags": [tag], "operationId": None, "responses": {}}
    op["responses"].update(responses)
    if body is not None:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    if auth:
        op["security"] = [{"bearer": []}]
        op["responses"].update(_AUTH_ERRORS)
    op["responses"].update(errors or {})
    # An operation's own answer for a common status (413 video_too_large) is the one it gives.
    for status, response in _COMMON_ERRORS.items():
        op["responses"].setdefault(status, response)
    return op


def _path_id(name: str) -> Json:
    return {"name": name, "in": "path", "required": True, "schema": dict(_INT_PARAM),
            "example": 42}


_CRED_EXAMPLE = {"email": "alex@bsu.by", "password": "correct horse battery"}
_NOT_VERIFIED = {"403": _problem("Verify the email first.", "email_not_verified", 403)}
_BAD_LOGIN = {"401": _problem("Wrong email or password.", "invalid_credentials", 401),
              "403": _problem(
                  "email_not_verified: verify the email first. mfa_required: the account "
                  "has two-factor authentication, so the right password gets no tokens but "
                  "mfa_token (and expires_in, seconds): send it with a code to POST "
                  "/v1/auth/2fa. Also account_banned, account_suspended.",
                  "email_not_verified", 403)}


def _paths() -> Json:
    legacy = "legacy mobile"
    return {
        **_legacy_both("/auth/register/", {"post": _op(
            "Legacy app: register.", legacy, {"201": _json("LegacyStatus", "Code sent.")},
            body=_body(views_legacy.LegacyCredentials, _CRED_EXAMPLE))}),
        **_legacy_both("/auth/verify-code/", {"post": _op(
            "Legacy app: verify the email code and sign in.", legacy,
            {"200": _json("LegacyVerified", "Verified.")},
            body=_body(views_legacy.LegacyVerify,
                       {"email": "alex@bsu.by", "password": "correct horse battery",
                        "code": "123456"}))}),
        **_legacy_both("/auth/resend-verify-code/", {"post": _op(
            "Legacy app: resend the code.", legacy, {"200": _json("LegacyStatus", "Sent.")},
            body=_body(views_legacy.LegacyEmail, {"email": "alex@bsu.by"}))}),
        **_legacy_both("/auth/login/", {"post": _op(
            "Legacy app: log in.", legacy, {"200": _json("LegacyTokens", "Tokens.")},
            body=_body(views_legacy.LegacyCredentials, _CRED_EXAMPLE), errors=_BAD_LOGIN)}),
        **_legacy_both("/auth/refresh/", {"post": _op(
            "Legacy app: rotate the refresh token.", legacy,
            {"200": _json("LegacyTokens", "Tokens.")},
            body=_body(views_legacy.LegacyRefresh, {"refresh": "q8V4m1xv0b2vS9cK"}))}),
        **_legacy_both("/user/profile/", {"patch": _op(
            "Legacy app: edit the profile (a `token` body field is ignored).", legacy,
            {"204": _NO_CONTENT}, auth=True,
            body=_body(views_legacy.LegacyProfile,
                       {"name": "Alex", "surname": "Ivanov", "bio": None}))}),
    }


_VIDEO_EXAMPLE = {
    "id": 1001,
    "author": {"id": 42, "nickname": "alex", "avatar_url": None},
    "description": "Sunset over the campus",
    "visibility": "friends",
    "status": "ready",
    "status_reason": None,
    "duration_seconds": 12.48,
    "size_bytes": 4811233,
    "width": 720,
    "height": 1280,
    "playback_url": "https://media.momentic.app/videos/3f2a/source?X-Amz-Signature=...",
    "thumbnail_url": "https://media.momentic.app/videos/3f2a/thumb.jpg?X-Amz-Signature=...",
    "share_url": None,  # friends-only; a public video's: https://momentic.app/v/<slug>
    "created_at": TIME,
    "ready_at": TIME,
    "locked": False,
    "reactions": {"heart": 3, "flame": 1, "funny": 0, "angry": 0},
    "comment_count": 2,
    "view_count": 57,
    "my_reaction": "heart",
    # Posted 12 min 34 s after the day's moment, past its 2-minute window.
    "moment_at": "2026-11-27T08:17:26+00:00",
    "on_time": False,
    "late_by_seconds": 754,
}
# The fixed limits (the largest and longest video are runtime settings: GET /v1/config
# tells a client the ones in force).
_LIMITS = MediaLimits()
# A cursor the server issues: opaque to clients (base64url of the last item's position).
_CURSOR_EXAMPLE = paging.encode("vid", TIME, 1001)
EXAMPLES.update({
    "Video": _VIDEO_EXAMPLE,
    "VideoPage": {"items": [_VIDEO_EXAMPLE],
                  "next_cursor": _CURSOR_EXAMPLE},
    "Upload": {
        "id": 77, "status": "open", "size_bytes": 20971520, "content_type": "video/mp4",
        "part_size": 8388608,
        "parts": [
            {"number": 1, "size_bytes": 8388608, "url": "/v1/uploads/77/parts/1",
             "method": "PUT", "received": True},
            {"number": 2, "size_bytes": 8388608, "url": "/v1/uploads/77/parts/2",
             "method": "PUT", "received": False},
            {"number": 3, "size_bytes": 4194304, "url": "/v1/uploads/77/parts/3",
             "method": "PUT", "received": False},
        ],
        "video_id": None, "created_at": TIME, "expires_at": "2026-11-28T08:30:00+00:00",
    },
    "Part": {"number": 2, "size_bytes": 8388608, "etag": "\"9b2cf535f27731c974343645a3985328\""},
    "Config": {
        "max_video_bytes": 100000000, "max_video_seconds": 60.0,
        "accepted_video_types": ["video/mp4", "video/quicktime", "video/webm",
                                 "video/x-matroska"],
        "description_max_length": 70, "visibilities": ["friends", "public"],
        "avatar_max_bytes": 5000000, "avatar_types": ["image/jpeg", "image/png", "image/webp"],
        "upload_part_size": 8388608, "max_devices_per_user": 10,
    },
    "AvatarUrl": {"avatar_url": "http://127.0.0.1:8080/media/avatars/1c9e/avatar.jpg?exp=1796000000&sig=..."},
    "ViewRecorded": {"video_id": 1001, "counted": True, "watched_seconds": 11.2,
                     "completed": True, "view_count": 58},
    "LegacyUpload": {"video_id": 1001, "filepath": "/v1/videos/1001",
                     "message": "Video uploaded."},
})

_MULTIPART_VIDEO: Json = _body(
    views.VideoForm, {"video_file": "(binary)", "description": "Sunset over the campus",
                      "visibility": "public"}, media="multipart/form-data")
_UPLOAD_ERRORS: Json = {
    "413": _problem("Over the size limit; nothing is kept.", "video_too_large", 413),
    "415": _problem("Not an MP4, MOV or WebM video.", "unsupported_media_type", 415),
}
_NO_VIDEO = {"404": _problem("No such video (or not yours to see).", "video_not_found", 404)}
_NOT_AUTHOR = {"403": _problem("Not the author.", "not_author", 403)}
_NOT_YOURS_TO_DELETE = {"403": _problem(
    "Not the author (not_author); staff remove someone else's content through a case "
    "(moderation_required: report it, then resolve the case with remove).",
    "moderation_required", 403)}
_IMAGE_BODY: Json = {
    "required": True,
    "content": {t: {"schema": {"type": "string", "contentMediaType": t},
                    "example": "(binary)"}
                for t in ("image/jpeg", "image/png", "image/webp")},
}
_IMAGE_ERRORS: Json = {
    "413": _problem("Over 5 MB.", "avatar_too_large", 413),
    "415": _problem("Not a JPEG, PNG or WebP image.", "unsupported_image", 415),
    "422": _problem(f"The image decodes to more than {MediaLimits().avatar_max_pixels:,} "
                    "pixels (a JPEG counts at the 1/2, 1/4 or 1/8 scale it is decoded at; "
                    "`limit` says how many), "
                    "whatever its file size; or a field breaks a rule (validation_failed).",
                    "image_too_large", 422),
}


def _video_paths() -> Json:
    legacy = "legacy mobile"
    return {
        **_legacy_both("/videos", {"post": _op(
            "Legacy app: upload a video (multipart video_file, description).", legacy,
            {"201": _json("LegacyUpload", "Stored; processing.")}, auth=True,
            body=_MULTIPART_VIDEO, errors=_UPLOAD_ERRORS)}),
        **_legacy_both("/videos/{video_id}", {
            "patch": _op("Legacy app: change the description.", legacy, {"204": _NO_CONTENT},
                         auth=True, params=[_path_id("video_id")],
                         body=_body(views_legacy.LegacyDescription,
                                    {"description": "Sunset, take two"}),
                         errors={**_NO_VIDEO, **_NOT_AUTHOR}),
            "delete": _op("Legacy app: delete a video (the author only).", legacy,
                          {"204": _NO_CONTENT}, auth=True, params=[_path_id("video_id")],
                          errors={**_NO_VIDEO, **_NOT_YOURS_TO_DELETE}),
        }),
        **_legacy_both("/user/avatar/", {"patch": _op(
            "Legacy app: set the avatar from raw JPEG bytes.", legacy,
            {"200": _json("AvatarUrl", "The new avatar.")}, auth=True, body=_IMAGE_BODY,
            errors=_IMAGE_ERRORS)}),
    }


_CARD_EXAMPLE = {"id": 43, "nickname": "sam", "name": "Sam", "surname": None,
                 "avatar_url": None}
_FEED_ITEM_EXAMPLE = {
    "video": _VIDEO_EXAMPLE,
    "reactions": {"heart": 3, "flame": 1, "funny": 0, "angry": 0},
    "my_reaction": "heart",
    "comment_count": 2,
    "locked": False,
    "created_at": TIME,
}
EXAMPLES.update({
    "ContactPage": {"items": [{"user": _CARD_EXAMPLE, "since": TIME}], "next_cursor": None},
    "UserSearchPage": {"items": [_CARD_EXAMPLE], "next_cursor": None},
    "Relation": {"relation": "request_sent"},
    "FeedPage": {"items": [_FEED_ITEM_EXAMPLE], "next_cursor": paging.encode("older", TIME, 1001),
                 "prev_cursor": paging.encode("newer", TIME, 1001)},
    "FriendsFeed": {"day": "2026-11-27", "locked": False, "items": [_FEED_ITEM_EXAMPLE],
                    "next_cursor": None, "prev_cursor": paging.encode("newer", TIME, 1001)},
    "RankedPage": {"items": [_FEED_ITEM_EXAMPLE], "next_cursor": paging.encode("rank", 7, 20)},
    "LegacyFriendVideos": [{"video_id": 1001, "user_id": 43, "nickname": "sam",
                            "description": "Sunset", "filepath": "https://...",
                            "thumbnail_url": "https://...", "locked": False,
                            "created_at": TIME}],
})

EXAMPLES.update({
    "HashtagPage": {"tag": "минск", "items": [_FEED_ITEM_EXAMPLE],
                    "next_cursor": paging.encode("older", TIME, 1001),
                    "prev_cursor": paging.encode("newer", TIME, 1001)},
    "Trending": {"window_hours": TRENDING_HOURS,
                 "items": [{"tag": "sunset", "video_count": 12},
                           {"tag": "минск", "video_count": 5}]},
    "SearchResults": {"type": "videos", "videos": [_FEED_ITEM_EXAMPLE], "users": [],
                      "next_cursor": paging.encode("older", TIME, 1001)},
})

_CURSOR = {"name": "cursor", "in": "query", "required": False, "schema": _S,
           "example": paging.encode("older", TIME, 1001)}
_LIMIT = {"name": "limit", "in": "query", "required": False,
          "schema": {"type": "integer", "minimum": 1, "default": 20,
                     "description": "Clamped to 50."}, "example": 20}
_NO_REQUEST = {"404": _problem("No such friend request.", "request_not_found", 404)}
_NO_USER = {"404": _problem("No such user (or hidden by a block).", "user_not_found", 404)}


def _social_paths() -> Json:
    legacy = "legacy mobile"
    uid = [_path_id("user_id")]
    return {
        **_legacy_both("/users/{user_id}/friends/videos", {"get": _op(
            "Legacy app: my friends' videos of today (my own user id only).", legacy,
            {"200": _json("LegacyFriendVideos", "Newest first.")}, auth=True, params=uid,
            errors={"403": _problem("Not your user id.", "not_you", 403)})}),
    }


# ---------------------------------------------------------------- engagement


_COMMENT_EXAMPLE = {
    "id": 501, "video_id": 1001, "parent_id": None, "author": _CARD_EXAMPLE,
    "body": "What a sunset!", "created_at": TIME, "edited_at": None, "like_count": 4,
    "reply_count": 1, "liked_by_me": True,
}
_NOTIFICATION_EXAMPLE = {
    "id": 90, "kind": "comment", "created_at": TIME, "read_at": None, "actor": _CARD_EXAMPLE,
    "video_id": 1001, "comment_id": 501, "text": "What a sunset!",
}
_CHAT_MESSAGE_EXAMPLE = {
    "id": "501", "author": "sam", "text": "What a sunset!", "avatar_url": None,
    "created_at": TIME, "like_count": 0, "liked_by_me": False,
}
EXAMPLES.update({
    "ReactionState": {"video_id": 1001, "reactions": _FEED_ITEM_EXAMPLE["reactions"],
                      "my_reaction": "heart"},
    "ReactorPage": {"items": [{"user": _CARD_EXAMPLE, "kind": "heart", "created_at": TIME}],
                    "next_cursor": paging.encode("react", TIME, 43)},
    "Comment": _COMMENT_EXAMPLE,
    "CommentPage": {"items": [_COMMENT_EXAMPLE], "next_cursor": paging.encode("cmt", TIME, 501)},
    "Like": {"comment_id": 501, "like_count": 5, "liked_by_me": True},
    "Notification": _NOTIFICATION_EXAMPLE,
    "NotificationPage": {"items": [_NOTIFICATION_EXAMPLE], "unread_count": 3,
                         "next_cursor": paging.encode("ntf", 90)},
    "MarkedRead": {"marked_read": 3},
    "AccountStatus": {"user_id": 43, "status": "suspended",
                      "suspended_until": "2026-12-04T08:30:00+00:00"},
    "LegacyComments": [{"comment_id": 501, "video_id": 1001, "user_id": 43, "nickname": "sam",
                        "avatarURL": None, "content": "What a sunset!", "created_at": TIME}],
    "LegacyChatMessage": _CHAT_MESSAGE_EXAMPLE,
    "LegacyReactionSet": {"video_id": 1001, "reaction_kind": "heart",
                          "reactions": _FEED_ITEM_EXAMPLE["reactions"]},
    "LegacyReactors": [{"user_id": 43, "nickname": "sam", "reaction_kind": "heart"}],
})

_NO_COMMENT = {"404": _problem("No such comment (or not yours to see).", "comment_not_found",
                               404)}
_NOT_READY = {"409": _problem("The video is not ready yet.", "video_not_ready", 409)}
_LOCKED = {"403": _problem("Post your moment of today first (BeReal lock).", "moment_locked",
                           403)}
_COMMENT_LIMITS = {"422": _problem("Blank, over 500 characters, control characters, or a "
                                   "reply to a reply.", "comment_empty", 422)}
_MOD_ERRORS = {
    "403": _problem("Needs the moderator role, and a target of a lower role.",
                    "insufficient_role", 403),
    "404": _problem("No such user.", "user_not_found", 404),
    "422": _problem("The reason is blank or too long, or the target is oneself.",
                    "reason_required", 422),
}
_CURSOR_DOC = ("next_cursor of the previous page, as it came; any other value is 422 "
               "invalid_cursor.")


def _cursor(kind: str, *values: Any) -> Json:
    return {"name": "cursor", "in": "query", "required": False, "schema": _S,
            "description": _CURSOR_DOC, "example": paging.encode(kind, *values)}


def _legacy_both(path: str, operations: Json) -> Json:
    """A legacy path the app calls with the trailing slash, served without it as well."""
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    return {path: operations, other: copy.deepcopy(operations)}


def _engagement_paths() -> Json:
    legacy = "legacy mobile"
    vid = [_path_id("video_id")]
    return {
        **_legacy_both("/videos/{video_id}/comments/", {
            "get": _op(
                "Legacy app: a video's comments, oldest first (the first 200).", legacy,
                {"200": _json("LegacyComments", "The comments.")}, auth=True, params=vid,
                errors=_NO_VIDEO),
            "post": _op(
                "Legacy app: comment. Only text is used; the author is the token's.", legacy,
                {"201": _json("LegacyChatMessage", "The comment as a chat message.")},
                auth=True, params=vid,
                body=_body(views_legacy.LegacyComment,
                           {"author": "sam", "text": "What a sunset!", "avatarURL": None,
                            "createdAt": TIME}),
                errors={**_NO_VIDEO, **_NOT_READY, **_LOCKED, **_COMMENT_LIMITS}),
        }),
        **_legacy_both("/videos/{video_id}/reactions", {
            "post": _op(
                "Legacy app: set or replace my reaction.", legacy,
                {"200": _json("LegacyReactionSet", "The counts after it.")}, auth=True,
                params=vid,
                body=_body(views_legacy.LegacyReaction, {"reaction_kind": "flame"}),
                errors={**_NO_VIDEO, **_NOT_READY, **_LOCKED,
                        "422": _problem("Not heart, flame, funny or angry.",
                                        "invalid_reaction", 422)}),
            "delete": _op("Legacy app: remove my reaction.", legacy, {"204": _NO_CONTENT},
                          auth=True, params=vid, errors=_NO_VIDEO),
            "get": _op("Legacy app: who reacted, newest first (the first 200).", legacy,
                       {"200": _json("LegacyReactors", "The reactions.")}, auth=True,
                       params=vid, errors=_NO_VIDEO),
        }),
    }


# ---------------------------------------------------------------- ranking and statistics

_WEIGHTS_EXAMPLE = {name: getattr(RankingWeights(), name) for name in WEIGHT_FIELDS}
_MOMENT_EXAMPLE = {
    "day": "2026-11-27", "time_zone": "Europe/Minsk", "status": "open",
    "moment_at": "2026-11-27T08:17:26+00:00", "window_ends_at": "2026-11-27T08:19:26+00:00",
    "window_seconds": 120,
}
_STANDING_EXAMPLE = {"rank": 3, "points": 120, "user": _CARD_EXAMPLE}
_STATS_POINT_EXAMPLE = {
    "start": "2026-11-26", "new_users": 14, "dau": 310, "wau": 820, "mau": 1900,
    "uploads": 240, "reactions": 1800, "comments": 420,
}
_BOARD_SCOPES = [s.value for s in Scope]
_BOARD_PERIODS = [p.value for p in Period]
_DAY: Json = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
EXAMPLES.update({
    "Moment": _MOMENT_EXAMPLE,
    "Leaderboard": {
        "scope": "global", "period": "week", "since": "2026-11-23T00:00:00+00:00",
        "items": [{"rank": 1, "points": 310, "user": dict(_CARD_EXAMPLE, id=57,
                                                          nickname="kate", name="Kate")},
                  {"rank": 2, "points": 205, "user": dict(_CARD_EXAMPLE, id=61,
                                                          nickname="max", name="Max")}],
        "next_cursor": paging.encode("board:global:week", 205, 61),
        "me": _STANDING_EXAMPLE,
        "neighbours": [
            {"rank": 2, "points": 205, "user": dict(_CARD_EXAMPLE, id=61, nickname="max",
                                                    name="Max")},
            {"rank": 4, "points": 96, "user": dict(_CARD_EXAMPLE, id=70, nickname="lena",
                                                   name="Lena")},
        ],
    },
    "UserStats": {
        "user_id": 43, "videos": 31, "reactions": {"heart": 64, "flame": 20, "funny": 11,
                                                   "angry": 1},
        "comments": 12, "on_time_posts": 9, "current_streak": 3, "max_streak": 9,
        "max_reactions": 41, "rating": 120, "rank": 3,
        "views": 1520, "watched_seconds": 9307.25, "completion_rate": 0.64,
    },
    "Stats": {"interval": "day", "points": [
        _STATS_POINT_EXAMPLE,
        dict(_STATS_POINT_EXAMPLE, start="2026-11-27", new_users=9, dau=295, uploads=231),
    ]},
    "Weights": _WEIGHTS_EXAMPLE,
})

_NOT_ADMIN = {"403": _problem("Needs the admin role (insufficient_role); or the account is "
                              "banned or suspended.", "insufficient_role", 403)}


# ---------------------------------------------------------------- moderation and administration

_TARGET_TYPES = [t.value for t in TargetType]
_REPORT_REASONS = [r.value for r in ReportReason]
_CASE_STATUSES = [s.value for s in CaseStatus]
_APPEAL_STATUSES = [s.value for s in AppealStatus]
_ROLES = [r.value for r in Role]
_ACCOUNT_STATUSES = [s.value for s in AccountStatus]
_REPORT_EXAMPLE = {"id": 7001, "case_id": 700, "reporter_id": 43, "reason": "spam",
                   "note": "Same clip posted ten times.", "created_at": TIME}
_CASE_EXAMPLE = {
    "id": 700, "target_type": "video", "target_id": 1001, "owner_id": 42, "status": "open",
    "report_count": 3, "reasons": ["spam", "other"], "held": True, "assignee_id": 9,
    "opened_at": TIME, "action": None, "decided_by": None, "decided_at": None,
    "decision_reason": None, "suspended_until": None,
}
_CASE_DECIDED_EXAMPLE = dict(
    _CASE_EXAMPLE, status="resolved", held=False, action="suspend", decided_by=9,
    decided_at="2026-11-27T09:10:00+00:00", decision_reason="Spam, again.",
    suspended_until="2026-12-04T09:10:00+00:00",
)
_CASE_DETAIL_EXAMPLE = dict(_CASE_EXAMPLE, target={
    "type": "video", "id": 1001,
    "owner": dict(_CARD_EXAMPLE, id=42, nickname="alex", name="Alex"),
    "text": "Sunset over the Svislach", "status": "held", "video_id": 1001,
    "thumbnail_url": "https://media.momentic.app/thumbs/1001.jpg?exp=1796372400&sig=9f2c",
}, reports=[_REPORT_EXAMPLE, dict(_REPORT_EXAMPLE, id=7002, reporter_id=57, reason="other",
                                  note=None)])
_APPEAL_EXAMPLE = {
    "id": 710, "case_id": 700, "user_id": 42, "body": "It was a different clip each time.",
    "status": "pending", "created_at": TIME, "decided_by": None, "decided_at": None,
    "decision_reason": None,
}
_ADMIN_USER_EXAMPLE = {
    "id": 42, "email": "alex@bsu.by", "email_verified": True, "nickname": "alex",
    "name": "Alex", "surname": None, "avatar_url": None, "role": "user", "status": "active",
    "suspended_until": None, "strikes": 1, "created_at": TIME,
}
_AUDIT_EXAMPLE = {
    "id": 880, "actor_id": 9, "action": "case.resolve", "target_type": "video",
    "target_id": 1001, "reason": "Spam, again.", "created_at": TIME,
    "data": {"case_id": 700, "decision": "suspend",
             "suspended_until": "2026-12-04T09:10:00+00:00"},
}
_SETTINGS_EXAMPLE = {
    "effective": {"allowed_email_domains": ["bsu.by", "*.edu"], "max_video_bytes": 100000000,
                  "max_video_seconds": 60.0, "bereal_lock": True, "report_threshold": 3,
                  "staff_mfa_required": True, "for_you_completion_weight": 0.0,
                  "rate_limits": {"comment:user": {"count": 10, "window_seconds": 60}}},
    "stored": {"allowed_email_domains": ["bsu.by", "*.edu"], "max_video_bytes": None,
               "max_video_seconds": None, "bereal_lock": None, "report_threshold": None,
               "staff_mfa_required": True, "for_you_completion_weight": None,
               "rate_limits": {"comment:user": {"count": 10, "window_seconds": 60}}},
    "rate_limit_defaults": {"comment:user": {"count": 30, "window_seconds": 60},
                            "login:ip": {"count": 30, "window_seconds": 300}},
}
EXAMPLES.update({
    "Report": _REPORT_EXAMPLE,
    "Case": _CASE_DECIDED_EXAMPLE,
    "CaseDetail": _CASE_DETAIL_EXAMPLE,
    "CasePage": {"items": [_CASE_DETAIL_EXAMPLE],
                 "next_cursor": paging.encode("case", 3, TIME, 700)},
    "Appeal": _APPEAL_EXAMPLE,
    "AppealPage": {"items": [_APPEAL_EXAMPLE], "next_cursor": paging.encode("appeal", 710)},
    "AdminUser": _ADMIN_USER_EXAMPLE,
    "AdminUserPage": {"items": [_ADMIN_USER_EXAMPLE],
                      "next_cursor": paging.encode("admin-user", 42)},
    "UserRole": {"user_id": 42, "role": "moderator"},
    "AuditEntry": _AUDIT_EXAMPLE,
    "AuditPage": {"items": [_AUDIT_EXAMPLE], "next_cursor": paging.encode("audit", 880)},
    "Settings": _SETTINGS_EXAMPLE,
})


# GET /v1/me/export: one document, every section an array of the API's own item shapes
# where one fits (momentic_core.services.profiles EXPORT_SECTIONS; a test checks both
# name the same sections, in the order the server writes them).
EXAMPLES["Export"] = {
    "exported_at": TIME,
    "account": EXAMPLES["Me"],
    "videos": [_VIDEO_EXAMPLE],
    "comments": [dict(_COMMENT_EXAMPLE, hidden=False)],
    "reactions": [{"video_id": 1001, "kind": "heart", "created_at": TIME}],
    "comment_likes": [{"comment_id": 501, "video_id": 1001, "created_at": TIME}],
    "friends": [{"user": _CARD_EXAMPLE, "since": TIME}],
    "friend_requests_sent": [],
    "friend_requests_received": [{"user": _CARD_EXAMPLE, "since": TIME}],
    "blocks": [],
    "reports": [dict(_REPORT_EXAMPLE, target_type="video", target_id=1001)],
    "appeals": [_APPEAL_EXAMPLE],
    "notifications": [_NOTIFICATION_EXAMPLE],
    "sessions": [dict(EXAMPLES["SessionList"]["items"][0], revoked_at=None)],
    "linked_identities": [{"provider": "apple", "email": "alex@bsu.by", "linked_at": TIME}],
    "audit": [_AUDIT_EXAMPLE],
}

_ADMIN_ONLY = {"403": _problem("Needs the admin role (insufficient_role); or the account "
                                "is banned or suspended.", "insufficient_role", 403)}
_NOT_STAFF = {"403": _problem("Needs the moderator role (insufficient_role); or the account "
                              "is banned or suspended.", "insufficient_role", 403)}
_NO_CASE = {"404": _problem("No such case.", "case_not_found", 404)}
_CASE_TAKEN = {"409": _problem("The case is closed (case_closed), or another moderator has "
                               "it (case_assigned; admins may take it over).", "case_closed",
                               409)}


def _choice(name: str, values: list[str], default: str | None, example: str) -> Json:
    schema: Json = {"type": "string", "enum": [*values, "all"]}
    if default is not None:
        schema["default"] = default
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": "all: any." + ("" if default is None else f" Default {default}."),
            "example": example}


# ---------------------------------------------------------------- WebSockets

_WS_V1 = """\
One multiplexed WebSocket for live updates (RFC 6455). Send the access token at the \
handshake: `Authorization: Bearer <token>` or, from a browser, the subprotocols \
`bearer, <token>` (the server answers with the subprotocol `bearer`). A missing or bad \
token is a 401 problem+json and no socket opens; a plain request without the handshake is \
426.

Frames are JSON text; at most 4 KiB from the client (larger closes with 1009), at most \
50 channels per socket and 16 sockets per user. The server pings every 30 s.

Client frames:
- `{"op": "subscribe", "channel": "video:12"}`: a video I may see (comments, reaction \
counts). My own `user:<id>` channel (notifications, my videos' states) is subscribed at \
connect.
- `{"op": "unsubscribe", "channel": "video:12"}`
- `{"op": "ping"}`

Server frames:
- `{"type": "hello", "user_id": 42, "channels": ["user:42"], "expires_at": "..."}`
- `{"type": "subscribed", "channel": "video:12"}`, `{"type": "unsubscribed", ...}`
- `{"type": "unsubscribed", "channel": "video:12", "reason": "access_changed"}`: the \
server dropped a subscription because I may no longer see the video (a block or unfriend \
either way, the BeReal lock, the video held or removed by moderation); subscribe again \
only after access returns.
- `{"type": "event", "channel": "video:12", "event": "comment.created", "data": {...}}`. \
Events: on `video:<id>` `comment.created`, `comment.edited` (data: a comment with \
`author` {id, nickname, name, surname, avatar_url} and, on create, the video's \
`comment_count`), `comment.deleted` {id, video_id, parent_id, comment_count}, \
`comment.liked` {id, video_id, like_count}, `comment.hidden` {id, video_id, parent_id, \
comment_count} (moderation held or removed it), `video.hidden` {video_id} (held or \
removed; only its author and staff stay subscribed), `reactions.changed` {video_id, reactions}; \
on `user:<id>` `notification.created` (a Notification, actor with avatar_url) and \
`video.status` {video_id, status, reason}. Comments and notifications of users \
blocked either way with me are not delivered.
- `{"type": "error", "code": "channel_forbidden", "detail": "...", "channel": "user:7"}`: \
codes invalid_frame, unknown_op, invalid_channel, channel_forbidden, video_not_found, \
too_many_subscriptions, rate_limited.
- `{"type": "pong"}`

Close codes: 4401 the access token expired, the session was revoked (logout, password \
change) or the account was banned, suspended or deleted: refresh or sign in, then \
reconnect; 4408 the client read too slowly and its backlog filled; 1001 the server is \
shutting down; 1009 a frame over 4 KiB."""

_WS_CHAT = """\
Legacy app: new comments of one video, live. Each text frame is a chat message \
(LegacyChatMessage: {"id", "author", "text", "avatar_url", "created_at", "like_count", \
"liked_by_me"}) for each new top-level comment. Send the access token as \
`Authorization: Bearer <token>` (401 problem+json without one, before any upgrade). \
Choose the video with `?video_id=` at connect and/or by sending a text frame \
`{"video_id": 12}`, which moves the chat to that video. A video I may not see (or no \
longer may see: a block, an unfriend, moderation) closes the \
socket with 4404 (with `?video_id=`, the handshake is refused with 404); a frame of \
another shape closes it with 1008. Closes with 4401 and 4408 as GET /v1/ws."""

_WS_ERRORS = {
    "426": _problem("Not a WebSocket handshake.", "upgrade_required", 426),
    "429": _problem("Too many open sockets for this user.", "too_many_sockets", 429),
    "503": _problem("The server is shutting down.", "shutting_down", 503),
}
_SWITCHING = {"101": {"description": "Switching protocols: the socket is open."}}


def _live_paths() -> Json:
    return {
        "/v1/ws": {"get": dict(_op(
            "Live updates over one WebSocket.", "live", _SWITCHING, auth=True,
            errors=_WS_ERRORS), description=_WS_V1)},
        **_legacy_both("/ws/chat", {"get": dict(_op(
            "Legacy app: live comments of a video over a WebSocket.", "legacy mobile",
            _SWITCHING, auth=True,
            params=[{"name": "video_id", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                     "example": 1001}],
            errors={**_WS_ERRORS, **_NO_VIDEO}), description=_WS_CHAT)}),
    }


# OpenAPI links: where an id in one answer (or request) is the id another operation takes.
# (source operationId, status, target operationIds, {parameter: runtime expression}).
# Clients (and schemathesis' stateful phase) follow them: create, then read, change, delete.
_VIDEO_ID = {"video_id": "$response.body#/id"}
_VIDEO_OPS = ("get_v1_videos_video_id", "patch_v1_videos_video_id", "delete_v1_videos_video_id",
              "get_v1_videos_video_id_comments", "post_v1_videos_video_id_comments",
              "put_v1_videos_video_id_reaction", "get_v1_videos_video_id_reactions",
              "post_v1_videos_video_id_view")
_COMMENT_OPS = ("get_v1_comments_comment_id", "patch_v1_comments_comment_id",
                "delete_v1_comments_comment_id", "get_v1_comments_comment_id_replies",
                "put_v1_comments_comment_id_like", "delete_v1_comments_comment_id_like")
_CASE_OPS = ("get_v1_mod_cases_case_id", "post_v1_mod_cases_case_id_assign",
             "post_v1_mod_cases_case_id_resolve")
_UPLOAD_OPS = ("get_v1_uploads_upload_id", "post_v1_uploads_upload_id_complete")
_USER_OPS = ("get_v1_users_user_id", "get_v1_users_user_id_videos", "get_v1_users_user_id_stats")
_LINKS: list[tuple[str, str, tuple[str, ...], dict[str, str]]] = [
    ("post_v1_videos", "201", _VIDEO_OPS, _VIDEO_ID),
    ("get_v1_videos_video_id", "200", _VIDEO_OPS[1:], _VIDEO_ID),
    ("post_v1_uploads_upload_id_complete", "200", _VIDEO_OPS, _VIDEO_ID),
    ("post_v1_uploads", "201", _UPLOAD_OPS, {"upload_id": "$response.body#/id"}),
    ("post_v1_uploads", "201", ("put_v1_uploads_upload_id_parts_part",),
     {"upload_id": "$response.body#/id", "part": "$response.body#/parts/0/number"}),
    ("get_v1_feed_global", "200", _VIDEO_OPS, {"video_id": "$response.body#/items/0/video/id"}),
    ("post_v1_videos_video_id_comments", "201", _COMMENT_OPS,
     {"comment_id": "$response.body#/id"}),
    ("get_v1_videos_video_id_comments", "200", _COMMENT_OPS,
     {"comment_id": "$response.body#/items/0/id"}),
    ("get_v1_me", "200", _USER_OPS, {"user_id": "$response.body#/id"}),
    ("get_v1_users_search", "200", (*_USER_OPS, "put_v1_blocks_user_id"),
     {"user_id": "$response.body#/items/0/id"}),
    ("get_v1_friend_requests", "200",
     ("post_v1_friend_requests_user_id_accept", "post_v1_friend_requests_user_id_decline",
      "delete_v1_friend_requests_user_id"),
     {"user_id": "$response.body#/items/0/user/id"}),
    ("get_v1_friends", "200", ("delete_v1_friends_user_id", *_USER_OPS),
     {"user_id": "$response.body#/items/0/user/id"}),
    ("put_v1_blocks_user_id", "204", ("delete_v1_blocks_user_id",),
     {"user_id": "$request.path.user_id"}),
    ("get_v1_blocks", "200", ("delete_v1_blocks_user_id",),
     {"user_id": "$response.body#/items/0/user/id"}),
    ("get_v1_notifications", "200", ("post_v1_notifications_notification_id_read",),
     {"notification_id": "$response.body#/items/0/id"}),
    ("post_v1_reports", "201", _CASE_OPS, {"case_id": "$response.body#/case_id"}),
    ("get_v1_mod_cases", "200", _CASE_OPS, {"case_id": "$response.body#/items/0/id"}),
    ("get_v1_mod_cases_case_id", "200", _CASE_OPS[1:], {"case_id": "$response.body#/id"}),
    ("post_v1_appeals", "201", ("post_v1_mod_appeals_appeal_id_decide",),
     {"appeal_id": "$response.body#/id"}),
    ("get_v1_mod_appeals", "200", ("post_v1_mod_appeals_appeal_id_decide",),
     {"appeal_id": "$response.body#/items/0/id"}),
    ("post_v1_users_user_id_mute", "204", ("delete_v1_users_user_id_mute",),
     {"user_id": "$request.path.user_id"}),
    ("get_v1_me_mutes", "200", ("delete_v1_users_user_id_mute",),
     {"user_id": "$response.body#/items/0/user/id"}),
    ("get_v1_admin_users", "200",
     ("put_v1_admin_users_user_id_role", "post_v1_mod_users_user_id_ban",
      "post_v1_mod_users_user_id_suspend", "post_v1_mod_users_user_id_unban"),
     {"user_id": "$response.body#/items/0/id"}),
]


def _add_links(paths: Json) -> None:
    by_id = {op["operationId"]: op for ops in paths.values() for op in ops.values()}
    for source, status, targets, parameters in _LINKS:
        responses = by_id[source]["responses"]
        # A copy: response objects such as _NO_CONTENT are shared between operations.
        responses[status] = response = {**responses[status]}
        links = response["links"] = {**response.get("links", {})}
        for target in targets:
            params = {name: expr for name, expr in parameters.items()
                      if any(p["name"] == name for p in by_id[target].get("parameters", []))}
            links[target] = {"operationId": target, "parameters": params}


# Text anywhere (path, query, JSON body fields, form fields) may not hold U+0000:
# no PostgreSQL text or jsonb value can, and nobody types it (adapters/http/middlewares.py
# nul_character). Every free string of a request says so, and every 422 names the code.
_NUL_NOTE = (" Text holding a NUL character (U+0000), in the path, the query, a body field "
             "or a form field, is 422 nul_character (with `field`).")
_refuse_nul = refuse_nul


_ENCODING_NOTE = ("A body in any Content-Encoding but identity (gzip, br, ...) is 415 "
                  "unsupported_encoding, with Accept-Encoding: identity: bodies are never "
                  "inflated.")


def _edge_rules(op: Json) -> None:
    """What every operation refuses at the edge (adapters/http/middlewares.py), said in its
    request schemas and responses: text holding a NUL character (its 422), and a body in
    a content coding (the 415 of every operation that takes one)."""
    if "parameters" in op:
        op["parameters"] = [{**p, "schema": _refuse_nul(p["schema"])} for p in op["parameters"]]
    if "requestBody" in op:
        body = op["requestBody"]
        op["requestBody"] = {**body, "content": {
            media: {**content, "schema": _refuse_nul(content["schema"])}
            for media, content in body["content"].items()
        }}
    unprocessable = op["responses"]["422"]
    if "nul_character" not in unprocessable["description"]:
        op["responses"]["422"] = {**unprocessable,
                                  "description": unprocessable["description"] + _NUL_NOTE}
    if "requestBody" in op:
        unsupported = op["responses"].get("415")
        if unsupported is None:
            op["responses"]["415"] = _problem(_ENCODING_NOTE, "unsupported_encoding", 415)
        elif "unsupported_encoding" not in unsupported["description"]:
            op["responses"]["415"] = {
                **unsupported, "description": f"{unsupported['description']} {_ENCODING_NOTE}"
            }


# ---------------------------------------------------------------- error codes
#
# Each problem response lists the codes it may carry (``x-error-codes`` and its
# description): the one of its example, the catalogued codes its description names, and
# those declared below. Every code of the catalogue (momentic_core/errors.py) is under
# the operations that can answer it; tests/e2e/test_openapi.py checks both ways.

_TOKEN_CODES = ("missing_token", "invalid_token", "token_expired", "token_revoked",
                "unauthenticated")
_REFUSED_ACCOUNT = ("account_banned", "account_suspended")
_NEW_PASSWORD = ("password_too_short", "password_too_long", "password_too_common")
_SIGN_UP = ("invalid_email", "email_domain_not_allowed", *_NEW_PASSWORD)
_PROFILE_TEXT = ("name_too_long", "surname_too_long", "bio_too_long", "control_characters")
_UPLOAD = ("invalid_visibility", "description_too_long", "control_characters",
           "malformed_multipart", "multipart_required", "storage_unavailable")
_PARTS = ("invalid_part", "invalid_part_size", "part_too_large", "storage_unavailable",
          "upload_complete")
_COMMENT = ("comment_empty", "comment_too_long", "control_characters", "comment_held")
_FRIEND_REQUEST = ("cannot_target_self", "already_friends", "request_exists", "user_blocked")
_REASON = ("reason_too_long", "control_characters")
_MOD_ACTION = (*_REASON, "own_case", "cannot_target_self", "concurrent_update")
# operationId: the codes its use case can raise beyond those its responses name.
CODES_BY_OPERATION: dict[str, tuple[str, ...]] = {
    "post_auth_register": _SIGN_UP,
    "post_auth_verify_code": ("invalid_code", "email_taken"),
    "post_auth_refresh": ("invalid_refresh_token", "refresh_token_reused"),
    "patch_user_profile": _PROFILE_TEXT,
    "post_videos": _UPLOAD,
    "patch_videos_video_id": ("video_moderated", "description_too_long"),
    "patch_user_avatar": ("undecodable", "storage_unavailable"),
    "post_videos_video_id_comments": (*_COMMENT, "reply_depth"),
    "post_videos_video_id_comments_slash": (*_COMMENT, "reply_depth"),
}
# Every operation with a JSON body (the body checks of common.read_json and structure).
_BODY_CODES = ("body_required", "malformed_json", "nul_character", "field_too_long")
# What any operation may answer (the edge: a request aiohttp refuses, a body too slow, a
# storage conflict no one foresaw).
_ANY_CODES = ("bad_request", "validation_failed", "conflict", "internal_error")
# Answered by the router for what no operation takes, so under no operation.
# The password and social sign-ins of a two-factor account (openapi_mfa, issue 21).
CODES_BY_OPERATION["post_auth_login"] = (*CODES_BY_OPERATION.get("post_auth_login", ()),
                                         "mfa_required")
OUTSIDE_OPERATIONS = {
    "mfa_enrolment_required": "every /v1/admin and /v1/mod operation answers it to an admin "
                              "or moderator without two-factor authentication while the "
                              "runtime setting staff_mfa_required is on",
    "method_not_allowed": "a method the path does not take (Allow lists those it does)",
    "error": "the base kind, never raised as it is",
    "forbidden": "Forbidden's fallback code: every raise names a specific one",
    "too_large": "TooLarge's fallback code: every raise names a specific one",
    "not_found": "the PostgreSQL adapter's fallback for a foreign key MISSING_PARENTS does "
                 "not name (each one is named there)",
}
# Sent in a WebSocket error frame of GET /v1/ws (its description), not as an HTTP answer.
FRAME_CODES = ("invalid_frame", "unknown_op", "invalid_channel", "channel_forbidden",
               "too_many_subscriptions", "validation_failed")


def _status_of(code: str) -> str:
    entry = CATALOGUE[code]
    if entry.kind is None:  # the edge's: its own kinds, the router's answers, a 500
        edge = {kind.code: s for kind, s in STATUS.items()} | {
            c: s for s, c in HTTP_CODES.items()}
        return str(edge[code]) if code in edge else "default"
    if entry.kind is MomenticError:
        return "default"
    return str(next(s for kind, s in STATUS.items() if issubclass(entry.kind, kind)))


def _codes_named(text: str) -> set[str]:
    """The codes a description names (one-word codes such as ``conflict`` are prose too)."""
    return {word for word in re.findall(r"[a-z][a-z0-9]*_[a-z0-9_]+", text) if word in CATALOGUE}


def _list_codes(op: Json, declared: tuple[str, ...]) -> None:
    """Every problem response of ``op`` names the codes it may carry."""
    codes = set(declared) | set(_ANY_CODES)
    if "security" in op:
        codes |= {*_TOKEN_CODES, *_REFUSED_ACCOUNT}
    if any(p["in"] == "path" and p["schema"].get("type") == "integer"
           for p in op.get("parameters", [])):
        codes.add("invalid_id")
    body = op.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        codes |= set(_BODY_CODES)
    if body:
        codes |= {"body_timeout", "unsupported_encoding"}
    by_status: dict[str, set[str]] = {}
    responses = op["responses"]
    for status, response in responses.items():
        problem = response.get("content", {}).get("application/problem+json")
        if problem is not None:
            by_status.setdefault(status, set()).update(
                {problem["example"]["code"]} | _codes_named(response["description"]))
    # The operation's own codes first: a status it adds takes its example from the first.
    for code in [*dict.fromkeys(declared), *sorted(codes - set(declared))]:
        status = _status_of(code)
        if status not in responses:
            responses[status] = _problem(CATALOGUE[code].description, code, int(
                500 if status == "default" else status))
        by_status.setdefault(status, set()).add(code)
    for status, named in by_status.items():
        response = responses[status] = {**responses[status]}
        response["x-error-codes"] = sorted(named)
        response["description"] += " Codes: " + ", ".join(f"`{c}`" for c in sorted(named)) + "."


def _error_code_schema() -> Json:
    """The catalogue, as an enumeration with a line per code (clients switch on ``code``)."""
    lines = [f"- `{c}` ({_status_of(c)}): {e.description}" for c, e in sorted(CATALOGUE.items())]
    return {"type": "string", "enum": sorted(CATALOGUE),
            "description": "Every stable problem code, its status and meaning. New codes "
            "may be added: handle an unknown one by its HTTP status.\n\n" + "\n".join(lines)}


# The areas operations are tagged with, in the order a reader meets them.
TAGS: list[Json] = [
    {"name": "system", "description": "Liveness, readiness and this document."},
    {"name": "auth", "description": "Sign-up, email verification, tokens, password reset."},
    {"name": "profile", "description": "My account, sessions, export; public profiles."},
    {"name": "videos", "description": "Uploads (one request or in parts), videos, limits."},
    {"name": "friends", "description": "Friend requests, friends, blocks, user search."},
    {"name": "feeds", "description": "The friends, global and For-You feeds."},
    {"name": "engagement", "description": "Reactions, comments, likes, views."},
    {"name": "notifications", "description": "My notifications, push devices and what is "
     "pushed to me."},
    {"name": "ranking", "description": "Daily moments, leaderboards, stats, ranking weights."},
    {"name": "moderation", "description": "Reports, cases, appeals, bans and suspensions."},
    {"name": "admin", "description": "Roles, runtime settings, audit log, dashboard data."},
    {"name": "media", "description": "Signed media served by the app itself (local storage)."},
    {"name": "search", "description": "Hashtags, trending hashtags, search over "
     "descriptions and nicknames."},
    {"name": "live", "description": "WebSocket updates."},
    {"name": "legacy mobile", "description": "The first mobile app's routes, kept working."},
]


# The answers of the operations, by component: every view a response names (the views
# they refer to come along). Each is generated from its class and closed.
VIEWS: tuple[type, ...] = (
    views.ProblemView, views.StatusOut, views.TokenView, views.MeView, views.PublicUserView,
    views.AccountStatusOut, views.VideoOut, views.VideoPage, views.SessionList,
    views.Accepted, views.ConfigOut, views.UploadOut, views.StoredPartOut,
    views.AvatarUrlOut, views.ContactPage, views.UserSearchPage, views.RelationOut,
    views.FeedPageOut, views.FriendsFeedOut, views.RankedPageOut, views.ReactionsOut,
    views.ReactorPage, views.CommentOut, views.CommentPage, views.LikeOut,
    views.NotificationOut, views.NotificationPage, views.MarkedRead, views.MomentOut,
    views.LeaderboardOut, views.UserStatsOut, views.StatsOut, views.WeightsOut,
    views.ReportOut, views.CaseOut, views.CaseDetailOut, views.CasePage, views.AppealOut,
    views.AppealPage, views.AdminUserOut, views.AdminUserPage, views.RoleOut,
    views.AuditOut, views.AuditPage, views.SettingsOut, views.ExportOut,
    views_devices.DeviceView, views_devices.DeviceList,
    views_devices.NotificationSettingsView, views_mfa.EnrolmentView,
    views_mfa.RecoveryCodesView, views_mfa.MfaStatusView, views_legacy.LegacyStatus,
    views_legacy.LegacyTokens, views_legacy.LegacyVerified, views_legacy.LegacyUpload,
    views_legacy.LegacyChatMessage, views_legacy.LegacyReactionSet,
)
# Answers that are arrays (the legacy app reads bare lists), by component name.
LISTS: dict[str, Any] = {
    "LegacyFriendVideos": list[views_legacy.LegacyFriendVideo],
    "LegacyComments": list[views_legacy.LegacyCommentRow],
    "LegacyReactors": list[views_legacy.LegacyReactor],
}


def _components() -> Json:
    """Every schema of the document: the views' (closed), the request bodies' met while
    writing the paths (open), and the error codes. A name two classes would share with
    different schemas stops the build."""
    built = Components()
    for view in VIEWS:
        built.ref(view)
    for name, tp in LISTS.items():
        built.schemas[name] = built.schema(tp)
    schemas: Json = dict(built.schemas)
    for source in (_VIEWS.schemas, _REQUESTS.schemas, SCHEMAS):
        for name, schema in source.items():
            if schemas.setdefault(name, schema) != schema:
                raise AssertionError(f"two schemas named {name}")
    return {**schemas, "ErrorCode": _error_code_schema()}


def _share_problems(paths: Json) -> Json:
    """Problem responses that several operations give alike (the same codes and words)
    become one component each, referenced from the operations. The 415 and 422 stay in
    place: they carry each operation's own words."""
    uses: dict[str, int] = {}
    for operations in paths.values():
        for op in operations.values():
            for status, response in op["responses"].items():
                if "x-error-codes" in response and status not in ("415", "422"):
                    key = json.dumps(response, sort_keys=True)
                    uses[key] = uses.get(key, 0) + 1
    shared: Json = {}
    names: dict[str, str] = {}
    # Named in the order of the paths, so that a name does not depend on the order the
    # route tables list them in.
    for _, operations in sorted(paths.items()):
        for _, op in sorted(operations.items()):
            for status, response in op["responses"].items():
                key = json.dumps(response, sort_keys=True)
                if uses.get(key, 0) < 2:
                    continue
                if key not in names:
                    codes = response["x-error-codes"]
                    base = f"{status}_{codes[0]}" + ("_etc" if len(codes) > 1 else "")
                    name, n = base, 1
                    while name in shared:
                        n += 1
                        name = f"{base}_{n}"
                    names[key] = name
                    shared[name] = response
                op["responses"][status] = {"$ref": f"#/components/responses/{names[key]}"}
    return shared


def _tables() -> list[web.RouteTableDef]:
    """Every route table the app serves (adapters/http/app.py), /metrics with its own."""
    from adapters.http import (
        live,
        metrics,
        routes_admin,
        routes_auth,
        routes_devices,
        routes_email,
        routes_engagement,
        routes_legacy,
        routes_me,
        routes_mfa,
        routes_mod,
        routes_ranking,
        routes_search,
        routes_share,
        routes_social,
        routes_system,
        routes_videos,
    )

    return [
        routes_system.routes, routes_system.docs_routes, routes_auth.routes,
        routes_social.routes, routes_me.routes, routes_videos.routes,
        routes_engagement.routes, routes_mod.routes, routes_admin.routes,
        routes_ranking.routes, routes_legacy.routes, routes_devices.routes,
        routes_mfa.routes, routes_email.routes, routes_share.routes, routes_search.routes,
        live.routes, metrics.metrics_routes(""),
    ]


# The files of Swagger UI, served with /docs: not operations.
DOCS_ASSETS = "/docs/assets/"


def route_path(route: web.RouteDef) -> str:
    """The path template of a route as the document writes it (``{key}``, not
    ``{key:.+}``)."""
    return re.sub(r"\{(\w+):[^{}]*\}", r"{\1}", route.path)


def _declarations() -> list[tuple[str, str, Contract]]:
    """(path, method, declaration) of every route whose handler declares its contract.
    A legacy route served with and without its trailing slash is two routes of one
    handler, so both are documented alike."""
    found = []
    for table in _tables():
        for route in table:
            if not isinstance(route, web.RouteDef) or route.path.startswith(DOCS_ASSETS):
                continue
            declaration = declared(route.handler)
            if declaration is not None:
                found.append((route_path(route), route.method.lower(), declaration))
    return found


def _answer(answer: Answer) -> Json:
    out: Json = {"description": answer.description}
    if answer.content is not None:
        out["content"] = answer.content
    elif answer.view is not None:
        schema = _VIEWS.schema(answer.view)
        name = schema["$ref"].rsplit("/", 1)[1]
        out["content"] = {"application/json": {
            "schema": schema,
            "example": EXAMPLES[name] if answer.example is DEFAULT else answer.example,
        }}
    if answer.headers is not None:
        out["headers"] = answer.headers
    return out


def answer_types() -> list[Any]:
    """Every view (or named list) a declared operation answers with."""
    return [answer.view for _, _, declaration in _declarations()
            for answer in declaration.responses.values() if answer.view is not None]


def _operation(c: Contract) -> Json:
    """The operation a handler's declaration describes."""
    body: Json | None = None
    if c.body is not None:
        body = ({"required": c.body.required, "content": c.body.content}
                if c.body.content is not None
                else _body(c.body.cls, c.body.example, c.body.required, c.body.media))
    op = _op(c.summary, c.tag, {str(s): _answer(a) for s, a in c.responses.items()},
             body=body, auth=c.auth, params=[copy.deepcopy(p) for p in c.params],
             errors={p.status: _problem(p.description, p.code,
                                        500 if p.status == "default" else int(p.status))
                     for p in c.problems})
    if c.token_optional:
        op["security"] = [{"bearer": []}, {}]
    if c.description is not None:
        op["description"] = c.description
    return op


@functools.cache
def document() -> Json:

    paths = {**_paths(), **_video_paths(), **_social_paths(), **_engagement_paths(),
             **_live_paths(),
}
    declared_codes: dict[tuple[str, str], tuple[str, ...]] = {}
    for path, method, declaration in _declarations():
        paths.setdefault(path, {})[method] = _operation(declaration)
        declared_codes[path, method] = declaration.codes
    for path, operations in paths.items():
        for method, op in operations.items():
            _edge_rules(op)
            slug = path.strip("/").replace("/", "_").replace("{", "").replace("}", "") or "root"
            if path.endswith("/") and path.rstrip("/") in paths:
                slug += "_slash"  # a legacy path served with and without the slash
            op["operationId"] = f"{method}_{slug}".replace("-", "_").replace(".", "_")
            codes = declared_codes.get((path, method))
            if codes is None:
                codes = CODES_BY_OPERATION.get(  # a legacy twin answers as its path
                    op["operationId"], CODES_BY_OPERATION.get(op["operationId"].removesuffix(
                        "_slash"), ()))
            _list_codes(op, codes)
    switching = paths["/v1/ws"]["get"]["responses"]["101"]
    switching["x-error-codes"] = sorted(FRAME_CODES)
    switching["description"] += " Error frames carry codes: " + ", ".join(
        f"`{c}`" for c in sorted(FRAME_CODES)) + "."
    _add_links(paths)
    responses = _share_problems(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Momentic API",
            "version": "1.0.0",
            "description": "Short videos, daily moments and friends. Errors are RFC 9457 "
            "problem+json with a stable `code`; every response carries `X-Request-Id`. "
            "Rate-limited responses carry `Retry-After` and `X-RateLimit-*`.",
        },
        "servers": [{"url": "/"}],
        "tags": TAGS,
        "components": {
            "schemas": _components(),
            "responses": responses,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
        "paths": paths,
    }


if __name__ == "__main__":  # make openapi: the document as /openapi.json serves it
    print(json.dumps(document(), indent=2, ensure_ascii=False))
