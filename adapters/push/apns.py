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
MOMENTIC_APNS_TOPIC answers it for every device) are refusals too: one configuration
mistake must not delete every registered device. ``TooManyProviderTokenUpdates`` (429:
our token re-signed too often) is a retry like any 429; nothing here re-signs on it.
A time-bound push (``expires_at``) carries ``apns-expiration``: APNs keeps it for a phone
that is offline only until then.

A 403 about our credentials, not the device, is a configuration error: no push to that
environment can go out until it is fixed, so none is refused (lost) for it and no
device is touched. ``ExpiredProviderToken`` (Apple: the token is older than an hour, or
this host's clock is off): the provider token is signed afresh (once for all the pushes
that used the stale one: Apple throttles fresh tokens) and the push sent again at once;
only if the fresh token is answered the same (the clock) is it an error.
The 400s ``TopicDisallowed``, ``BadTopic`` and ``MissingTopic`` (MOMENTIC_APNS_TOPIC
is not the key's app) are configuration errors the same way.
``InvalidProviderToken`` (a key id, team id or key that do not match, or a bad
signature), ``MissingProviderToken``, ``BadEnvironmentKeyInToken`` (a key restricted to
the other environment), and ``BadCertificate`` / ``BadCertificateEnvironment`` (a
certificate problem, which token authentication cannot have: the URL is not Apple's, or
a proxy speaks for it): an ordinary retry, counted (the delivery job backs off and is
given up on after its attempts, as for FCM's refused service account), with an ERROR
line naming the reason, key id, team id, topic and environment (never the key or the
token), at most one a minute. The answer is kept ``REFUSAL_KEPT`` seconds per
environment: the other pushes of the batch get it without a request. Any other 403
(``Forbidden``: the action is not allowed, a push Apple says not to retry) stays a
refusal of that push, the device kept.
"""

from __future__ import annotations

import json
import logging
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

log = logging.getLogger(__name__)

PRODUCTION_URL = "https://api.push.apple.com"
SANDBOX_URL = "https://api.sandbox.push.apple.com"
TOKEN_REUSE_SECONDS = 50 * 60
DEAD_TOKEN_REASONS = frozenset({"Unregistered"})
# Reasons about our configuration (Apple's error strings), not the device: every push
# to that environment gets them, so a configuration error, a counted retry (module doc).
# Reason -> what of ours is refused. The 403s are about our credentials (ExpiredProviderToken
# is one only when a fresh token gets it too); the 400s about MOMENTIC_APNS_TOPIC.
CONFIGURATION_REASONS: dict[str, str] = {
    **dict.fromkeys({"InvalidProviderToken", "MissingProviderToken", "ExpiredProviderToken",
                     "BadEnvironmentKeyInToken", "BadCertificate",
                     "BadCertificateEnvironment"}, "provider token"),
    **dict.fromkeys({"TopicDisallowed", "BadTopic", "MissingTopic"}, "topic"),
}
REFUSAL_KEPT = 60.0  # seconds a configuration error is answered without asking APNs


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
        # Per environment: (answered without asking until, result) of a configuration error
        self._refused: dict[ApnsEnvironment, tuple[float, PushResult]] = {}
        self._logged: dict[ApnsEnvironment, float] = {}  # when its error was last logged
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
        refused = self._refused.get(env)
        if refused is not None and self._clock() < refused[0]:
            return refused[1]
        token = self.provider_token()
        try:
            status, answer_headers, reason = await self._post(env, message, token)
            if status == 403 and reason == "ExpiredProviderToken":
                if self._token is not None and self._token[1] == token:
                    self._token = None  # signed afresh, once for all that used it
                token = self.provider_token()
                status, answer_headers, reason = await self._post(env, message, token)
        except H2Unavailable as exc:
            return PushResult(PushOutcome.RETRY, str(exc))
        if status == 200:
            self._refused.pop(env, None)
            return PushResult(PushOutcome.SENT)
        if status == 410 or reason in DEAD_TOKEN_REASONS:
            return PushResult(PushOutcome.INVALID_TOKEN, reason)
        if status == 429 or status >= 500:
            return PushResult(PushOutcome.RETRY, reason,
                              retry_after=parse_retry_after(answer_headers.get("retry-after")),
                              service_wide=status == 503)
        if status in (400, 403) and reason in CONFIGURATION_REASONS:
            return self._configuration_error(env, reason)
        return PushResult(PushOutcome.REFUSED, reason)

    async def _post(
        self, env: ApnsEnvironment, message: PushMessage, token: str
    ) -> tuple[int, dict[str, str], str]:
        """One request: (status, headers, reason: APNs' or ``HTTP <status>``)."""
        headers = [
            ("authorization", f"bearer {token}"),
            ("apns-topic", self.topic),
            ("apns-push-type", "alert"),
            ("apns-priority", "10"),
        ]
        if message.collapse_id:
            headers.append(("apns-collapse-id", message.collapse_id[:64]))
        if message.expires_at is not None:  # APNs keeps it for an offline phone until then
            headers.append(("apns-expiration", str(int(message.expires_at.timestamp()))))
        body = json.dumps(apns_payload(message), ensure_ascii=False).encode()
        status, answer_headers, answer = await self._http(env).post(
            f"{self._paths[env]}/3/device/{message.token}", body, headers)
        if status == 200:
            return status, answer_headers, ""
        try:
            reason = str(json.loads(answer).get("reason", ""))
        except (ValueError, AttributeError):
            reason = ""
        return status, answer_headers, reason or f"HTTP {status}"

    def _configuration_error(self, env: ApnsEnvironment, reason: str) -> PushResult:
        """An answer about our credentials or topic: a counted retry, kept REFUSAL_KEPT
        seconds, and an ERROR line at most once a minute (never the key or the token)."""
        now = self._clock()
        what = CONFIGURATION_REASONS[reason]
        result = PushResult(PushOutcome.RETRY, f"{what} refused: {reason}")
        self._refused[env] = (now + REFUSAL_KEPT, result)
        last = self._logged.get(env)
        if last is None or now - last >= REFUSAL_KEPT:
            self._logged[env] = now
            log.error(
                "APNs refuses our %s: a configuration error (MOMENTIC_APNS_KEY, "
                "MOMENTIC_APNS_KEY_ID, MOMENTIC_APNS_TEAM_ID, MOMENTIC_APNS_TOPIC, the APNs "
                "URL, or this host's clock); no push goes to iPhones in this environment "
                "until it is fixed", what,
                extra={"reason": reason, "key_id": self._key_id, "team_id": self._team_id,
                       "topic": self.topic, "environment": env.value})
        return result
