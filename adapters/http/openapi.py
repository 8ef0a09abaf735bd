"""The OpenAPI 3.1 document: every route, request and response, with examples.

Each handler declares its operation next to it (``@contract(...)``, adapters/http/
contract.py: summary, area, token, request body class, parameters, answers by status,
error codes). ``document()`` walks the route tables the app serves and builds an
operation from each declaration; the schemas come from the attrs classes those name
(adapters/http/schema.py): response views from the views modules, each request body from the
class its handler parses through the converter. What is written here is what every
operation shares (the token's and the edge's answers, the codes any operation may give),
the views' examples (by component), and the links between operations.
tests/e2e/test_openapi.py checks that every route declares its contract and that routes
and document match both ways; schemathesis runs against the app with this document.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any

from aiohttp import web

from adapters.http import paging, views
from adapters.http.contract import (
    DEFAULT,
    REFUSED_ACCOUNT,
    TIME,
    Answer,
    Body,
    Contract,
    declared,
    status_of,
)
from adapters.http.live import views as views_live
from adapters.http.schema import Components, refuse_nul
from momentic_core.errors import CATALOGUE
from momentic_core.model.ranking import WEIGHT_FIELDS, RankingWeights
from momentic_core.policies.rules import TRENDING_HOURS
from momentic_core.services import mfa

Json = dict[str, Any]


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


# The request bodies met while the paths are written: each a component generated from
# the class its handler parses (open, as the converter ignores other keys; free strings
# refuse U+0000 as converter.structure does).
_REQUESTS = Components(closed=False, requests=True)
# The answers met while the operations are built: each view a component (closed).
_VIEWS = Components()

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
        "qr_svg": '<svg xmlns="http://www.w3.org/2000/svg" width="196" height="196">'
                  '<title>QR code</title>...</svg>',
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


# ---------------------------------------------------------------- moderation and administration

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
                  "moment_reminder": False,
                  "rate_limits": {"comment:user": {"count": 10, "window_seconds": 60}}},
    "stored": {"allowed_email_domains": ["bsu.by", "*.edu"], "max_video_bytes": None,
               "max_video_seconds": None, "bereal_lock": None, "report_threshold": None,
               "staff_mfa_required": True, "for_you_completion_weight": None,
               "moment_reminder": None,
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


# ---------------------------------------------------------------- WebSockets

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
# those its handler declares (and, below, those every such operation may answer). Every
# code of the catalogue (momentic_core/errors.py) is under the operations that can answer
# it; tests/e2e/test_openapi.py checks both ways.

_TOKEN_CODES = ("missing_token", "invalid_token", "token_expired", "token_revoked",
                "unauthenticated")
# Every operation with a JSON body (the body checks of common.read_json and structure).
_BODY_CODES = ("body_required", "malformed_json", "nul_character", "field_too_long")
# What any operation may answer (the edge: a request aiohttp refuses, a body too slow, a
# storage conflict no one foresaw).
_ANY_CODES = ("bad_request", "validation_failed", "conflict", "internal_error")
# Answered outside any operation (by the router or the staff middleware), or never as such.
OUTSIDE_OPERATIONS = {
    "mfa_enrolment_required": "every /v1/admin and /v1/mod operation answers it to an admin "
                              "or moderator without two-factor authentication while the "
                              "runtime setting staff_mfa_required is on",
    "method_not_allowed": "a method the path does not take (Allow lists those it does)",
    "duplicate_content": "two uploads of one file by one author raced: the video "
                         "repository lets one row in, and the upload routes answer the "
                         "other with that video (never this code)",
    "error": "the base kind, never raised as it is",
    "forbidden": "Forbidden's fallback code: every raise names a specific one",
    "too_large": "TooLarge's fallback code: every raise names a specific one",
    "not_found": "the PostgreSQL adapter's fallback for a foreign key MISSING_PARENTS does "
                 "not name (each one is named there)",
}
# Sent in a WebSocket error frame of GET /v1/ws (its description), not as an HTTP answer.
FRAME_CODES = ("invalid_frame", "unknown_op", "invalid_channel", "channel_forbidden",
               "too_many_subscriptions", "validation_failed")


def _codes_named(text: str) -> set[str]:
    """The codes a description names (one-word codes such as ``conflict`` are prose too)."""
    return {word for word in re.findall(r"[a-z][a-z0-9]*_[a-z0-9_]+", text) if word in CATALOGUE}


def _list_codes(op: Json, declared: tuple[str, ...]) -> None:
    """Every problem response of ``op`` names the codes it may carry."""
    codes = set(declared) | set(_ANY_CODES)
    if "security" in op:
        codes |= {*_TOKEN_CODES, *REFUSED_ACCOUNT}
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
        status = status_of(code)
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
    lines = [f"- `{c}` ({status_of(c)}): {e.description}" for c, e in sorted(CATALOGUE.items())]
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


def _components() -> Json:
    """Every schema of the document: the views the operations answer with (closed) and
    Problem, the request bodies (open), and the error codes. A name two classes would
    share with different schemas stops the build."""
    _VIEWS.ref(views.ProblemView)
    schemas: Json = dict(_VIEWS.schemas)
    for name, schema in _REQUESTS.schemas.items():
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
    from adapters.http import metrics
    from adapters.http.admin import routes as admin
    from adapters.http.auth import email_change, mfa
    from adapters.http.auth import routes as auth
    from adapters.http.devices import routes as devices
    from adapters.http.engagement import routes as engagement
    from adapters.http.legacy import routes as legacy
    from adapters.http.live import routes as live
    from adapters.http.moderation import routes as moderation
    from adapters.http.profile import routes as profile
    from adapters.http.ranking import routes as ranking
    from adapters.http.search import routes as search
    from adapters.http.share import routes as share
    from adapters.http.social import routes as social
    from adapters.http.system import routes as system
    from adapters.http.videos import routes as videos

    return [
        system.routes, system.docs_routes, auth.routes, social.routes, profile.routes,
        videos.routes, engagement.routes, moderation.routes, admin.routes, ranking.routes,
        legacy.routes, devices.routes, mfa.routes, email_change.routes, share.routes,
        search.routes, live.routes, metrics.metrics_routes(""),
    ]


# The files of Swagger UI, served with /docs: not operations.
DOCS_ASSETS = "/docs/assets/"


def route_path(route: web.RouteDef) -> str:
    """The path template of a route as the document writes it (``{key}``, not
    ``{key:.+}``)."""
    return re.sub(r"\{(\w+):[^{}]*\}", r"{\1}", route.path)


def declarations() -> list[tuple[str, str, Contract]]:
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
    """Every view (or named list) a declared operation answers with, and the live frames'
    (GET /v1/ws answers with them: x-live-events)."""
    return [answer.view for _, _, declaration in declarations()
            for answer in declaration.responses.values() if answer.view is not None
            ] + [view for view, _render in views_live.FRAMES.values()]


def _request_body(body: Body) -> Json:
    if body.content is not None:
        return {"required": body.required, "content": body.content}
    return {"required": body.required, "content": {body.media: {
        "schema": _REQUESTS.ref(body.cls), "example": body.example}}}


def _operation(c: Contract) -> Json:
    """The operation a handler's declaration describes: its answers, then the token's
    (401, 403) when it takes one, then its own problems (replacing those of their status),
    then what every operation may answer, for the statuses it does not answer itself (an
    operation's 413 video_too_large is the one it gives)."""
    responses = {str(status): _answer(answer) for status, answer in c.responses.items()}
    op: Json = {"summary": c.summary, "tags": [c.tag], "operationId": None,
                "responses": responses}
    if c.description is not None:
        op["description"] = c.description
    if c.body is not None:
        op["requestBody"] = _request_body(c.body)
    if c.params:
        op["parameters"] = [copy.deepcopy(p) for p in c.params]
    if c.auth:
        # A bearer token; or none, for an operation that takes credentials instead.
        op["security"] = [{"bearer": []}, {}] if c.token_optional else [{"bearer": []}]
        responses.update(_AUTH_ERRORS)
    for problem in c.problems:
        responses[problem.status] = _problem(
            problem.description, problem.code,
            500 if problem.status == "default" else int(problem.status))
    for status, response in _COMMON_ERRORS.items():
        responses.setdefault(status, response)
    return op


@functools.cache
def document() -> Json:
    """The document: an operation for each route, from its handler's declaration."""
    paths: Json = {}
    codes: dict[tuple[str, str], tuple[str, ...]] = {}
    for path, method, declaration in declarations():
        paths.setdefault(path, {})[method] = _operation(declaration)
        codes[path, method] = declaration.codes
    for path, operations in paths.items():
        for method, op in operations.items():
            _edge_rules(op)
            slug = path.strip("/").replace("/", "_").replace("{", "").replace("}", "") or "root"
            if path.endswith("/") and path.rstrip("/") in paths:
                slug += "_slash"  # a legacy path served with and without the slash
            op["operationId"] = f"{method}_{slug}".replace("-", "_").replace(".", "_")
            _list_codes(op, codes[path, method])
    switching = paths["/v1/ws"]["get"]["responses"]["101"]
    switching["x-error-codes"] = sorted(FRAME_CODES)
    switching["description"] += " Error frames carry codes: " + ", ".join(
        f"`{c}`" for c in sorted(FRAME_CODES)) + "."
    # Each event's frame data: the component of the view class it is rendered by.
    paths["/v1/ws"]["get"]["x-live-events"] = {
        event.name: _VIEWS.ref(view) for event, (view, _render) in views_live.FRAMES.items()}
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
