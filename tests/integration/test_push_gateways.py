# ruff: noqa: RUF001 -- Russian texts are Cyrillic on purpose.
"""The APNs and FCM gateways against local fakes of the services (tests/push_support.py):
real HTTP/2 over real TLS (a throwaway CA, the client trusting it alone, ALPN h2) and the
real OAuth2 JWT bearer grant, every answer mapped to its outcome; a server that does not
negotiate h2, a certificate of another CA or for another name get no push (a retry)."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from joserfc.jwk import RSAKey
from push_support import FakeApns, FakeFcm, TestCA, p8_key

from adapters.logs import JsonFormatter
from adapters.push import apns as apns_module
from adapters.push.apns import ApnsPushGateway
from adapters.push.fcm import REFUSAL_KEPT, FcmPushGateway
from adapters.push.h2client import H2Client, H2Unavailable
from momentic_core.model.devices import ApnsEnvironment, Platform, PushMessage, PushOutcome

TOPIC = "app.momentic.ios"
IOS = "ab" * 32
ANDROID = "fcm:" + "x" * 140


def _message(token: str = IOS, platform: Platform = Platform.IOS) -> PushMessage:
    return PushMessage(
        device_id=7, platform=platform, token=token, title="Новая реакция",
        body="sam отреагировал(а) на ваше видео.",
        apns_environment=ApnsEnvironment.SANDBOX if platform is Platform.IOS else None,
        badge=3, collapse_id="reaction-1001",
        data={"kind": "reaction", "notification_id": "55", "video_id": "1001"},
    )


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA()


@pytest.fixture
async def apns(ca: TestCA) -> AsyncIterator[tuple[FakeApns, ApnsPushGateway]]:
    key = p8_key()
    fake = await FakeApns(key, "KEY1234567", "TEAM123456", TOPIC).start(
        tls=ca.server_context("127.0.0.1"))
    gateway = ApnsPushGateway(key_pem=key, key_id="KEY1234567", team_id="TEAM123456",
                              topic=TOPIC, production_url="http://127.0.0.1:9",
                              sandbox_url=fake.url, timeout=5, verify=ca.client_context())
    yield fake, gateway
    await gateway.close()
    await fake.stop()


async def test_apns_sends_over_http2_with_the_token_topic_and_payload(apns: Any) -> None:
    fake, gateway = apns
    assert fake.url.startswith("https://")
    assert (await gateway.deliver(_message())).outcome is PushOutcome.SENT
    assert (await gateway.deliver(_message())).outcome is PushOutcome.SENT
    first, second = fake.received
    assert first["token"] == IOS and first["headers"]["apns-topic"] == TOPIC
    assert first["headers"]["apns-collapse-id"] == "reaction-1001"
    assert first["headers"]["apns-push-type"] == "alert"
    assert first["payload"]["aps"]["alert"] == {
        "title": "Новая реакция", "body": "sam отреагировал(а) на ваше видео."}
    assert first["payload"]["aps"]["badge"] == 3
    assert first["payload"]["video_id"] == "1001" and first["payload"]["kind"] == "reaction"
    assert first["headers"]["authorization"] == second["headers"]["authorization"], (
        "the provider token is reused, not signed per push")
    assert fake.per_connection == [2], "one TLS connection carries both"
    assert "apns-expiration" not in first["headers"], "a notification may come any time"


async def test_a_time_bound_push_tells_each_service_when_it_expires(
    apns: Any, fcm: Any
) -> None:
    """The moment's push (expires_at: its window's end): APNs gets apns-expiration (UNIX
    seconds), FCM android.ttl (the seconds left by the gateway's clock), so neither hands
    it to a phone that comes online after the window."""
    apns_fake, apns_gateway = apns
    fcm_fake, fcm_gateway, now = fcm
    at = datetime.fromtimestamp(int(time.time()) + 120.5, UTC)  # (the fake checks the
    now[0] = at.timestamp() - 90.2  # token's assertion against the real clock)
    message = attrs.evolve(_message(), expires_at=at)
    assert (await apns_gateway.deliver(message)).outcome is PushOutcome.SENT
    android = attrs.evolve(_message(ANDROID, Platform.ANDROID), expires_at=at)
    assert (await fcm_gateway.deliver(android)).outcome is PushOutcome.SENT
    assert apns_fake.received[0]["headers"]["apns-expiration"] == str(int(at.timestamp()))
    assert fcm_fake.received[0]["android"]["ttl"] == "90s"
    now[0] = at.timestamp() + 5  # sent late all the same (the service's own clock)
    assert (await fcm_gateway.deliver(android)).outcome is PushOutcome.SENT
    assert fcm_fake.received[1]["android"]["ttl"] == "0s"


@pytest.mark.parametrize(("status", "reason", "outcome"), [
    (410, "Unregistered", PushOutcome.INVALID_TOKEN),
    (400, "Unregistered", PushOutcome.INVALID_TOKEN),
    # configuration mistakes (sandbox/production, the topic) are no dead tokens
    (400, "BadDeviceToken", PushOutcome.REFUSED),
    (400, "DeviceTokenNotForTopic", PushOutcome.REFUSED),
    (400, "BadCollapseId", PushOutcome.REFUSED),
    (413, "PayloadTooLarge", PushOutcome.REFUSED),
    (403, "Forbidden", PushOutcome.REFUSED),  # the action is not allowed: not retried
    (429, "TooManyRequests", PushOutcome.RETRY),
    (503, "ServiceUnavailable", PushOutcome.RETRY),
    (500, "InternalServerError", PushOutcome.RETRY),
])
async def test_apns_answers_map_to_outcomes(
    apns: Any, status: int, reason: str, outcome: PushOutcome
) -> None:
    fake, gateway = apns
    fake.answers[IOS] = (status, reason)
    result = await gateway.deliver(_message())
    assert (result.outcome, result.reason) == (outcome, reason)


AT = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
HTTP_DATE = "Wed, 09 Dec 2026 10:00:00 GMT"  # AT, as an HTTP-date


@pytest.mark.parametrize(("status", "reason", "header", "retry_after", "service_wide"), [
    (429, "TooManyRequests", "120", timedelta(seconds=120), False),  # one token's
    (503, "ServiceUnavailable", HTTP_DATE, AT, True),
    (503, "Shutdown", None, None, True),
    (429, "TooManyRequests", "86400", timedelta(hours=1), False),  # capped
    (500, "InternalServerError", "soon", None, False),  # invalid: ignored
    (503, "ServiceUnavailable", "1.5", None, True),
])
async def test_apns_retry_after_and_service_wide_answers(
    apns: Any, status: int, reason: str, header: str | None,
    retry_after: timedelta | datetime | None, service_wide: bool,
) -> None:
    fake, gateway = apns
    fake.answers[IOS] = (status, reason)
    if header is not None:
        fake.retry_after[IOS] = header
    result = await gateway.deliver(_message())
    assert (result.outcome, result.reason) == (PushOutcome.RETRY, reason)
    assert (result.retry_after, result.service_wide) == (retry_after, service_wide)


async def test_apns_with_a_wrong_topic_is_a_counted_retry_and_a_configuration_error(
    apns: Any, ca: TestCA, caplog: pytest.LogCaptureFixture,
) -> None:
    """400 TopicDisallowed (MOMENTIC_APNS_TOPIC is not the key's app): every push gets it,
    so not a refusal (lost): a counted retry, kept REFUSAL_KEPT seconds, one ERROR line."""
    fake, _ = apns
    wrong_topic = ApnsPushGateway(key_pem=fake.key_pem, key_id="KEY1234567",
                                  team_id="TEAM123456", topic="other", sandbox_url=fake.url,
                                  verify=ca.client_context())
    try:
        with caplog.at_level(logging.ERROR, logger="adapters.push.apns"):
            for _ in range(3):
                result = await wrong_topic.deliver(_message())
                assert (result.outcome, result.reason) == (
                    PushOutcome.RETRY, "topic refused: TopicDisallowed")
        assert fake.requests == 1
    finally:
        await wrong_topic.close()
    assert fake.received == []
    errors = [r for r in caplog.records if r.name == "adapters.push.apns"]
    assert len(errors) == 1 and errors[0].levelno == logging.ERROR
    assert "configuration error" in errors[0].getMessage()
    assert (errors[0].__dict__["reason"], errors[0].__dict__["topic"]) == (
        "TopicDisallowed", "other")


async def test_apns_too_many_provider_token_updates_is_a_retry_without_re_signing(
    apns: Any,
) -> None:
    """429 TooManyProviderTokenUpdates: a retry that waits (its Retry-After kept), and the
    provider token is not signed afresh for it: the next push uses the same token."""
    fake, gateway = apns
    fake.answers[IOS] = (429, "TooManyProviderTokenUpdates")
    fake.retry_after[IOS] = "120"
    for _ in range(3):
        result = await gateway.deliver(_message())
        assert (result.outcome, result.reason) == (
            PushOutcome.RETRY, "TooManyProviderTokenUpdates")
        assert (result.retry_after, result.service_wide) == (timedelta(seconds=120), False)
    assert fake.requests == 3 and len(fake.provider_tokens) == 1


@pytest.mark.parametrize("wrong", ["key", "key_id", "team_id"])
async def test_apns_a_refused_provider_token_is_a_counted_retry_and_a_configuration_error(
    apns: Any, ca: TestCA, caplog: pytest.LogCaptureFixture, wrong: str,
) -> None:
    """403 InvalidProviderToken (a key, key id or team id that is not Apple's): our
    configuration, not the device. No refusal (the push would be lost) and no dead token
    (the device kept): an ordinary retry, counted by the job; an ERROR line naming the
    reason, key id, team id and topic, never the key or the token. The answer is kept
    REFUSAL_KEPT seconds: the batch's other pushes get it without a request, and the log
    has one line a minute; then APNs is asked again."""
    fake, _ = apns
    now = [time.time()]
    config = {"key": fake.key_pem, "key_id": "KEY1234567", "team_id": "TEAM123456"}
    config[wrong] = p8_key() if wrong == "key" else "WRONG00000"
    gateway = ApnsPushGateway(key_pem=config["key"], key_id=config["key_id"],
                              team_id=config["team_id"], topic=TOPIC, sandbox_url=fake.url,
                              verify=ca.client_context(), clock=lambda: now[0])
    try:
        with caplog.at_level(logging.ERROR, logger="adapters.push.apns"):
            for _ in range(5):
                result = await gateway.deliver(_message())
                assert (result.outcome, result.reason) == (
                    PushOutcome.RETRY, "provider token refused: InvalidProviderToken")
                assert (result.service_wide, result.retry_after) == (False, None)
            now[0] += apns_module.REFUSAL_KEPT - 1
            assert (await gateway.deliver(_message())).outcome is PushOutcome.RETRY
            assert fake.requests == 1
            now[0] += 1
            assert (await gateway.deliver(_message())).outcome is PushOutcome.RETRY
            assert fake.requests == 2
        provider_token = gateway.provider_token()
    finally:
        await gateway.close()
    assert fake.received == []
    errors = [r for r in caplog.records if r.name == "adapters.push.apns"]
    assert len(errors) == 2 and {r.levelno for r in errors} == {logging.ERROR}
    assert "configuration error" in errors[0].getMessage()
    fields = errors[0].__dict__
    assert (fields["reason"], fields["key_id"], fields["team_id"], fields["topic"]) == (
        "InvalidProviderToken", config["key_id"], config["team_id"], TOPIC)
    logged = "\n".join(JsonFormatter().format(r) for r in errors)
    key_body = "".join(config["key"].splitlines()[1:-1])
    assert key_body[:40] not in logged.replace("\\n", "")
    assert provider_token not in logged and IOS not in logged


@pytest.mark.parametrize(("status", "reason", "outcome", "what"), [
    (403, "MissingProviderToken", PushOutcome.RETRY, "provider token"),
    # a key for the other environment
    (403, "BadEnvironmentKeyInToken", PushOutcome.RETRY, "provider token"),
    # no certificate is ours: not Apple answering
    (403, "BadCertificate", PushOutcome.RETRY, "provider token"),
    (403, "BadCertificateEnvironment", PushOutcome.RETRY, "provider token"),
    (403, "Forbidden", PushOutcome.REFUSED, ""),
    # 400s about MOMENTIC_APNS_TOPIC: every push gets them
    (400, "TopicDisallowed", PushOutcome.RETRY, "topic"),
    (400, "BadTopic", PushOutcome.RETRY, "topic"),
    (400, "MissingTopic", PushOutcome.RETRY, "topic"),
])
async def test_apns_answers_about_our_configuration_are_configuration_errors(
    apns: Any, caplog: pytest.LogCaptureFixture, status: int, reason: str,
    outcome: PushOutcome, what: str,
) -> None:
    fake, gateway = apns
    fake.answers[IOS] = (status, reason)
    with caplog.at_level(logging.ERROR, logger="adapters.push.apns"):
        result = await gateway.deliver(_message())
    assert result.outcome is outcome
    errors = [r for r in caplog.records if r.name == "adapters.push.apns"]
    if outcome is PushOutcome.RETRY:
        assert result.reason == f"{what} refused: {reason}"
        assert [r.__dict__["reason"] for r in errors] == [reason]
    else:
        assert result.reason == reason and errors == []


async def test_apns_an_expired_provider_token_is_signed_afresh_and_sent(
    apns: Any, ca: TestCA, caplog: pytest.LogCaptureFixture,
) -> None:
    """403 ExpiredProviderToken for a token the gateway still reuses (Apple takes it as
    stale): signed afresh, once for all the pushes that used it, and each push sent at
    once, no retry and no error."""
    fake, _ = apns
    now = [time.time() - 100]
    gateway = ApnsPushGateway(key_pem=fake.key_pem, key_id="KEY1234567",
                              team_id="TEAM123456", topic=TOPIC, sandbox_url=fake.url,
                              verify=ca.client_context(), clock=lambda: now[0])
    try:
        assert (await gateway.deliver(_message())).outcome is PushOutcome.SENT
        fake.expire_issued_before = time.time() - 50
        now[0] = time.time()
        with caplog.at_level(logging.WARNING, logger="adapters.push.apns"):
            results = await asyncio.gather(*(gateway.deliver(_message()) for _ in range(5)))
        assert [r.outcome for r in results] == [PushOutcome.SENT] * 5
    finally:
        await gateway.close()
    assert len(fake.provider_tokens) == 2, "signed afresh once, not once a push"
    assert len(fake.received) == 6 and fake.requests == 11
    assert [r for r in caplog.records if r.name == "adapters.push.apns"] == []


async def test_apns_a_fresh_token_answered_expired_is_the_clock_a_configuration_error(
    apns: Any, ca: TestCA, caplog: pytest.LogCaptureFixture,
) -> None:
    """This host's clock two hours off: the fresh token is answered ExpiredProviderToken
    too. One request again with a fresh token, then a counted retry and an ERROR line."""
    fake, _ = apns
    gateway = ApnsPushGateway(key_pem=fake.key_pem, key_id="KEY1234567",
                              team_id="TEAM123456", topic=TOPIC, sandbox_url=fake.url,
                              verify=ca.client_context(), clock=lambda: time.time() - 7200)
    try:
        with caplog.at_level(logging.ERROR, logger="adapters.push.apns"):
            result = await gateway.deliver(_message())
            assert (await gateway.deliver(_message())).reason == result.reason
    finally:
        await gateway.close()
    assert (result.outcome, result.reason) == (
        PushOutcome.RETRY, "provider token refused: ExpiredProviderToken")
    assert fake.requests == 2 and fake.received == []
    errors = [r for r in caplog.records if r.name == "adapters.push.apns"]
    assert [r.__dict__["reason"] for r in errors] == ["ExpiredProviderToken"]


async def test_apns_unreachable_is_a_retry(apns: Any) -> None:
    _, gateway = apns
    message = attrs.evolve(_message(), apns_environment=ApnsEnvironment.PRODUCTION)
    assert (await gateway.deliver(message)).outcome is PushOutcome.RETRY  # port 9: refused


@pytest.fixture
async def fcm(ca: TestCA) -> AsyncIterator[tuple[FakeFcm, FcmPushGateway, list[float]]]:
    fake = await FakeFcm().start(tls=ca.server_context("127.0.0.1"))
    now = [time.time()]
    gateway = FcmPushGateway(fake.account(), fcm_url=fake.url, timeout=5,
                             verify=ca.client_context(), clock=lambda: now[0])
    yield fake, gateway, now
    await gateway.close()
    await fake.stop()


async def test_fcm_gets_a_token_by_jwt_bearer_grant_and_keeps_it(fcm: Any) -> None:
    fake, gateway, now = fcm
    now[0] = time.time()
    for _ in range(3):
        assert (await gateway.deliver(_message(ANDROID, Platform.ANDROID))).outcome \
            is PushOutcome.SENT
    assert fake.token_requests == 1, "the access token is cached until it expires"
    assert fake.url.startswith("https://")
    assert fake.per_connection == [3], "the sends share one HTTP/2 connection"
    sent = fake.received[0]
    assert sent["token"] == ANDROID
    assert sent["notification"]["title"] == "Новая реакция"
    assert sent["data"] == {"kind": "reaction", "notification_id": "55", "video_id": "1001"}
    assert sent["android"]["collapse_key"] == "reaction-1001"
    now[0] += 3600  # expired: a new one
    assert (await gateway.deliver(_message(ANDROID, Platform.ANDROID))).outcome \
        is PushOutcome.SENT
    assert fake.token_requests == 2


@pytest.mark.parametrize(("status", "code", "outcome"), [
    (404, "UNREGISTERED", PushOutcome.INVALID_TOKEN),
    (400, "INVALID_ARGUMENT", PushOutcome.REFUSED),
    (404, "NOT_FOUND", PushOutcome.REFUSED),
    (403, "SENDER_ID_MISMATCH", PushOutcome.REFUSED),
    (503, "UNAVAILABLE", PushOutcome.RETRY),
    (429, "QUOTA_EXCEEDED", PushOutcome.RETRY),
])
async def test_fcm_answers_map_to_outcomes(
    fcm: Any, status: int, code: str, outcome: PushOutcome
) -> None:
    fake, gateway, now = fcm
    now[0] = time.time()
    fake.answers[ANDROID] = (status, code)
    result = await gateway.deliver(_message(ANDROID, Platform.ANDROID))
    assert result.outcome is outcome and code in (result.reason or "")


@pytest.mark.parametrize(("status", "code", "header", "retry_after", "service_wide"), [
    (503, "UNAVAILABLE", "30", timedelta(seconds=30), True),
    # The project's quota or one device's: FCM's details do not say which (documented
    # values), so one push's retry, never a pause of the whole batch.
    (429, "QUOTA_EXCEEDED", HTTP_DATE, AT, False),
    (429, "QUOTA_EXCEEDED", None, None, False),
    (500, "INTERNAL", "-1", None, False),  # invalid: ignored; a 500 is not the service's
])
async def test_fcm_retry_after_and_service_wide_answers(
    fcm: Any, status: int, code: str, header: str | None,
    retry_after: timedelta | datetime | None, service_wide: bool,
) -> None:
    fake, gateway, now = fcm
    now[0] = time.time()
    fake.answers[ANDROID] = (status, code)
    if header is not None:
        fake.retry_after[ANDROID] = header
    result = await gateway.deliver(_message(ANDROID, Platform.ANDROID))
    assert (result.outcome, result.reason) == (PushOutcome.RETRY, code)
    assert (result.retry_after, result.service_wide) == (retry_after, service_wide)


@pytest.mark.parametrize("expires_in", ["soon", None, [], "nan", "-5", "1e999"])
async def test_fcm_a_token_lifetime_that_is_no_number_is_taken_as_an_hour(
    fcm: Any, expires_in: Any
) -> None:
    """An ``expires_in`` that does not read as a positive number of seconds raised out
    of deliver (float("soon")): the token is used and kept an hour, as when it is
    absent."""
    fake, gateway, now = fcm
    now[0] = time.time()
    fake.token_expires_in = expires_in
    for _ in range(2):
        result = await gateway.deliver(_message(ANDROID, Platform.ANDROID))
        assert result.outcome is PushOutcome.SENT
    assert fake.token_requests == 1
    now[0] += 3600 - 61
    assert (await gateway.deliver(_message(ANDROID, Platform.ANDROID))).outcome \
        is PushOutcome.SENT
    assert fake.token_requests == 1
    now[0] += 2  # within a minute of the hour: renewed
    assert (await gateway.deliver(_message(ANDROID, Platform.ANDROID))).outcome \
        is PushOutcome.SENT
    assert fake.token_requests == 2


async def test_fcm_to_a_wrong_project_is_refused_not_a_dead_token(
    fcm: Any, ca: TestCA
) -> None:
    """A bare 404 (the project id is wrong: a configuration mistake) must not delete every
    Android device."""
    fake, _, _ = fcm
    account = {**fake.account(), "project_id": "not-ours"}
    wrong = FcmPushGateway(account, fcm_url=fake.url, timeout=5, verify=ca.client_context())
    try:
        result = await wrong.deliver(_message(ANDROID, Platform.ANDROID))
    finally:
        await wrong.close()
    assert (result.outcome, result.reason) == (PushOutcome.REFUSED, "NOT_FOUND")


async def test_fcm_a_lost_service_is_a_retry_the_token_kept(fcm: Any) -> None:
    fake, gateway, now = fcm
    now[0] = time.time()
    assert (await gateway.deliver(_message(ANDROID, Platform.ANDROID))).outcome \
        is PushOutcome.SENT
    await fake.stop()  # the token is kept; the send finds its connection gone
    result = await gateway.deliver(_message(ANDROID, Platform.ANDROID))
    assert (result.outcome, result.service_wide) == (PushOutcome.RETRY, False)
    assert fake.token_posts == 1


@pytest.mark.parametrize(("status", "header", "what", "retry_after"), [
    (503, None, "HTTP 503", None),
    (503, "120", "HTTP 503", timedelta(seconds=120)),
    (502, HTTP_DATE, "HTTP 502", AT),  # a proxy's HTML page
    (500, "soon", "HTTP 500", None),  # invalid: ignored
    (429, "30", "HTTP 429", timedelta(seconds=30)),
    (408, None, "HTTP 408", None),
    (200, None, "no token in its answer", None),  # a captive proxy's page, as 200
])
async def test_fcm_a_token_endpoint_that_is_down_pauses_fcm(
    fcm: Any, status: int, header: str | None, what: str,
    retry_after: timedelta | datetime | None,
) -> None:
    """No push goes to FCM without a token: the token endpoint's 5xx, 429, 408 or an
    answer that is no token is the whole service's (service_wide: the delivery job holds
    its other Android pushes and its retry is a pause, not an attempt), with the
    endpoint's Retry-After. It was an ordinary retry of each push ("ClientResponseError",
    counted), so an outage of a few hours buried every batch unsent. Nothing is sent to
    FCM; once the endpoint is back the push goes out."""
    fake, gateway, now = fcm
    now[0] = time.time()
    fake.token_error, fake.token_retry_after = status, header
    for _ in range(2):  # a passing failure is not kept: each delivery asks again
        result = await gateway.deliver(_message(ANDROID, Platform.ANDROID))
        assert (result.outcome, result.reason) == (
            PushOutcome.RETRY, f"token endpoint unavailable: {what}")
        assert (result.service_wide, result.retry_after) == (True, retry_after)
    assert fake.token_posts == 2 and fake.requests == 0
    fake.token_error = None
    assert (await gateway.deliver(_message(ANDROID, Platform.ANDROID))).outcome \
        is PushOutcome.SENT
    assert fake.token_requests == 1 and len(fake.received) == 1


async def test_fcm_a_token_endpoint_that_times_out_or_refuses_connections_pauses_fcm(
    ca: TestCA,
) -> None:
    fake = await FakeFcm().start(tls=ca.server_context("127.0.0.1"))
    fake.token_hold = asyncio.Event()
    account = fake.account()
    gateway = FcmPushGateway(account, fcm_url=fake.url, timeout=0.5,
                             verify=ca.client_context())
    refused = FcmPushGateway({**account, "token_uri": "http://127.0.0.1:9/token"},
                             fcm_url=fake.url, timeout=5, verify=ca.client_context())
    try:
        result = await gateway.deliver(_message(ANDROID, Platform.ANDROID))
        assert (result.outcome, result.service_wide) == (PushOutcome.RETRY, True)
        assert result.reason == "token endpoint unavailable: TimeoutError"
        result = await refused.deliver(_message(ANDROID, Platform.ANDROID))
        assert (result.outcome, result.service_wide) == (PushOutcome.RETRY, True)
        assert result.reason == "token endpoint unavailable: ClientConnectorError"
        hold, fake.token_hold = fake.token_hold, None
        hold.set()
        assert (await gateway.deliver(_message(ANDROID, Platform.ANDROID))).outcome \
            is PushOutcome.SENT
    finally:
        await gateway.close()
        await refused.close()
        await fake.stop()
    assert fake.requests == 1


async def test_fcm_pushes_waiting_for_a_failed_token_request_share_its_failure(
    fcm: Any,
) -> None:
    """Twenty pushes at once (a delivery job's window) while the endpoint answers 503:
    one token request, whose failure each of them gets; they asked one after the other
    before (a timeout each: twenty times the timeout)."""
    fake, gateway, now = fcm
    now[0] = time.time()
    fake.token_error = 503
    results = await asyncio.gather(*[
        gateway.deliver(_message(ANDROID, Platform.ANDROID)) for _ in range(20)])
    assert {(r.outcome, r.service_wide) for r in results} == {(PushOutcome.RETRY, True)}
    assert fake.token_posts == 1
    fake.token_error = None
    results = await asyncio.gather(*[
        gateway.deliver(_message(ANDROID, Platform.ANDROID)) for _ in range(20)])
    assert {r.outcome for r in results} == {PushOutcome.SENT}
    assert fake.token_posts == 2 and len(fake.received) == 20


@pytest.mark.parametrize(("refusal", "reason", "why"), [
    (None, "token refused: HTTP 400 invalid_grant", "Invalid JWT Signature."),
    ((401, {"error": "invalid_client", "error_description":
            "The OAuth client was not found."}),
     "token refused: HTTP 401 invalid_client", "The OAuth client was not found."),
    ((404, {}), "token refused: HTTP 404 no error code", ""),  # a wrong token_uri
])
async def test_fcm_a_refused_token_is_a_counted_retry_and_a_configuration_error(
    fcm: Any, caplog: pytest.LogCaptureFixture, refusal: Any, reason: str, why: str,
) -> None:
    """The token endpoint refuses the service account (400 invalid_grant: a key revoked,
    deleted or not the account's; 401 invalid_client): no pause (it would wait forever
    on a key that does not work), but each push an ordinary retry, counted (the job
    backs off and is given up on after its attempts), and an error naming the cause,
    the account and the key. The refusal is kept REFUSAL_KEPT seconds: the other pushes
    of the batch, and its next attempts within that time, do not ask again (one
    request and one log line, not one per push); then it is asked again, and a fixed
    key sends."""
    fake, gateway, now = fcm
    now[0] = time.time()
    public_key = fake.public_key
    if refusal is None:
        fake.public_key = RSAKey.generate_key(2048)  # the account's key is not Google's
    else:
        fake.token_refusal = refusal
    with caplog.at_level(logging.ERROR, logger="adapters.push.fcm"):
        for _ in range(5):
            result = await gateway.deliver(_message(ANDROID, Platform.ANDROID))
            assert (result.outcome, result.reason) == (PushOutcome.RETRY, reason)
            assert (result.service_wide, result.retry_after) == (False, None)
        now[0] += REFUSAL_KEPT - 1
        assert (await gateway.deliver(_message(ANDROID, Platform.ANDROID))).reason == reason
        assert fake.token_posts == 1 and fake.requests == 0
        now[0] += 1
        assert (await gateway.deliver(_message(ANDROID, Platform.ANDROID))).reason == reason
        assert fake.token_posts == 2
    errors = [r for r in caplog.records if r.name == "adapters.push.fcm"]
    assert len(errors) == 2 and {r.levelno for r in errors} == {logging.ERROR}
    assert "configuration error" in errors[0].getMessage()
    fields = errors[0].__dict__
    assert fields["status"] == (refusal or (400,))[0]
    assert fields["error_description"] == why
    assert fields["client_email"] == fake.client_email
    assert fields["private_key_id"] == "k1"
    assert "private_key" not in fields and "assertion" not in fields
    fake.public_key, fake.token_refusal = public_key, None  # fixed
    now[0] += REFUSAL_KEPT
    assert (await gateway.deliver(_message(ANDROID, Platform.ANDROID))).outcome \
        is PushOutcome.SENT
    assert fake.token_posts == 3 and len(fake.received) == 1


# ---------------------------------------------------------------- TLS refusals


async def _raw_tls_listener(
    context: ssl.SSLContext, received: bytearray
) -> asyncio.Server:
    """A TLS server that records every byte a client sends it after the handshake."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                received.extend(data)
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
    return await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)


@pytest.mark.parametrize("alpn", [("http/1.1",), None], ids=["http/1.1 only", "no ALPN"])
async def test_a_server_that_does_not_negotiate_h2_gets_no_http2(
    ca: TestCA, alpn: tuple[str, ...] | None
) -> None:
    """An HTTP/1.1 server behind TLS (a proxy in the way): the client closes the
    connection before sending the HTTP/2 preface; the push is a retry, with a clear
    reason."""
    received = bytearray()
    server = await _raw_tls_listener(ca.server_context("127.0.0.1", alpn=alpn), received)
    port = server.sockets[0].getsockname()[1]
    client = H2Client(f"https://127.0.0.1:{port}", timeout=5, verify=ca.client_context())
    try:
        with pytest.raises(H2Unavailable) as refused:
            await client.post("/3/device/x", b"{}", [])
        key = p8_key()
        gateway = ApnsPushGateway(key_pem=key, key_id="KEY1234567", team_id="TEAM123456",
                                  topic=TOPIC, production_url=f"https://127.0.0.1:{port}",
                                  timeout=5, verify=ca.client_context())
        try:
            message = attrs.evolve(_message(), apns_environment=ApnsEnvironment.PRODUCTION)
            result = await gateway.deliver(message)
        finally:
            await gateway.close()
    finally:
        await client.close()
        server.close()
        await server.wait_closed()
    assert str(refused.value) == (
        f"127.0.0.1:{port} did not negotiate HTTP/2 over TLS (ALPN: none); nothing sent")
    assert (result.outcome, result.reason) == (PushOutcome.RETRY, str(refused.value))
    assert bytes(received) == b"", "not a byte of HTTP/2 (nor anything else) was sent"


@pytest.mark.parametrize(("server", "why"), [
    ("another CA", "certificate verify failed: self-signed certificate in certificate chain"),
    ("another name", "certificate verify failed: IP address mismatch"),
])
async def test_a_certificate_the_client_cannot_verify_is_refused(
    ca: TestCA, server: str, why: str
) -> None:
    context = (TestCA("Someone else's CA").server_context("127.0.0.1")
               if server == "another CA" else ca.server_context("push.example"))
    key = p8_key()
    fake = await FakeApns(key, "KEY1234567", "TEAM123456", TOPIC).start(tls=context)
    gateway = ApnsPushGateway(key_pem=key, key_id="KEY1234567", team_id="TEAM123456",
                              topic=TOPIC, sandbox_url=fake.url, timeout=5,
                              verify=ca.client_context())
    try:
        result = await gateway.deliver(_message())
    finally:
        await gateway.close()
        await fake.stop()
    assert result.outcome is PushOutcome.RETRY
    assert result.reason is not None and "SSLCertVerificationError" in result.reason
    assert why in result.reason
    assert fake.requests == 0 and fake.received == []


async def test_a_given_tls_context_is_used_as_it_is(ca: TestCA) -> None:
    """H2Client does not change the caller's context (it may serve other clients): one
    without ALPN h2 stays without, so an h2 server selects nothing and the request is
    refused; the same CA with h2 offered reaches the server."""
    key = p8_key()
    fake = await FakeApns(key, "KEY1234567", "TEAM123456", TOPIC).start(
        tls=ca.server_context("127.0.0.1"))
    plain = ca.client_context(alpn=None)
    without, offered = (H2Client(fake.url, timeout=5, verify=c)
                        for c in (plain, ca.client_context()))
    try:
        with pytest.raises(H2Unavailable, match=r"did not negotiate HTTP/2 .*\(ALPN: none\)"):
            await without.post("/3/device/x", b"{}", [])
        with pytest.raises(H2Unavailable, match=r"\(ALPN: none\)"):  # still none
            await without.post("/3/device/x", b"{}", [])
        status, _, _ = await offered.post("/3/device/x", b"{}", [])
    finally:
        await without.close()
        await offered.close()
        await fake.stop()
    assert status != 0 and fake.requests == 1


async def test_the_tls_context_is_made_once_not_at_every_reconnect(
    ca: TestCA, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = p8_key()
    fake = await FakeApns(key, "KEY1234567", "TEAM123456", TOPIC).start(
        tls=ca.server_context("127.0.0.1"))
    bundle = tmp_path / "ca.pem"
    bundle.write_text(ca.pem)
    made: list[object] = []
    create = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(args or kwargs)
        return create(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    client = H2Client(fake.url, timeout=5, verify=str(bundle))
    try:
        for _ in range(3):
            status, _, _ = await client.post("/3/device/x", b"{}", [])
            assert status != 0
            await client.close()  # the next request connects again
    finally:
        await client.close()
        await fake.stop()
    assert len(made) == 1, made
    assert len(fake.per_connection) == 3 and fake.requests == 3
