"""Live updates over WebSocket: the hub, the v1 socket (GET /v1/ws) and the legacy app's
comment chat (GET /ws/chat).

The hub hears every committed event of every instance from the ``LiveEventSource`` and
fans it out on the event loop without ever waiting: an event is rendered once per kind of
socket, then ``put_nowait`` into each listener's bounded queue, and one writer task per
socket drains its queue. A socket whose queue is full is too slow: it is dropped (closed
with 4408) and nobody else waits for it.

The access token is checked before the upgrade (a refusal is a 401 problem+json and no
socket opens). A socket closes with 4401 when that token runs out, when its session is
revoked (``session.revoked``), or when its account is banned, suspended or deleted
(``account.closed``); these control events never reach clients as frames.

Access is checked again while a socket lives: a block, unblock or unfriend
(``relation.changed`` on a user's channel, never forwarded) reloads that user's blocked
set and re-checks their video subscriptions; a held or removed video (``video.hidden``),
or one whose author changed its visibility (``video.visibility_changed``), re-checks its
subscribers; a user whose post that opened friends' moments went (deleted,
held or removed: ``access.changed`` on their channel, never forwarded) has their video
subscriptions re-checked, so a moment locked again stops reaching them. The checks run
in one task per socket, off the delivery path; a subscription that fails is dropped with
an ``unsubscribed`` frame (reason ``access_changed``). Engagement events whose actor is
blocked either way with the socket's user, or muted by them, are not delivered to it (a
mute or unmute is a ``relation.changed`` on the muter's channel only).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import attrs
from aiohttp import WSMsgType, web

from adapters.http import keys
from adapters.http.common import bearer_token, principal, services
from adapters.http.contract import SWITCHING, contract, problem
from adapters.http.converter import unstructure
from adapters.http.keys import Services
from adapters.http.live.views import frame_data
from adapters.http.metrics import METRICS
from adapters.http.problems import UpgradeRequired
from adapters.http.views import LegacyChatMessage, MediaUrl
from momentic_core.errors import Invalid, MomenticError, RateLimited, Unavailable
from momentic_core.model.accounts import Principal
from momentic_core.model.engagement import user_channel, video_channel
from momentic_core.model.events import (
    RECHECK_VIDEO,
    REVOKING,
    AccessChanged,
    AccountChanged,
    AccountClosed,
    CommentCreated,
    Event,
    RelationChanged,
    SessionRevoked,
)

log = logging.getLogger("momentic.live")

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_UNAUTHORIZED = 4401  # token expired, session revoked, account closed: sign in again
CLOSE_NOT_FOUND = 4404  # legacy chat: the video is gone or not visible
CLOSE_TOO_SLOW = 4408  # the client did not read its frames fast enough

# Control events (model.events: AccountClosed, SessionRevoked) close sockets and are never
# forwarded; AccountChanged (a role raised) only refreshes the access cache; RelationChanged
# and AccessChanged re-check a user's subscriptions. RECHECK_VIDEO events (held or removed,
# made friends-only) are forwarded, and the video's subscribers are checked again.
_CLOSED_REASONS = {
    "banned": "account_banned",
    "suspended": "account_suspended",
    "deleted": "account_deleted",
}


@attrs.frozen
class LiveOptions:
    queue_size: int = 256  # frames waiting for one socket; a full queue drops the socket
    max_subscriptions: int = 50  # channels per socket, its own user channel included
    max_message_bytes: int = 4096  # a larger client frame closes the socket (1009)
    max_sockets_per_user: int = 16  # per app instance
    heartbeat_seconds: float = 30.0  # ping period; no pong within half of it closes
    close_timeout_seconds: float = 5.0  # wait this long for a close handshake, then abort
    # The kernel's send buffer per socket (None: the kernel's autotuning, up to MBs): what
    # a stalled client may pin in kernel memory before its queue starts to fill.
    send_buffer_bytes: int | None = 64 * 1024
    frame_burst: int = 20  # client frames: a burst of this many, then...
    frames_per_second: float = 5.0  # ...this many per second; more are refused


# ---------------------------------------------------------------- rendering


def _dump(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


@attrs.frozen
class SocketKind:
    """What kind of socket: how it renders an event (None: not for it) and answers a
    client frame."""

    name: str
    render: Callable[[Event, MediaUrl], str | None]
    on_text: Callable[[Socket, str], Awaitable[None]]


def render_v1(event: Event, media_url: MediaUrl) -> str | None:
    """``{"type": "event", "channel", "event", "data"}``, ``data`` the event's view
    (live.views.FRAMES); None for an event no client hears."""
    data = frame_data(event, media_url)
    if data is None:
        return None
    return _dump({"type": "event", "channel": event.channel, "event": event.name,
                  "data": unstructure(data)})


def render_chat(event: Event, media_url: MediaUrl) -> str | None:
    """New top-level comments only, as chat messages: the legacy app knows no replies."""
    if not isinstance(event, CommentCreated) or event.comment.parent_id is not None:
        return None
    return _dump(unstructure(LegacyChatMessage.of(event.comment, event.author, False, media_url)))


# ---------------------------------------------------------------- sockets and the hub


class Socket:
    """One connected client: its identity, channels, bounded queue and close request."""

    def __init__(
        self, hub: Hub, ws: web.WebSocketResponse, who: Principal, kind: SocketKind,
        services: Services, blocked: set[int] | None = None,
    ) -> None:
        self.hub = hub
        self.ws = ws
        self.who = who
        self.kind = kind
        self.services = services
        self.channels: set[str] = set()
        # Users blocked either way with mine, and those mine muted: their events are dropped.
        self.blocked: set[int] = set(blocked or ())
        self.checker: asyncio.Task[None] | None = None
        self._check_channels: set[str] = set()
        self._reload_blocked = False
        self.queue: asyncio.Queue[str] = asyncio.Queue(hub.options.queue_size)
        self.ended = asyncio.Event()
        self.finished = asyncio.Event()  # the handler is done with it
        self.close_code: int | None = None
        self.close_reason = ""
        self._tokens = float(hub.options.frame_burst)
        self._tokens_at = time.monotonic()

    def offer(self, frame: str) -> None:
        """Queue a frame without waiting; a full queue drops the socket."""
        if self.close_code is not None:
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.info("live socket too slow; dropped", extra={"user_id": self.who.user_id})
            self.end(CLOSE_TOO_SLOW, "too_slow")

    def send(self, **frame: Any) -> None:
        self.offer(_dump(frame))

    def end(self, code: int, reason: str) -> None:
        """Ask for the socket to close (idempotent): it hears nothing more from now on."""
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = code, reason
        self.hub.detach(self)
        self.ended.set()

    def recheck(self, channels: Iterable[str], reload_blocked: bool = False) -> None:
        """Check these video subscriptions again (and reload the blocked set) in this
        socket's checker task: never waits, so the hub's delivery never does."""
        if self.close_code is not None:
            return
        self._check_channels.update(c for c in channels if c.startswith("video:"))
        self._reload_blocked |= reload_blocked
        if self.checker is None or self.checker.done():
            self.checker = asyncio.get_running_loop().create_task(self._check())

    async def _check(self) -> None:
        live = self.services.live
        while (self._check_channels or self._reload_blocked) and self.close_code is None:
            reload, self._reload_blocked = self._reload_blocked, False
            channels, self._check_channels = self._check_channels, set()
            try:
                if reload:
                    self.blocked = await live.blocked_ids(self.who)
                for channel in sorted(channels):
                    if channel not in self.channels or self.close_code is not None:
                        continue
                    try:
                        await live.authorize(self.who, channel)
                    except MomenticError as exc:
                        self.lost(channel, exc)
            except Exception:  # a failed check keeps what the socket had
                log.exception("live access check failed", extra={"user_id": self.who.user_id})

    def lost(self, channel: str, exc: MomenticError) -> None:
        """Access to ``channel`` is gone: drop it and tell the client."""
        self.hub.unsubscribe(self, channel)
        if self.kind.name == "v1":
            self.send(type="unsubscribed", channel=channel, reason="access_changed")
        else:  # the legacy chat has one channel and no such frame: as a refused move
            self.end(CLOSE_NOT_FOUND if exc.code == "video_not_found" else CLOSE_POLICY,
                     exc.code)

    def allow_frame(self) -> bool:
        """A token bucket on client frames (subscribing costs a database read)."""
        options = self.hub.options
        now = time.monotonic()
        self._tokens = min(float(options.frame_burst),
                           self._tokens + (now - self._tokens_at) * options.frames_per_second)
        self._tokens_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class Hub:
    """Who listens to which channel on this instance; fans committed events out to them."""

    def __init__(self, options: LiveOptions | None = None) -> None:
        self.options = options or LiveOptions()
        self.closing = False
        self._media_url: MediaUrl | None = None  # set once started
        self._observe: Callable[[Event], None] = lambda _event: None
        self._counted: Callable[[int], None] = lambda _open: None  # the metrics' gauge
        self._channels: dict[str, set[Socket]] = {}
        self._users: dict[int, set[Socket]] = {}
        self._sockets: set[Socket] = set()
        # Handshakes under way, by user: each holds one of the user's socket slots from
        # its check until its socket is attached (or it fails), so that handshakes at
        # once cannot all pass the check and then all attach.
        self._claims: dict[int, int] = {}
        # Bumped by every event that re-checks access: a check that was running across
        # one (a subscribe, a connect) is repeated.
        self.changes = 0

    # -------------------------------------------------------------- lifecycle

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """cleanup_ctx: listen once the services are up; stop listening on the way down."""
        svc = app[keys.SERVICES]
        self._media_url = svc.media_url
        self._observe = svc.accounts.observe  # revocations reach the access cache
        self._counted = app[METRICS].websockets.set
        self.closing = False
        await svc.live_events.start(self.deliver)
        try:
            yield
        finally:
            await svc.live_events.stop()
            await self.shutdown()

    async def on_shutdown(self, app: web.Application) -> None:
        await self.shutdown()

    async def shutdown(self) -> None:
        """Close every socket (1001) and wait for their handlers, so the server can exit."""
        self.closing = True
        sockets = list(self._sockets)
        for sock in sockets:
            sock.end(CLOSE_GOING_AWAY, "server_shutdown")
        waits = [asyncio.ensure_future(s.finished.wait()) for s in sockets]
        if waits:
            await asyncio.wait(waits, timeout=self.options.close_timeout_seconds + 2)
            for w in waits:
                w.cancel()

    # -------------------------------------------------------------- bookkeeping

    def sockets_of(self, user_id: int) -> int:
        """The user's sockets on this instance, handshakes under way included."""
        return len(self._users.get(user_id, ())) + self._claims.get(user_id, 0)

    def claim(self, user_id: int) -> bool:
        """Take one of the user's socket slots, or False when all are taken: the check and
        the take are one step (no await between them). ``attach`` turns the claim into the
        socket; a handshake that fails before it gives it back with ``unclaim``."""
        if self.sockets_of(user_id) >= self.options.max_sockets_per_user:
            return False
        self._claims[user_id] = self._claims.get(user_id, 0) + 1
        return True

    def unclaim(self, user_id: int) -> None:
        left = self._claims.get(user_id, 0) - 1
        if left > 0:
            self._claims[user_id] = left
        else:
            self._claims.pop(user_id, None)

    def attach(self, sock: Socket) -> None:
        """Attach a socket whose handshake claimed its slot."""
        self.unclaim(sock.who.user_id)
        self._sockets.add(sock)
        self._counted(len(self._sockets))
        self._users.setdefault(sock.who.user_id, set()).add(sock)

    def subscribe(self, sock: Socket, channel: str) -> None:
        if sock.close_code is None:
            sock.channels.add(channel)
            self._channels.setdefault(channel, set()).add(sock)

    def unsubscribe(self, sock: Socket, channel: str) -> None:
        sock.channels.discard(channel)
        listeners = self._channels.get(channel)
        if listeners is not None:
            listeners.discard(sock)
            if not listeners:
                del self._channels[channel]

    def detach(self, sock: Socket) -> None:
        for channel in list(sock.channels):
            self.unsubscribe(sock, channel)
        mine = self._users.get(sock.who.user_id)
        if mine is not None:
            mine.discard(sock)
            if not mine:
                del self._users[sock.who.user_id]

    def forget(self, sock: Socket) -> None:
        self.detach(sock)
        self._sockets.discard(sock)
        self._counted(len(self._sockets))

    # -------------------------------------------------------------- fan-out

    def deliver(self, event: Event) -> None:
        """Called on the loop for every committed event; never waits."""
        try:
            if isinstance(event, REVOKING):
                self._observe(event)
                if not isinstance(event, AccountChanged):
                    self._control(event)
                return
            if isinstance(event, RelationChanged | AccessChanged):
                self._relation_changed(
                    event.user_id, reload_blocked=isinstance(event, RelationChanged))
                return
            if event.control:
                return
            recheck = isinstance(event, RECHECK_VIDEO)
            if recheck:
                self.changes += 1
            listeners = self._channels.get(event.channel)
            if not listeners:
                return
            if recheck:
                for sock in list(listeners):
                    sock.recheck([event.channel])
            actor = event.actor_id
            media_url = self._media_url
            if media_url is None:
                raise RuntimeError("the hub renders events only once it has started")
            frames: dict[str, str | None] = {}
            for sock in list(listeners):
                if actor is not None and actor in sock.blocked:
                    continue
                name = sock.kind.name
                if name not in frames:
                    frames[name] = sock.kind.render(event, media_url)
                frame = frames[name]
                if frame is not None:
                    sock.offer(frame)
        except Exception:  # one malformed event must not stop the source
            log.exception("live event could not be delivered", extra={"type": event.name})

    def _relation_changed(self, user_id: int, reload_blocked: bool) -> None:
        """Re-check the user's video subscriptions (and reload their blocked set when a
        relation changed)."""
        self.changes += 1
        for sock in list(self._users.get(user_id, ())):
            sock.recheck(sock.channels, reload_blocked=reload_blocked)

    def _control(self, event: AccountClosed | SessionRevoked) -> None:
        sockets = list(self._users.get(event.user_id, ()))
        if isinstance(event, AccountClosed):
            reason = _CLOSED_REASONS.get(event.status, "account_closed")
            for sock in sockets:
                sock.end(CLOSE_UNAUTHORIZED, reason)
            return
        session_id, keep = event.session_id, event.keep
        for sock in sockets:
            mine = sock.who.session_id
            if (mine == session_id) if session_id is not None else (mine != keep):
                sock.end(CLOSE_UNAUTHORIZED, "session_revoked")


