"""Domain errors.

Every failure a use case reports is a ``MomenticError``. Each kind carries a stable,
machine-readable ``code`` (clients switch on it) and a human ``detail``. Adapters
translate driver errors into these kinds; the HTTP layer maps each kind to a status
and renders RFC 9457 problem+json. Nothing else reaches a client.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class MomenticError(Exception):
    """Base of every domain error."""

    code = "error"
    title = "Error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class Invalid(MomenticError):
    """The input breaks a rule of the domain (too long, wrong format, weak password)."""

    code = "validation_failed"
    title = "Invalid input"


class NotFound(MomenticError):
    """The thing does not exist, or the caller may not know that it exists."""

    code = "not_found"
    title = "Not found"


class Conflict(MomenticError):
    """The request clashes with the current state (a taken nickname, a used token)."""

    code = "conflict"
    title = "Conflict"


class Unauthenticated(MomenticError):
    """No valid identity: missing, expired, revoked or forged credentials."""

    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(MomenticError):
    """The caller is known but may not do this."""

    code = "forbidden"
    title = "Forbidden"


class RateLimited(MomenticError):
    """Too many attempts; ``retry_after`` seconds until the window resets."""

    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, limit: int, code: str | None = None):
        super().__init__(detail, code=code)
        self.retry_after = retry_after
        self.limit = limit


class Unavailable(MomenticError):
    """A dependency (database, storage, mail) cannot be reached right now."""

    code = "unavailable"
    title = "Service unavailable"


class TooLarge(MomenticError):
    """The payload is over its size limit; nothing of it was kept."""

    code = "too_large"
    title = "Payload too large"


class UnsupportedMedia(MomenticError):
    """The bytes are not of an accepted format, whatever their declared type."""

    code = "unsupported_media_type"
    title = "Unsupported media type"


# ---------------------------------------------------------------- the catalogue
#
# Every stable ``code`` a client can meet, registered once with the kind that raises it
# (the kind gives the HTTP status and title) and a line saying what it means. The set is
# enumerable: the OpenAPI document lists it (ErrorCode), and tests/unit/test_error_catalogue.py
# fails when a ``code="..."`` in the source, or a kind's own code, is missing here or
# registered under another kind.


class ErrorCode(NamedTuple):
    code: str
    kind: type[MomenticError] | None  # None: answered by the HTTP edge itself (a 404 route)
    description: str


CATALOGUE: dict[str, ErrorCode] = {}


def register(kind: type[MomenticError] | None, code: str, description: str) -> str:
    """Add ``code`` to the catalogue (once: a second registration is a mistake)."""
    if code in CATALOGUE:
        raise ValueError(f"error code {code!r} is registered twice")
    CATALOGUE[code] = ErrorCode(code, kind, description)
    return code


def _register_all(kind: type[MomenticError], codes: dict[str, str]) -> None:
    for code, description in codes.items():
        register(kind, code, description)


# The codes of text checked by rules.check_text: ``<field>_too_long``.
TEXT_FIELDS = ("name", "surname", "bio", "description", "device_name", "reason", "note", "body")

_register_all(MomenticError, {"error": "An error of no more specific kind."})
# The HTTP edge's own (adapters/http/problems.py: its error kinds, and what the router answers).
for _code, _description in {
    "malformed_json": "The body is not JSON (or not UTF-8, a lone surrogate, nested too deep).",
    "body_timeout": "The body did not arrive in time.",
    "upgrade_required": "A plain HTTP request to a WebSocket endpoint.",
    "unsupported_encoding": "A body in a Content-Encoding other than identity.",
    "bad_request": "A request the server could not take.",
    "route_not_found": "No such path.",
    "method_not_allowed": "The path takes other methods (Allow lists them).",
    "body_too_large": "The body is over the size limit.",
    "internal_error": "Something went wrong on the server's side.",
}.items():
    register(None, _code, _description)
_register_all(Invalid, {
    "validation_failed": "A field is missing, of the wrong type, or breaks a rule "
                         "(`errors` lists each problem).",
    "body_required": "The operation takes a JSON body and none came.",
    "nul_character": "Text holding U+0000 (`field` names where).",
    "control_characters": "Text holding control, format or private-use characters.",
    "field_too_long": "A text field over its maximum length.",
    **{f"{field}_too_long": f"The {field.replace('_', ' ')} is over its maximum length."
       for field in TEXT_FIELDS},
    "invalid_email": "Not an email address.",
    "email_domain_not_allowed": "The email's domain may not sign up.",
    "email_not_verified_by_provider": "The provider has not verified the account's email.",
    "invalid_nickname": "A nickname of 3 to 30 of a-z, 0-9, _ and ., starting with a letter "
                        "or digit.",
    "password_too_short": "The new password is under the minimum length.",
    "password_too_long": "The new password is over the maximum length.",
    "password_too_common": "The new password is a commonly used one.",
    "invalid_code": "A wrong, expired or spent email code.",
    "invalid_grant": "The grant's fields are missing or wrong.",
    "unsupported_grant_type": "grant_type is neither password nor refresh_token.",
    "unknown_provider": "Not a social sign-in provider the server knows (or has on).",
    "invalid_time_zone": "Not an IANA time zone name.",
    "invalid_id": "An id that is not an integer from 1 to 2**63 - 1.",
    "invalid_query": "A query parameter of the wrong form.",
    "invalid_cursor": "A cursor the server did not issue for this list.",
    "invalid_key": "A media key of the wrong form.",
    "invalid_visibility": "Not a visibility (friends, public).",
    "invalid_watched_seconds": "Watched seconds below 0 or past the video's end (more than "
                               "a second over its duration).",
    "invalid_size": "An upload size out of range.",
    "invalid_part": "A part number the upload does not have.",
    "invalid_part_size": "A part of another size than the upload asked for.",
    "invalid_parts": "The parts listed do not match the upload's.",
    "upload_incomplete": "Not every part of the upload has arrived.",
    "upload_complete": "The upload is complete already.",
    "malformed_multipart": "A multipart form that cannot be read.",
    "undecodable": "The file is not a decodable video or image.",
    "resolution_too_large": "The video's frame size is over the limit.",
    "image_too_large": "The image decodes to more pixels than allowed (`limit`).",
    "invalid_reaction": "Not a reaction kind.",
    "comment_empty": "A blank comment.",
    "comment_too_long": "A comment over its maximum length.",
    "reply_depth": "A reply to a reply: comments nest one level.",
    "cannot_target_self": "A friend request or block aimed at oneself.",
    "cannot_report_self": "A report of one's own content or account.",
    "reason_required": "The action needs a reason.",
    "invalid_action": "Not a moderation action.",
    "invalid_duration": "A suspension without a valid duration.",
    "invalid_setting": "A runtime setting of the wrong name or value.",
    "invalid_weights": "Ranking weights out of range.",
    "value_out_of_range": "A number too large for its column.",
    "invalid_channel": "Not a live channel (WebSocket frame).",
    "invalid_frame": "A WebSocket frame of the wrong shape.",
    "unknown_op": "A WebSocket frame with an unknown op.",
    "too_many_subscriptions": "Over the number of live channels one socket may follow.",
    "invalid_push_token": "Not an APNs or FCM device token.",
    "invalid_device": "A device's platform, app version, locale or APNs environment is wrong.",
    "invalid_notification_settings": "Notification settings of the wrong form.",
})
_register_all(NotFound, {
    "not_found": "Not found.",
    "user_not_found": "No such user (or hidden by a block).",
    "session_not_found": "No such session of mine.",
    "video_not_found": "No such video (or not mine to see).",
    "upload_not_found": "No such upload of mine.",
    "blob_not_found": "The stored bytes are gone.",
    "media_not_found": "No such media file.",
    "comment_not_found": "No such comment (or not mine to see).",
    "notification_not_found": "No such notification of mine.",
    "request_not_found": "No such friend request.",
    "not_friends": "Not friends.",
    "not_blocked": "Not blocked.",
    "case_not_found": "No such moderation case.",
    "appeal_not_found": "No such appeal.",
    "snapshot_expired": "The ranking snapshot the cursor points into has expired.",
    "device_not_found": "No such push device of mine.",
})
_register_all(Conflict, {
    "conflict": "The request clashes with the current state.",
    "concurrent_update": "Someone else changed it at the same time; retry.",
    "email_taken": "The email belongs to another account.",
    "nickname_taken": "The nickname is taken.",
    "identity_linked": "The social identity is linked to another account.",
    "already_friends": "Already friends.",
    "request_exists": "A friend request between the two exists already.",
    "user_blocked": "A block stands between the two users.",
    "video_not_ready": "The video is not ready yet.",
    "video_moderated": "The video is held or removed by moderation.",
    "comment_held": "The comment is held by moderation.",
    "report_exists": "I have reported it already.",
    "case_closed": "The case is closed.",
    "case_assigned": "Another moderator has the case.",
    "appeal_exists": "The action has an appeal already.",
    "appeal_decided": "The appeal is decided already.",
    "not_appealable": "The action cannot be appealed.",
    "not_banned": "The account is not banned or suspended.",
    "last_admin": "The last admin cannot lose the role.",
    "too_many_devices": "The account has the most push devices it may; remove one first.",
})
_register_all(Unauthenticated, {
    "unauthenticated": "No valid identity.",
    "missing_token": "No bearer token.",
    "invalid_token": "A bearer token that is not valid.",
    "token_expired": "The access token has expired: refresh it.",
    "token_revoked": "The session was revoked (logout, password change, ban).",
    "invalid_credentials": "Wrong email or password.",
    "invalid_refresh_token": "A refresh token the server does not know.",
    "refresh_token_reused": "A spent refresh token: its session is revoked.",
    "invalid_id_token": "The provider's ID token is not valid.",
})
_register_all(Forbidden, {
    "forbidden": "Not allowed.",
    "account_banned": "The account is banned.",
    "account_suspended": "The account is suspended (`until`).",
    "email_not_verified": "Verify the email first.",
    "insufficient_role": "Needs a moderator or admin role.",
    "not_author": "Not the author.",
    "not_you": "Not my own.",
    "moderation_required": "Staff remove others' content through a case.",
    "moment_locked": "Post my moment of today first (BeReal lock).",
    "own_case": "A moderator may not decide a case about themselves.",
    "same_moderator": "The appeal goes to another moderator than the one who acted.",
    "channel_forbidden": "Not allowed to follow that live channel.",
})
_register_all(RateLimited, {
    "rate_limited": "Too many requests; see Retry-After.",
    "too_many_reports": "Too many reports; see Retry-After.",
    "too_many_sockets": "Too many open sockets for this user.",
    "time_zone_change_limited": "The time zone changed too often lately; see Retry-After.",
})
_register_all(Unavailable, {
    "unavailable": "A dependency is unavailable; retry later.",
    "storage_unavailable": "The media storage is unavailable; retry later.",
    "provider_unavailable": "The sign-in provider cannot be reached; retry later.",
    "shutting_down": "The server is shutting down.",
})
_register_all(TooLarge, {
    "too_large": "The payload is over its size limit.",
    "video_too_large": "The video is over the size limit (`limit`).",
    "avatar_too_large": "The image is over the size limit (`limit`).",
    "part_too_large": "The part is over its size.",
})
_register_all(UnsupportedMedia, {
    "unsupported_media_type": "Not an accepted media format (sniffed from the bytes).",
    "unsupported_image": "Not a JPEG, PNG or WebP image.",
    "multipart_required": "The operation takes a multipart/form-data body.",
})

# Two-factor authentication (momentic_core.services.mfa, issue 21).
_register_all(Invalid, {
    "invalid_mfa_code": "A wrong two-factor code, one outside the drift or of a step used "
                        "already, or a spent recovery code.",
    "email_unchanged": "The new email address is the account's address already.",
})
_register_all(Unauthenticated, {
    "invalid_mfa_token": "A sign-in challenge (mfa_token) that is unknown, forged or expired.",
})
_register_all(Forbidden, {
    "mfa_required": "The password was right; the account has two-factor authentication: "
                    "finish at POST /v1/auth/2fa with `mfa_token`.",
    "mfa_enrolment_required": "Staff accounts must turn on two-factor authentication first "
                              "(runtime setting staff_mfa_required).",
})
_register_all(Conflict, {
    "mfa_already_enabled": "Two-factor authentication is on already.",
    "mfa_not_pending": "No two-factor enrolment is waiting for confirmation.",
    "mfa_not_enabled": "Two-factor authentication is off.",
})
_register_all(Conflict, {
    "account_private": "A private account's videos are for friends only: make the account "
                       "public before making a video public.",
})
_register_all(Conflict, {  # duplicates by content (issue 20 item 3)
    "duplicate_content": "The author has a video of these very bytes already (answered "
                         "with it, not raised, by the upload routes).",
    "content_removed": "A moderator removed this author's video of these very bytes: "
                       "they cannot be uploaded again.",
})
_register_all(Invalid, {  # search and hashtags (issue 20 item 5)
    "invalid_hashtag": "Not a hashtag: letters, digits and _ (at least one letter), up to "
                       "the maximum length.",
})
