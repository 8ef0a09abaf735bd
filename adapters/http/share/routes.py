"""Share links: ``GET /v/{slug}``, a public video's web page for anyone (no token is
read), server-rendered from ``static/share/``: the player (an HTML5 video of the MP4, and
the HLS playlist first where there is one), the author's nickname and avatar, the
description, and the OpenGraph and Twitter card tags a messenger's link preview reads.

Whatever a guest may not see (services.shares) and every unknown slug answer the same
sign-in prompt, byte for byte: 404, the same headers. No script at all; the page loads its
one style sheet from this origin and media only from the origins of the URLs it names
(signed and expiring, or the CDN's), under a Content-Security-Policy as strict as the
admin dashboard's. Text is HTML-escaped wherever it goes (element or attribute)."""

from __future__ import annotations

import html
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from aiohttp import web

from adapters.http.common import services
from adapters.http.contract import content, contract, problem
from adapters.http.middlewares import client_ip
from adapters.http.views import MediaUrl
from momentic_core.policies.share_links import SLUG_LENGTH
from momentic_core.services.shares import SHARE_LIMIT, SharedVideo
from momentic_core.services.throttle import DEFAULT_LIMITS

routes = web.RouteTableDef()

STATIC = Path(__file__).parent.parent / "static" / "share"
_PAGE = Template((STATIC / "page.html").read_text(encoding="utf-8"))
SIGN_IN = (STATIC / "signin.html").read_bytes()
STYLE = (STATIC / "share.css").read_bytes()

# As strict as the dashboard's (ranking/routes.py.DASHBOARD_CSP), and no script at all.
_CSP = ("default-src 'none'; style-src 'self'; img-src data:{images}; media-src{media}; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
SIGN_IN_CSP = _CSP.format(images="", media=" 'none'")
STYLE_CSP = "default-src 'none'; frame-ancestors 'none'"
# Not kept by browsers or shared caches: the page names expiring media URLs, and a video
# made friends-only must stop showing at once.
_NO_CACHE = "no-cache"

_LIMIT = DEFAULT_LIMITS[SHARE_LIMIT]
_HTML = {"type": "string", "contentMediaType": "text/html"}
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


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _sources(out: list[tuple[str, str]]) -> str:
    return "".join(f'    <source src="{_e(url)}" type="{kind}">\n' for url, kind in out)


def render(shared: SharedVideo, page_url: str, media_url: MediaUrl) -> tuple[str, str]:
    """The page of ``shared`` (at ``page_url``) and its Content-Security-Policy."""
    video, author = shared.video, shared.author
    assert video.playback_key is not None  # a ready video has its playback rendition
    mp4 = media_url.of_video(video.playback_key, video)
    hls_url = media_url.hls(video)  # None for a video processed before HLS (migration 75)
    thumb = media_url.of_video(video.thumbnail_key, video) if video.thumbnail_key else None
    avatar = media_url(author.avatar_key) if author.avatar_key else None
    title = f"{author.nickname} on Momentic"
    description = video.description or f"A video by {author.nickname} on Momentic."
    attributes = ""
    if thumb:
        attributes += f' poster="{_e(thumb)}"'
    if video.width and video.height:
        attributes += f' width="{video.width}" height="{video.height}"'
    # Safari and the phones play HLS themselves and pick the first source they can; the
    # others take the MP4.
    sources = ([(hls_url, "application/vnd.apple.mpegurl")] if hls_url else []) + [
        (mp4, "video/mp4")]
    og = [f'<meta property="og:video" content="{_e(mp4)}">\n']
    if mp4.startswith("https:"):
        og.append(f'<meta property="og:video:secure_url" content="{_e(mp4)}">\n')
    og.append('<meta property="og:video:type" content="video/mp4">\n')
    if video.width and video.height:
        og.append(f'<meta property="og:video:width" content="{video.width}">\n'
                  f'<meta property="og:video:height" content="{video.height}">\n')
    if thumb:
        og.insert(0, f'<meta property="og:image" content="{_e(thumb)}">\n')
    text = _PAGE.substitute(
        title=_e(title),
        share_url=_e(page_url),
        description=_e(description),
        description_text=_e(video.description),
        nickname=_e(author.nickname),
        og_media="".join(og),
        twitter_image=(f'<meta name="twitter:image" content="{_e(thumb)}">\n' if thumb else ""),
        video_attributes=attributes,
        sources=_sources(sources),
        mp4_url=_e(mp4),
        avatar=(f'<img class="avatar" src="{_e(avatar)}" alt="" width="40" height="40">'
                if avatar else '<span class="avatar"></span>'),
    )
    images = sorted({_origin(u) for u in (thumb, avatar) if u})
    media = sorted({_origin(u) for u in (mp4, hls_url) if u})
    csp = _CSP.format(images="".join(f" {o}" for o in images),
                      media="".join(f" {o}" for o in media))
    return text, csp


def _page(body: bytes | str, status: int, csp: str) -> web.Response:
    response = web.Response(status=status, body=body.encode() if isinstance(body, str) else body,
                            content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = _NO_CACHE
    return response


@routes.get("/v/share.css")
@contract(
    "The style sheet of the share page and its sign-in prompt.", "videos",
    {200: content("The file.", {"text/css": {"schema": {"type": "string"},
                                             "example": ":root { color-scheme: dark; }"}})})
async def style(request: web.Request) -> web.Response:
    response = web.Response(body=STYLE, content_type="text/css", charset="utf-8")
    response.headers["Content-Security-Policy"] = STYLE_CSP
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@routes.get("/v/{slug}")
@contract(
    "A video's web page, for anyone with its link (a video's share_url): no token is read. "
    "A public, ready video of a visible author gets the player (an HTML5 video of its MP4, "
    "the HLS playlist first where there is one), the author's nickname and avatar, the "
    "description, and the OpenGraph and Twitter card tags of a link preview (og:title, "
    "og:description, og:image: the thumbnail, og:video; twitter:card "
    "summary_large_image). Media URLs in it are the ones a client gets (signed and "
    "expiring, or the CDN's). No script; a Content-Security-Policy allows the page's style "
    "sheet and those media only.", "videos",
    {200: content("The video's page.", {"text/html": {"schema": _HTML,
                                                      "example": _PAGE_EXAMPLE}}),
     404: content("Any other video (friends-only, a locked moment, processing, held, "
                  "removed, deleted, of a banned, suspended, unverified or private account) "
                  "and any slug no video has: one sign-in prompt, the same bytes and headers "
                  "for all, so a link tells nothing of what it was.",
                  {"text/html": {"schema": _HTML, "example": _SIGN_IN_EXAMPLE}})},
    params=[{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"},
             "description": f"{SLUG_LENGTH} characters of base64url: the video's id under a "
                            "server key (not guessable, not in order).",
             "example": "q3Vb0cXo5lLh2kq9Zc1m0w"}],
    errors=(problem(f"More than {_LIMIT.count} pages in {int(_LIMIT.window.total_seconds())} "
                    f"seconds from one address (rate limit {SHARE_LIMIT}, an admin setting).",
                    "rate_limited"),))
async def share_page(request: web.Request) -> web.Response:
    svc = services(request)
    slug = request.match_info["slug"]
    shared = await svc.shares.open(slug, client_ip(request))
    if shared is None:
        return _page(SIGN_IN, 404, SIGN_IN_CSP)
    text, csp = render(shared, svc.share_url(shared.video.id), svc.media_url)
    return _page(text, 200, csp)