# The app's hub (set by app.create_app).
HUB = web.AppKey("hub", Hub)


# ---------------------------------------------------------------- serving a socket


def _handshake_token(request: web.Request) -> str:
    """The access token: ``Authorization: Bearer`` or, for browsers, which cannot set
    headers on a WebSocket, the subprotocols ``bearer, <token>``."""
    if "Authorization" not in request.headers:
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if len(offered) == 2 and offered[0].lower() == "bearer" and offered[1]:
            return offered[1]
    return bearer_token(request)


def query_id(request: web.Request, name: str) -> int | None:
    raw = request.query.getall(name, [])
    if not raw:
        return None
    value = raw[0]
    if (
        len(raw) > 1
        or not (value.isascii() and value.isdigit())
        or len(value) > 19  # before int(), which refuses over 4300 digits
        or not 0 < int(value) < 2**63
    ):
        raise Invalid(f"{name} must be a positive integer.", code="invalid_query", field=name)
    return int(value)


async def serve(
    request: web.Request,
    kind: SocketKind,
    channels: Callable[[Principal], Awaitable[list[str]]],
) -> web.WebSocketResponse:
    """Authenticate, check the handshake, then run one socket until it ends.
    ``channels`` are the ones it listens to from the start (checked before the upgrade)."""
    hub = request.app[HUB]
    token = _handshake_token(request)
    who = await principal(request, token)
    options = hub.options
    if hub.closing:
        raise Unavailable("The server is shutting down.", code="shutting_down")
    # The slot is taken at the check: the awaits below (reads, the upgrade) would let
    # every concurrent handshake of the user pass a check that only counted.
    if not hub.claim(who.user_id):
        raise RateLimited("Too many open sockets; close one first.", retry_after=5,
                          limit=options.max_sockets_per_user, code="too_many_sockets")
    try:
        svc = services(request)
        changes = hub.changes
        initial = await channels(who)
        blocked = await svc.live.blocked_ids(who)
        ws = web.WebSocketResponse(
            protocols=("bearer",),
            heartbeat=options.heartbeat_seconds,
            max_msg_size=options.max_message_bytes,
            timeout=options.close_timeout_seconds,
            compress=False,  # frames are rendered once for all; no per-socket deflate
        )
        if not ws.can_prepare(request).ok:
            raise UpgradeRequired("This is a WebSocket endpoint: send a WebSocket handshake.")
        await ws.prepare(request)
        raw = request.transport.get_extra_info("socket") if request.transport else None
        if raw is not None and options.send_buffer_bytes is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, options.send_buffer_bytes)
        sock = Socket(hub, ws, who, kind, svc, blocked)
    except BaseException:
        hub.unclaim(who.user_id)
        raise
    hub.attach(sock)
    for channel in initial:
        hub.subscribe(sock, channel)
    if hub.changes != changes:  # a block or a hold since the checks above
        sock.recheck(sock.channels, reload_blocked=True)
    try:
        # A ban or logout committed since the first check found no socket to close; one
        # committed from now on finds this one.
        await svc.accounts.authenticate(token)
    except MomenticError as exc:
        sock.end(CLOSE_UNAUTHORIZED, exc.code)
    if kind.name == "v1":
        sock.send(type="hello", user_id=who.user_id, channels=sorted(sock.channels),
                  expires_at=who.expires_at.isoformat() if who.expires_at else None)
    loop = asyncio.get_running_loop()
    expiry = None
    if who.expires_at is not None:
        delay = (who.expires_at - datetime.now(UTC)).total_seconds()
        expiry = loop.call_later(max(0.0, delay), sock.end, CLOSE_UNAUTHORIZED, "token_expired")
    tasks = [asyncio.create_task(_write(sock)), asyncio.create_task(_read(sock))]
    try:
        await sock.ended.wait()
    finally:
        if expiry is not None:
            expiry.cancel()
        sock.end(CLOSE_GOING_AWAY, "")  # when the handler itself is cancelled
        if sock.checker is not None:
            tasks.append(sock.checker)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await _close(request, ws, sock.close_code or CLOSE_NORMAL, sock.close_reason,
                         options.close_timeout_seconds)
        finally:
            hub.forget(sock)
            sock.finished.set()
    return ws


