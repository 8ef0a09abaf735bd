"""FCM HTTP v1 with a service-account key: messages:send over HTTP/2 (``h2client``, one
connection to fcm.googleapis.com carrying every push as a stream, as APNs), the OAuth2
token from the token endpoint on aiohttp (once an hour).

The access token comes from the OAuth2 JWT bearer grant (RFC 7523): a JWT signed with
the service account's RSA key (RS256; ``iss``: the account's email, ``scope``:
firebase.messaging, ``aud``: its token URI), exchanged at ``token_uri`` through authlib's
``JWTBearerGrant``; kept until a minute before it expires. Answers: 200 sent; the error
code ``UNREGISTERED`` (FcmError detail or status): dead token; 429, 5xx, timeouts, lost
or refused connections (``H2Unavailable``: TLS or ALPN ``h2`` refused too): try again
(401: the token is renewed first), not before the answer's ``Retry-After`` if it has one
(FCM sends it with 429 and 503 and asks that it be honoured); any other 4xx, a bare 404
(a wrong project id) and ``INVALID_ARGUMENT`` too: refused, the device kept.

No push goes to FCM without an access token, so the token endpoint's failures are the
whole service's. Down (a timeout, a lost or refused connection, 408, 429, 5xx) or
answering something that is no token (a proxy's HTML page, even with 200): a retry with
``service_wide`` (the delivery job sends FCM nothing more, and the retry is a pause, not
an attempt), not before the endpoint's ``Retry-After`` if it sends one. Pushes that were
waiting for the same request get its failure, not a request each. Refused (any other
4xx: 400 ``invalid_grant``, a revoked or deleted key, a signature that does not verify,
a clock far off; 401 ``invalid_client``; a wrong ``token_uri``): a configuration error,
logged as an error naming the account, the key id and Google's reason; each push gets
an ordinary retry (counted: the job is retried with backoff and given up on after its
attempts, instead of pausing forever on a key that will not work until someone fixes
it), and the refusal is kept ``REFUSAL_KEPT`` seconds, so a batch asks once, not once a
push, and the log has one line a minute, not one a push.

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
import logging
import math
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from authlib.oauth2.rfc7523 import JWTBearerGrant
from joserfc.jwk import RSAKey

from adapters.push.h2client import H2Client, H2Unavailable
from momentic_core.model.devices import PushMessage, PushOutcome, PushResult, parse_retry_after

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_URL = "https://fcm.googleapis.com"
TOKEN_LIFETIME = 3600.0  # seconds, when the token endpoint does not say
REFUSAL_KEPT = 60.0  # seconds a refusal of the token endpoint is answered without asking


class TokenUnavailable(Exception):
    """No access token: ``result`` is what each push that needed it gets."""

    def __init__(self, result: PushResult) -> None:
        super().__init__(result.reason)
        self.result = result


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
        # The last token request's failure: (answered without asking until, result).
        self._failure: tuple[float, PushResult] | None = None
        self._fetches = 0  # token requests made (a waiter tells a newer failure by it)
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
        """The access token, fetched when there is none or it expires within a minute.
        Raises ``TokenUnavailable`` when the token endpoint gives none (``_fetch``); a
        caller that waited for a request that failed gets its failure without another."""
        fetches = self._fetches
        async with self._lock:
            if self._access is not None and self._clock() < self._access[0] - 60:
                return self._access[1]
            failure = self._failure
            if failure is not None and (fetches != self._fetches
                                        or self._clock() < failure[0]):
                raise TokenUnavailable(failure[1])
            try:
                expires_at, token = await self._fetch()
            except TokenUnavailable as exc:
                # A refusal is kept a while; a passing failure only for those waiting.
                kept = REFUSAL_KEPT if not exc.result.service_wide else 0.0
                self._failure = (self._clock() + kept, exc.result)
                raise
            finally:
                self._fetches += 1
            self._access, self._failure = (expires_at, token), None
            return token

    async def _fetch(self) -> tuple[float, str]:
        """One token request: (expires at, token), or ``TokenUnavailable``."""
        try:
            # A session for this one request: the token is fetched once an hour.
            async with aiohttp.ClientSession(timeout=self._timeout) as http, http.post(
                self._token_uri, data={"grant_type": JWTBearerGrant.GRANT_TYPE,
                                       "assertion": self.assertion()},
            ) as r:
                status, retry_after = r.status, r.headers.get("Retry-After")
                try:
                    body = await r.json(content_type=None)
                except ValueError:  # a proxy's HTML error page
                    body = None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TokenUnavailable(PushResult(
                PushOutcome.RETRY, f"token endpoint unavailable: {type(exc).__name__}",
                service_wide=True)) from exc
        if status == 200 and isinstance(body, dict) and "access_token" in body:
            return (self._clock() + _lifetime(body.get("expires_in")),
                    str(body["access_token"]))
        error = body if isinstance(body, dict) else {}
        code, why = str(error.get("error", "")), str(error.get("error_description", ""))
        if 400 <= status < 500 and status not in (408, 429):
            reason = f"token refused: HTTP {status} {code or 'no error code'}"
            log.error(
                "FCM's token endpoint refuses the service account: a configuration error "
                "(MOMENTIC_FCM_SERVICE_ACCOUNT: a revoked or wrong key, or this host's "
                "clock); no push goes to Android until it is fixed", extra={
                    "status": status, "error": code, "error_description": why[:200],
                    "client_email": self._account.get("client_email"),
                    "private_key_id": self._account.get("private_key_id"),
                    "token_uri": self._token_uri})
            raise TokenUnavailable(PushResult(PushOutcome.RETRY, reason))
        what = "no token in its answer" if status == 200 else f"HTTP {status}"
        raise TokenUnavailable(PushResult(
            PushOutcome.RETRY, f"token endpoint unavailable: {what}",
            retry_after=parse_retry_after(retry_after), service_wide=True))

    async def deliver(self, message: PushMessage) -> PushResult:
        try:
            token = await self.access_token()
        except TokenUnavailable as exc:
            return exc.result
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
