"""APNs over HTTP/2 with token-based authentication (``h2client``: the h2 package on
asyncio, many concurrent streams on one connection).

The provider token is an ES256 JWT signed with the team's ``.p8`` key (``kid``: key id,
``iss``: team id, ``iat``), reused for 50 minutes (Apple refuses tokens older than an hour
and throttles fresh ones made more often than every 20 minutes). One HTTP/2 connection per
environment carries every push concurrently. Answers: 200 sent; 410 or ``Unregistered``:
the token is dead (the app was removed); 429 and 5xx, timeouts and lost connections: try
again, not before the answer's ``Retry-After`` if it has one (429 TooManyRequests is about
one token; 503 ServiceUnavailable or Shutdown is the service's: ``service_wide``); any
other 4xx: refused, the device kept. ``BadDeviceToken`` (most often a sandbox
token sent to production or the reverse) and ``DeviceTokenNotForTopic`` (a wrong
MOMENTIC_APNS_TOPIC) are refusals too: one configuration mistake must not delete every
registered device. A time-bound push (``expires_at``) carries ``apns-expiration``: APNs
keeps it for a phone that is offline only until then.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey

from adapters.push.h2client import H2Client, H2Unavailable
from momentic_core.model.devices import (
    ApnsEnvironment,
    PushMessage,
    PushOutcome,
    PushResult,
    parse_retry_after,
)

PRODUCTION_URL = "https://api.push.apple.com"
SANDBOX_URL = "https://api.sandbox.push.apple.com"
TOKEN_REUSE_SECONDS = 50 * 60
DEAD_TOKEN_REASONS = frozenset({"Unregistered"})


def apns_payload(m: PushMessage) -> dict[str, Any]:
    aps: dict[str, Any] = {"alert": {"title": m.title, "body": m.body}, "sound": "default"}
    if m.badge is not None:
        aps["badge"] = m.badge
    return {"aps": aps, **m.data}


class ApnsPushGateway:
    def __init__(
        self,
        *,
        key_pem: str,
        key_id: str,
        team_id: str,
        topic: str,
        production_url: str = PRODUCTION_URL,
        sandbox_url: str = SANDBOX_URL,
        timeout: float = 10.0,
        # A CA bundle path, or an ssl context offering ALPN h2 (the tests' fake; h2client)
        verify: Any = True,
        clock: Any = time.time,
    ) -> None:
        self._key = ECKey.import_key(key_pem)
        self._key_id, self._team_id, self.topic = key_id, team_id, topic
        self._urls = {ApnsEnvironment.PRODUCTION: production_url.rstrip("/"),
                      ApnsEnvironment.SANDBOX: sandbox_url.rstrip("/")}
        # A base URL's path (none for Apple's) goes before /3/device/.
        self._paths = {env: urlsplit(url).path for env, url in self._urls.items()}
        self._timeout = timeout
        self._verify = verify
        self._clock = clock
        self._token: tuple[float, str] | None = None
        self._clients: dict[ApnsEnvironment, H2Client] = {}

    def provider_token(self) -> str:
        now = self._clock()
        if self._token is None or now - self._token[0] >= TOKEN_REUSE_SECONDS:
            token = jwt.encode({"alg": "ES256", "kid": self._key_id},
                               {"iss": self._team_id, "iat": int(now)}, self._key)
            self._token = (now, token)
        return self._token[1]

    def _http(self, env: ApnsEnvironment) -> H2Client:
        client = self._clients.get(env)
        if client is None:
            client = self._clients[env] = H2Client(
                self._urls[env], timeout=self._timeout, verify=self._verify)
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()

    async def deliver(self, message: PushMessage) -> PushResult:
        env = message.apns_environment or ApnsEnvironment.PRODUCTION
        headers = [
            ("authorization", f"bearer {self.provider_token()}"),
            ("apns-topic", self.topic),
            ("apns-push-type", "alert"),
            ("apns-priority", "10"),
        ]
        if message.collapse_id:
            headers.append(("apns-collapse-id", message.collapse_id[:64]))
        if message.expires_at is not None:  # APNs keeps it for an offline phone until then
            headers.append(("apns-expiration", str(int(message.expires_at.timestamp()))))
        body = json.dumps(apns_payload(message), ensure_ascii=False).encode()
        try:
            status, answer_headers, answer = await self._http(env).post(
                f"{self._paths[env]}/3/device/{message.token}", body, headers)
        except H2Unavailable as exc:
            return PushResult(PushOutcome.RETRY, str(exc))
        if status == 200:
            return PushResult(PushOutcome.SENT)
        try:
            reason = str(json.loads(answer).get("reason", ""))
        except (ValueError, AttributeError):
            reason = ""
        reason = reason or f"HTTP {status}"
        if status == 410 or reason in DEAD_TOKEN_REASONS:
            return PushResult(PushOutcome.INVALID_TOKEN, reason)
        if status == 429 or status >= 500:
            return PushResult(PushOutcome.RETRY, reason,
                              retry_after=parse_retry_after(answer_headers.get("retry-after")),
                              service_wide=status == 503)
        if status == 403 and reason == "ExpiredProviderToken":
            self._token = None  # made afresh next time
            return PushResult(PushOutcome.RETRY, reason)
        return PushResult(PushOutcome.REFUSED, reason)