def _settled(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a send that failed with the connection is no news


async def _write(sock: Socket) -> None:
    """The socket's one writer: sends its queued frames in order.

    A send waits while the client's TCP window is full. It is shielded: cancelling the
    writer must not cancel that wait, because aiohttp shares one drain waiter between
    all of a socket's sends, and a cancelled waiter would fail the close frame's send
    too. The close then queues behind it and the client gets its close code."""
    try:
        while True:
            frame = await sock.queue.get()
            sending = asyncio.ensure_future(sock.ws.send_str(frame))
            sending.add_done_callback(_settled)
            await asyncio.shield(sending)
    except asyncio.CancelledError:
        raise
    except Exception:  # the connection went; the handler closes up
        sock.end(CLOSE_NORMAL, "")


async def _read(sock: Socket) -> None:
    """Client frames until the client closes (aiohttp answers pings and closes)."""
    try:
        async for msg in sock.ws:
            if msg.type is WSMsgType.TEXT:
                if sock.allow_frame():
                    await sock.kind.on_text(sock, msg.data)
                elif sock.kind.name == "v1":
                    sock.send(type="error", code="rate_limited",
                              detail="Too many frames; slow down.")
            elif msg.type is WSMsgType.BINARY:
                await sock.kind.on_text(sock, "")  # a binary frame is no valid frame
    finally:
        sock.end(CLOSE_NORMAL, "")


async def _close(
    request: web.Request, ws: web.WebSocketResponse, code: int, reason: str, patience: float
) -> None:
    """Close with ``code``; a client that does not take the close frame within
    ``patience`` seconds (and a second) is cut off."""
    if ws.closed:
        return
    me = asyncio.current_task()
    try:
        async with asyncio.timeout(patience + 1):
            await ws.close(code=code, message=reason.encode())
        return
    except TimeoutError:
        pass
    except asyncio.CancelledError:
        # A cancelled wait on aiohttp's shared drain waiter (a ping's answer, say) wakes
        # every later send with CancelledError; only this task's own cancellation is news.
        if me is not None and me.cancelling():
            raise
    transport = request.transport
    if transport is not None:
        transport.abort()


# ---------------------------------------------------------------- v1: GET /v1/ws


def _error(sock: Socket, exc: MomenticError, channel: str | None = None) -> None:
    frame: dict[str, Any] = {"type": "error", "code": exc.code, "detail": exc.detail}
    if channel is not None:
        frame["channel"] = channel
    sock.send(**frame)


def _object(text: str) -> dict[str, Any]:
    """A client frame's JSON object; {} for anything else."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


async def _v1_frame(sock: Socket, text: str) -> None:
    msg = _object(text)
    op = msg.get("op")
    if not isinstance(op, str):
        _error(sock, Invalid('A frame is a JSON object with an "op": subscribe, '
                             "unsubscribe or ping.", code="invalid_frame"))
        return
    if op == "ping":
        sock.send(type="pong")
        return
    if op not in ("subscribe", "unsubscribe"):
        _error(sock, Invalid(f"Unknown op {op[:32]!r}.", code="unknown_op"))
        return
    channel = msg.get("channel")
    if not isinstance(channel, str) or len(channel) > 64:
        _error(sock, Invalid("channel is video:{id} or user:{id}.", code="invalid_channel"))
        return
    if op == "unsubscribe":
        sock.hub.unsubscribe(sock, channel)
        sock.send(type="unsubscribed", channel=channel)
        return
    if channel not in sock.channels and len(sock.channels) >= sock.hub.options.max_subscriptions:
        _error(sock, Invalid("Too many subscriptions on this socket.",
                             code="too_many_subscriptions"), channel)
        return
    changes = sock.hub.changes
    try:
        name = await sock.services.live.authorize(sock.who, channel)
    except MomenticError as exc:
        _error(sock, exc, channel)
        return
    sock.hub.subscribe(sock, name)
    sock.send(type="subscribed", channel=name)
    if sock.hub.changes != changes:  # access may have changed while it was checked
        sock.recheck([name])


V1 = SocketKind("v1", render_v1, _v1_frame)


# What the document says of the socket (its operation's description).
WS_V1 = """\
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
`data` is rendered by the same view classes as REST's answers; `x-live-events` maps each \
event to the component its `data` is. On `video:<id>`: `comment.created` (CommentCreated: \
the comment as REST answers it, less the caller's own `liked_by_me`, with the video's \
`comment_count`), `comment.edited` (SharedComment), `comment.deleted` and `comment.hidden` \
(CommentGone; hidden: moderation held or removed it), `comment.liked` (CommentLiked), \
`reactions.changed` (ReactionCounts), `video.hidden` (VideoHidden: only its author and \
staff stay subscribed), `video.visibility_changed` (VisibilityChanged). On `user:<id>`: \
`notification.created` (a Notification, as REST lists it) and `video.status` \
(VideoStatusChanged). Comments and notifications of users blocked either way with me, or \
muted by me, are not delivered.
- `{"type": "error", "code": "channel_forbidden", "detail": "...", "channel": "user:7"}`: \
codes invalid_frame, unknown_op, invalid_channel, channel_forbidden, video_not_found, \
too_many_subscriptions, rate_limited.
- `{"type": "pong"}`

Close codes: 4401 the access token expired, the session was revoked (logout, password \
change) or the account was banned, suspended or deleted: refresh or sign in, then \
reconnect; 4408 the client read too slowly and its backlog filled; 1001 the server is \
shutting down; 1009 a frame over 4 KiB."""
WS_ERRORS = (
    problem("Not a WebSocket handshake.", "upgrade_required"),
    problem("Too many open sockets for this user.", "too_many_sockets"),
    problem("The server is shutting down.", "shutting_down"),
)


@contract("Live updates over one WebSocket.", "live", {101: SWITCHING}, auth=True,
          errors=WS_ERRORS, description=WS_V1)
async def v1_socket(request: web.Request) -> web.WebSocketResponse:
    async def channels(who: Principal) -> list[str]:
        return [user_channel(who.user_id)]

    return await serve(request, V1, channels)


# ---------------------------------------------------------------- legacy: GET /ws/chat


async def _chat_frame(sock: Socket, text: str) -> None:
    """{"video_id": N} moves the chat to that video."""
    video_id = _object(text).get("video_id")
    if type(video_id) is not int or not 0 < video_id < 2**63:
        sock.end(CLOSE_POLICY, 'expected {"video_id": <id>}')
        return
    changes = sock.hub.changes
    try:
        name = await sock.services.live.authorize(sock.who, video_channel(video_id))
    except MomenticError as exc:
        sock.end(CLOSE_NOT_FOUND if exc.code == "video_not_found" else CLOSE_POLICY, exc.code)
        return
    for old in list(sock.channels):
        sock.hub.unsubscribe(sock, old)
    sock.hub.subscribe(sock, name)
    if sock.hub.changes != changes:
        sock.recheck([name])


CHAT = SocketKind("chat", render_chat, _chat_frame)


async def chat_socket(request: web.Request) -> web.WebSocketResponse:
    video_id = query_id(request, "video_id")

    async def channels(who: Principal) -> list[str]:
        if video_id is None:
            return []
        return [await services(request).live.authorize(who, video_channel(video_id))]

    return await serve(request, CHAT, channels)


routes = web.RouteTableDef()
routes.get("/v1/ws")(v1_socket)
