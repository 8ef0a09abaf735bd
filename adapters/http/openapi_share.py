"""The OpenAPI entries of share links (issue 20 item 6): the web page of a public video
and its style sheet (adapters/http/routes_share.py), HTML and CSS rather than JSON.
``openapi.document`` merges ``paths(openapi)``."""

from __future__ import annotations

from typing import Any

from momentic_core.policies.share_links import SLUG_LENGTH
from momentic_core.services.shares import SHARE_LIMIT
from momentic_core.services.throttle import DEFAULT_LIMITS

Json = dict[str, Any]

_PAGE_EXAMPLE = (
    '<!doctype html>\n<html lang="en">\n<head>\n<title>alex on Momentic</title>\n'
    '<meta property="og:title" content="alex on Momentic">\n'
    '<meta property="og:video" content="https://media.momentic.app/videos/3f2a/...">\n'
    "...</head>\n<body>\n<main class=\"share\">\n"
    '  <video id="player" controls playsinline preload="metadata" poster="...">...'
)
_SIGN_IN_EXAMPLE = (
    '<!doctype html>\n<html lang="en">\n...<main class="share signin">\n'
    "  <h1>Momentic</h1>\n  <p>Sign in to see this video.</p>\n..."
)


def paths(o: Any) -> Json:
    """``o``: the ``openapi`` module building the document (its helpers and tables)."""
    limit = DEFAULT_LIMITS[SHARE_LIMIT]
    html = {"type": "string", "contentMediaType": "text/html"}
    return {
        "/v/{slug}": {"get": o._op(
            "A video's web page, for anyone with its link (a video's share_url): no token "
            "is read. A public, ready video of a visible author gets the player (an HTML5 "
            "video of its MP4, the HLS playlist first where there is one), the author's "
            "nickname and avatar, the description, and the OpenGraph and Twitter card tags "
            "of a link preview (og:title, og:description, og:image: the thumbnail, "
            "og:video; twitter:card summary_large_image). Media URLs in it are the ones a "
            "client gets (signed and expiring, or the CDN's). No script; a "
            "Content-Security-Policy allows the page's style sheet and those media only.",
            "videos",
            {"200": {"description": "The video's page.", "content": {"text/html": {
                "schema": html, "example": _PAGE_EXAMPLE}}},
             "404": {"description": "Any other video (friends-only, a locked moment, "
                     "processing, held, removed, deleted, of a banned, suspended, unverified "
                     "or private account) and any slug no video has: one sign-in prompt, "
                     "the same bytes and headers for all, so a link tells nothing of what "
                     "it was.", "content": {"text/html": {
                         "schema": html, "example": _SIGN_IN_EXAMPLE}}}},
            params=[{"name": "slug", "in": "path", "required": True,
                     "schema": {"type": "string"},
                     "description": f"{SLUG_LENGTH} characters of base64url: the video's id "
                                    "under a server key (not guessable, not in order).",
                     "example": "q3Vb0cXo5lLh2kq9Zc1m0w"}],
            errors={"429": o._problem(
                f"More than {limit.count} pages in {int(limit.window.total_seconds())} "
                f"seconds from one address (rate limit {SHARE_LIMIT}, an admin setting).",
                "rate_limited", 429)})},
        "/v/share.css": {"get": o._op(
            "The style sheet of the share page and its sign-in prompt.", "videos",
            {"200": {"description": "The file.", "content": {"text/css": {
                "schema": {"type": "string"}, "example": ":root { color-scheme: dark; }"}}}})},
    }
