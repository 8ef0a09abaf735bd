"""FCM HTTP v1 with a service-account key: messages:send over HTTP/2 (``h2client``, one
connection to fcm.googleapis.com carrying every push as a stream, as APNs), the OAuth2
token from the token endpoint on aiohttp (once an hour).

The access token comes from the OAuth2 JWT bearer grant (RFC 7523): a JWT signed with
the service account's RSA key (RS256; ``iss``: the account's email, ``scope``:
firebase.messaging, ``aud``: its token URI), exchanged at ``token_uri`` through authlib's
``JWTBearerGrant``; kept until a minute before it expires. Answers: 200 sent; the error
code ``UNREGISTERED`` (FcmError detail or status): dead token; 429, 5xx, timeouts, lost
or refused connections (``H2Unavailable``: TLS or ALPN ``h2`` refused too) and a failed
token request: try again (401: the token is renewed first), not before the answer's
``Retry-After`` if it has one (FCM sends it with 429 and 503 and asks that it be
honoured); any other 4xx, a bare 404 (a wrong project id) and ``INVALID_ARGUMENT`` too:
refused, the device kept.

Only 503 / ``UNAVAILABLE`` (FCM overloaded) is the whole service's (``service_wide``: the
delivery job sends FCM nothing more until its retry). 429 ``QUOTA_EXCEEDED`` is a retry of
that push alone, with its Retry-After: FCM answers it for three quotas (the project's
message rate, one device's message rate, one topic's), and its ``google.rpc.QuotaFailure``
detail names the quota in a ``subject`` whose values FCM does not document, so a 429 for
one chatty phone cannot be told from the project's quota; taking every 429 as the
project's would let one such phone pause a whole batch. Under the project's quota every
push gets its own 429 and waits its own Retry-After.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from authlib.oauth2.rfc7523 import JWTBearerGrant
from joserfc.jwk import RSAKey

from adapters.push.h2client import H2Client, H2Unavailable
from momentic_core.model.devices import PushMessage, PushOutcome, PushResult, parse_retry_after

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_URL = "https://fcm.googleapis.com"
TOKEN_LIFETIME = 3600.0  # seconds, when the token endpoint does not say


def fcm_message(m: PushMessage, now: float | None = None) -> dict[str, Any]:
    """The messages:send body; a time-bound push (``expires_at``) gets ``android.ttl``,
    the seconds left from ``now`` (a UNIX time), so FCM keeps it for an offline phone only
    that long."""
    android: dict[str, Any] = {"priority": "HIGH",
                               "notification": {"title": m.title, "body": m.body}}
    if m.expires_at is not None:
        left = m.expires_at.timestamp() - (time.time() if now is None else now)
        android["ttl"] = f"{max(0, int(left))}s"
    if m.collapse_id:
        android["collapse_key"] = m.collapse_id
        android["notification"]["tag"] = m.collapse_id
    if m.badge is not None:
        android["notification"]["notification_count"] = m.badge
    return {"message": {"token": m.token, "notification": {"title": m.title, "body": m.body},
                        "data": dict(m.data), "android": android}}


def _error_codes(body: Any) -> set[str]:
    error = body.get("error", {}) if isinstance(body, dict) else {}
    codes = {str(error.get("status", ""))}
    for detail in error.get("details", []) or []:
        if isinstance(detail, dict) and "errorCode" in detail:
            codes.add(str(detail["errorCode"]))
    return codes


def _lifetime(expires_in: Any) -> float:
    """Seconds the access token lives (``expires_in``, RFC 6749 §5.1); an hour, Google's,
    when it is absent or not a positive finite number (a token that dies sooner is
    answered 401, and renewed)."""
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError, OverflowError):
        return TOKEN_LIFETIME
    return seconds if math.isfinite(seconds) and seconds > 0 else TOKEN_LIFETIME


class FcmPushGateway:
    def __init__(
        self,
        service_account: dict[str, Any],
        *,
        fcm_url: str = FCM_URL,
        timeout: float = 10.0,
        # For messages:send: a CA bundle path or an ssl context offering ALPN h2 (tests)
        verify: Any = True,
        clock: Any = time.time,
    ) -> None:
        self._account = service_account
        self._key = RSAKey.import_key(service_account["private_key"])
        self._project = service_account["project_id"]
        self._token_uri = service_account["token_uri"]
        url = fcm_url.rstrip("/")
        # A base URL's path (none for Google's) goes before /v1/.
        self._send_path = f"{urlsplit(url).path}/v1/projects/{self._project}/messages:send"
        self._client = H2Client(url, timeout=timeout, verify=verify)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._access: tuple[float, str] | None = None  # (expires at, token)
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self._client.close()

    def assertion(self) -> str:
        now = int(self._clock())
        signed = JWTBearerGrant.sign(
            self._key, issuer=self._account["client_email"],
            audience=self._token_uri, subject=None, issued_at=now, expires_at=now + 3600,
            claims={"scope": SCOPE}, header={"alg": "RS256",
                                             "kid": self._account.get("private_key_id")},
        )
        return signed.decode() if isinstance(signed, bytes) else str(signed)  # by version

    async def access_token(self) -> str:
        async with self._lock:
            if self._access is not None and self._clock() < self._access[0] - 60:
                return self._access[1]
            # A session for this one request: the token is fetched once an hour.
            async with aiohttp.ClientSession(timeout=self._timeout) as http, http.post(
                self._token_uri, data={"grant_type": JWTBearerGrant.GRANT_TYPE,
                                       "assertion": self.assertion()},
            ) as r:
                try:
                    body = await r.json(content_type=None)
                except ValueError:  # a proxy's HTML error page
                    body = None
                if r.status != 200 or not isinstance(body, dict) or "access_token" not in body:
                    raise aiohttp.ClientResponseError(
                        r.request_info, (), status=r.status, message=str(body)[:200])
            self._access = (self._clock() + _lifetime(body.get("expires_in")),
                            str(body["access_token"]))
            return self._access[1]

    async def deliver(self, message: PushMessage) -> PushResult:
        try:
            token = await self.access_token()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return PushResult(PushOutcome.RETRY, type(exc).__name__)
        try:
            status, answer_headers, answer = await self._client.post(
                self._send_path, json.dumps(fcm_message(message, self._clock())).encode(),
                [("authorization", f"Bearer {token}"),
                 ("content-type", "application/json; charset=UTF-8")])
        except H2Unavailable as exc:
            return PushResult(PushOutcome.RETRY, str(exc))
        try:
            body = json.loads(answer)
        except ValueError:
            body = {}
        if status == 200:
            return PushResult(PushOutcome.SENT)
        codes = _error_codes(body)
        reason = ",".join(sorted(c for c in codes if c)) or f"HTTP {status}"
        if "UNREGISTERED" in codes:
            return PushResult(PushOutcome.INVALID_TOKEN, reason)
        if status == 401:
            self._access = None
            return PushResult(PushOutcome.RETRY, reason)
        if status == 429 or status >= 500:
            return PushResult(
                PushOutcome.RETRY, reason,
                retry_after=parse_retry_after(answer_headers.get("retry-after")),
                service_wide=status == 503 or "UNAVAILABLE" in codes)
        return PushResult(PushOutcome.REFUSED, reason)
