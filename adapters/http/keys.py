"""Typed application and request state keys, and the records they hold: the services
the handlers call and the HTTP options.

A leaf of ``adapters.http`` (aiohttp-demos' ``typedefs.py``): it imports no other module
of the package, so every module may use it and none has to import the app factory. The
live hub's key lives with the hub (``live.HUB``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs
from aiohttp import web

from momentic_core.model.accounts import Principal, RateDecision
from momentic_core.model.jobs import JobBacklog
from momentic_core.ports import BlobStore, Clock, LiveEventSource
from momentic_core.services.accounts import Accounts
from momentic_core.services.config import Config
from momentic_core.services.devices import Devices, NotificationPreferences
from momentic_core.services.email_change import EmailChange
from momentic_core.services.engagement import Engagement, Live, Notifications
from momentic_core.services.feeds import Feeds
from momentic_core.services.mfa import TwoFactor
from momentic_core.services.moderation import Moderation
from momentic_core.services.profiles import Profiles
from momentic_core.services.ranking import Ranking, Stats
from momentic_core.services.search import Search
from momentic_core.services.shares import Shares
from momentic_core.services.social import Friends
from momentic_core.services.throttle import Throttle
from momentic_core.services.videos import Videos
from momentic_core.services.views import Views

if TYPE_CHECKING:
    from adapters.http.views import MediaUrl
    from adapters.media_urls import MediaTokens


@attrs.frozen
class Backlog:
    jobs: tuple[JobBacklog, ...]
    open_uploads: int


@attrs.frozen
class PoolUse:
    size: int
    in_use: int
    max_size: int


@attrs.frozen
class ReplicaState:
    """A streaming replica as this process last looked at it (every 100 ms)."""

    name: str  # host:port/database
    up: bool  # serves reads: answers, in recovery, within the lag limit
    lag_seconds: float
    retried: int = 0  # reads it gave up on that this process redid on the primary
    lagging: bool = False  # answers, in recovery, but past the lag limit (so not up)

    @property
    def state(self) -> str:
        """up, lagging or down (down: does not answer, or is not a standby)."""
        return "up" if self.up else "lagging" if self.lagging else "down"


@attrs.frozen
class Gauges:
    """What storage can tell about itself: the backlog (one query, at scrape time),
    this process's connection pool (None on the memory adapters) and its replicas
    (None without MOMENTIC_DATABASE_REPLICA_URLS)."""

    backlog: Callable[[], Awaitable[Backlog]]
    pool: Callable[[], PoolUse] | None = None
    replicas: Callable[[], list[ReplicaState]] | None = None


@attrs.frozen
class Services:
    """What the handlers may call: use cases, and a readiness probe."""

    accounts: Accounts
    profiles: Profiles
    throttle: Throttle
    ready: Callable[[], Awaitable[None]]
    gauges: Gauges  # what /metrics reads of storage
    videos: Videos
    friends: Friends
    feeds: Feeds
    views: Views  # POST /v1/videos/{id}/view
    blobs: BlobStore
    media_url: MediaUrl  # key -> URL a client can fetch (signed, or CDN); HLS playlists
    media_tokens: MediaTokens  # what /media/s/<exp>/<sig>/<key> is verified with
    clock: Clock  # the backend's: what media tokens are made and verified against
    signed_media: SignedMedia | None  # set when the app itself serves media (/media/...)
    engagement: Engagement
    notifications: Notifications
    live: Live
    moderation: Moderation
    live_events: LiveEventSource  # committed events of every instance, for the sockets
    ranking: Ranking
    stats: Stats
    config: Config
    devices: Devices
    notification_preferences: NotificationPreferences
    two_factor: TwoFactor
    search: Search  # hashtags and search (issue 20 item 5)
    shares: Shares  # share links (/v/{slug}) opened by guests
    share_url: Callable[[int], str]  # video id -> its share link (public_url/v/{slug})
    email_change: EmailChange


class SignedMedia(Protocol):
    def verify_signature(self, key: str, exp: int, sig: str, now: datetime) -> bool: ...


@attrs.frozen
class HttpOptions:
    max_body_bytes: int = 1_048_576
    trusted_proxies: int = 0
    cors_origins: tuple[str, ...] = ()  # exact origins (scheme://host[:port]); () = no CORS
    hsts_seconds: int = 0  # Strict-Transport-Security max-age; 0 = no header (plain HTTP)
    body_timeout_seconds: float = 20.0  # a body's first bytes' grace; 0 = no body deadline
    body_min_rate: int = 500  # bytes/s that extend the body deadline (1 s per this many)
    docs: bool = True  # serve /openapi.json and Swagger UI at /docs
    metrics_token: str = ""  # bearer token of /metrics; empty: loopback clients only


SERVICES = web.AppKey("services", Services)
OPTIONS = web.AppKey("options", HttpOptions)
# The OpenAPI document the app serves at /openapi.json (adapters/http/openapi.py).
DOCUMENT = web.AppKey[dict[str, Any]]("document")
# (METHOD, path template) of the operations that take a bearer token, from the OpenAPI
# document: where the per-IP count may wait for the per-user one
# (middlewares.ip_rate_limit_middleware).
AUTHENTICATED = web.AppKey[frozenset[tuple[str, str]]]("authenticated")

PRINCIPAL = web.RequestKey("principal", Principal)
USER_ID = web.RequestKey[int]("user_id")
RATE = web.RequestKey("rate", RateDecision)
# The caller's address, when its per-IP counter waits to go with the per-user one
# (requests that carry a bearer token: one statement for both).
IP_PENDING = web.RequestKey[str]("ip_pending")
