"""Retry-After and service-wide pauses of push delivery, with the job queue on memory and
on PostgreSQL: a ``push.deliver`` batch through the real APNs and FCM gateways to the
local fakes (tests/push_support.py), run by the real worker on the test's clock. The
retry's ``run_at`` in the queue is no earlier than the latest Retry-After of the
failures (delta-seconds or an HTTP-date; capped at an hour; an invalid one leaves the
backoff), and a 503 for the whole service stops the batch's sends to that service: the
rest wait for the retry, unsent, and nothing goes out twice; FCM's 429 (a quota that may
be one phone's) retries that push alone. FCM's token endpoint down is a pause of FCM too
(no push goes to FCM without a token); its refusal of the service account is counted, as
APNs' refusal of our provider token (InvalidProviderToken: the devices kept); an expired
provider token is signed afresh and the batch delivered."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from joserfc.jwk import RSAKey
from push_support import FakeApns, FakeFcm, p8_key

from adapters.logs import JsonFormatter
from adapters.memory.clock import ManualClock
from adapters.push.apns import ApnsPushGateway
from adapters.push.fcm import FcmPushGateway
from adapters.push.logging import LoggingPushSender
from adapters.push.router import PlatformPushGateway
from momentic_core.model.devices import ApnsEnvironment, Device, Platform, PushMessage
from momentic_core.model.jobs import Job
from momentic_core.ports import JobRunner
from momentic_core.services.jobs import Worker
from momentic_core.services.push import DELIVER_ATTEMPTS, SERVICE_PAUSE, Pushes, push_job_kinds

from .support import T0, Adapters, add_session, add_user

TOPIC = "app.momentic.ios"
BACKOFF = timedelta(seconds=5)  # the worker's first backoff


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeApns, FakeFcm]]:
    key = p8_key()
    apns = await FakeApns(key, "KEY1234567", "TEAM123456", TOPIC).start()
    fcm = await FakeFcm().start()
    yield apns, fcm
    await apns.stop()
    await fcm.stop()


class Delivery:
    """Pushes on the real gateways, a worker on ``clock`` and one delivery batch."""

    def __init__(self, backend: Adapters, clock: ManualClock, fakes: Any,
                 concurrency: int, timeout: float = 5,
                 apns_clock: Callable[[], float] = time.time) -> None:
        apns, fcm = fakes
        self.apns, self.fcm, self.clock = apns, fcm, clock
        self.ios = ApnsPushGateway(
            key_pem=apns.key_pem, key_id="KEY1234567", team_id="TEAM123456",
            topic=TOPIC, production_url=apns.url, sandbox_url=apns.url, timeout=5,
            clock=apns_clock)
        self.gateway = PlatformPushGateway({
            Platform.IOS: self.ios,
            Platform.ANDROID: FcmPushGateway(fcm.account(), fcm_url=fcm.url,
                                             timeout=timeout),
        }, LoggingPushSender())
        self.backend = backend
        self.pushes = Pushes(uow=backend.uow, clock=clock, gateway=self.gateway,
                             concurrency=concurrency)
        self.runner: JobRunner = backend.job_runner(clock)
        self.worker = Worker(runner=self.runner, kinds=push_job_kinds(self.pushes),
                             clock=clock, backoff=BACKOFF)

    async def queue(
        self, *platforms: Platform, expires_at: datetime | None = None,
        key: str = "moment:2026-01-05",
    ) -> list[str]:
        """One batch with a device of each platform given, in that order; their tokens.
        ``expires_at``: the messages are time-bound (the moment's)."""
        user = await add_user(self.backend)
        self.user_id = user.id
        session = await add_session(self.backend, user.id)
        messages = []
        async with self.backend.uow() as tx:
            for n, platform in enumerate(platforms):
                token = f"{n:064x}" if platform is Platform.IOS else f"fcm:{n:0140x}"
                env = ApnsEnvironment.PRODUCTION if platform is Platform.IOS else None
                device, _ = await tx.devices.register(Device(
                    id=0, user_id=user.id, session_id=session.id, platform=platform,
                    token=token, created_at=T0, last_seen_at=T0, apns_environment=env))
                messages.append((user.id, PushMessage(
                    device_id=device.id, platform=platform, token=token, title="t",
                    body="b", apns_environment=env, collapse_id="moment-2026-01-05",
                    expires_at=expires_at)))
            await Pushes._queue(tx, messages, key)
        return [m.token for _, m in messages]

    async def run(self) -> Job | None:
        """Run the due job, if any; the job as the queue keeps it afterwards."""
        job = await self.worker.run_once()
        return None if job is None else await self.runner.get(job.id)

    def received(self) -> Counter[str]:
        return Counter([p["token"] for p in self.apns.received]
                       + [m["token"] for m in self.fcm.received])

    async def close(self) -> None:
        await self.gateway.close()


@pytest.fixture
async def make_delivery(
    backend: Adapters, clock: ManualClock, fakes: Any
) -> AsyncIterator[Callable[..., Delivery]]:
    made: list[Delivery] = []

    def make(concurrency: int = 100, timeout: float = 5,
             apns_clock: Callable[[], float] = time.time) -> Delivery:
        made.append(Delivery(backend, clock, fakes, concurrency, timeout, apns_clock))
        return made[-1]

    yield make
    for d in made:
        await d.close()


async def test_the_retry_waits_for_the_services_retry_after(
    make_delivery: Callable[..., Delivery],
) -> None:
    """APNs 429 TooManyRequests for one token with Retry-After: 120 (seconds): the job's
    retry is queued 120 s ahead, not at the 5 s backoff, and sends that one alone."""
    delivery = make_delivery(100)
    ios = await delivery.queue(Platform.IOS, Platform.IOS, Platform.IOS)
    delivery.apns.answers[ios[1]] = (429, "TooManyRequests")
    delivery.apns.retry_after[ios[1]] = "120"
    start = delivery.clock.now()
    job = await delivery.run()
    assert job is not None and job.status == "queued"
    assert job.run_at == start + timedelta(seconds=120)
    assert delivery.received() == Counter({ios[0]: 1, ios[2]: 1})
    del delivery.apns.answers[ios[1]]
    delivery.clock.advance(timedelta(seconds=119))
    assert await delivery.run() is None, "not before its Retry-After"
    delivery.clock.advance(timedelta(seconds=1))
    job = await delivery.run()
    assert job is not None and job.status == "done"
    assert delivery.received() == Counter(ios), "the retry sent the failure alone"
    assert delivery.apns.requests == 4


async def test_an_http_date_outage_pause_holds_fcm_and_lets_apns_go_on(
    make_delivery: Callable[..., Delivery],
) -> None:
    """FCM 503 UNAVAILABLE (the whole service) with an HTTP-date ten minutes ahead: no
    more sends to FCM from this batch; its APNs pushes go out; the retry is queued at
    that date and sends the Android pushes once each."""
    delivery = make_delivery(1)
    tokens = await delivery.queue(Platform.ANDROID, Platform.ANDROID, Platform.IOS,
                                  Platform.ANDROID, Platform.IOS)
    android = [t for t in tokens if t.startswith("fcm:")]
    ios = [t for t in tokens if not t.startswith("fcm:")]
    at = delivery.clock.now() + timedelta(minutes=10)
    delivery.fcm.answers[android[0]] = (503, "UNAVAILABLE")
    delivery.fcm.retry_after[android[0]] = format_datetime(at, usegmt=True)
    job = await delivery.run()
    assert job is not None and job.status == "queued" and job.run_at == at
    assert delivery.fcm.requests == 1, "FCM is down: nothing more was sent to it"
    assert delivery.received() == Counter(ios)
    assert job.last_error is not None and "3 of 5 pushes to retry" in job.last_error
    del delivery.fcm.answers[android[0]]
    delivery.clock.advance(timedelta(minutes=10))
    job = await delivery.run()
    assert job is not None and job.status == "done"
    assert delivery.received() == Counter(tokens), "each push exactly once"
    assert delivery.fcm.requests == 4 and delivery.apns.requests == 2


async def test_one_devices_fcm_quota_retries_that_push_alone(
    make_delivery: Callable[..., Delivery],
) -> None:
    """FCM 429 QUOTA_EXCEEDED for one phone (a device's message rate: FCM's details do
    not tell it from the project's quota) with Retry-After: 120, one push at a time: the
    batch's other Android pushes still go out; that one is retried alone, 120 s later."""
    delivery = make_delivery(1)
    tokens = await delivery.queue(Platform.ANDROID, Platform.ANDROID, Platform.ANDROID,
                                  Platform.IOS)
    chatty = tokens[0]
    delivery.fcm.answers[chatty] = (429, "QUOTA_EXCEEDED")
    delivery.fcm.retry_after[chatty] = "120"
    start = delivery.clock.now()
    job = await delivery.run()
    assert job is not None and job.status == "queued"
    assert job.run_at == start + timedelta(seconds=120)
    assert job.last_error is not None and "1 of 4 pushes to retry" in job.last_error
    assert delivery.received() == Counter(tokens[1:]), "one phone's quota paused nobody"
    del delivery.fcm.answers[chatty]
    delivery.clock.advance(timedelta(seconds=120))
    job = await delivery.run()
    assert job is not None and job.status == "done"
    assert delivery.received() == Counter(tokens)
    assert delivery.fcm.requests == 4


@pytest.mark.parametrize(("header", "delay"), [
    ("soon", BACKOFF),  # invalid: the backoff
    ("-30", BACKOFF),
    ("1", BACKOFF),  # sooner than the backoff: the backoff
    ("86400", timedelta(hours=1)),  # a day: capped at an hour
    ("Mon, 05 Jan 2026 14:00:00 GMT", timedelta(hours=1)),  # 2 h ahead of T0: capped
    ("Mon, 05 Jan 2026 11:00:00 GMT", BACKOFF),  # already past
])
async def test_an_invalid_or_outlying_retry_after_falls_back_or_is_capped(
    make_delivery: Callable[..., Delivery], header: str, delay: timedelta
) -> None:
    delivery = make_delivery(100)
    [ios] = await delivery.queue(Platform.IOS)
    # One token's 429 (a 503, the service's, without a usable Retry-After waits
    # SERVICE_PAUSE instead: test_a_pause_without_retry_after_waits_the_service_pause).
    delivery.apns.answers[ios] = (429, "TooManyRequests")
    delivery.apns.retry_after[ios] = header
    start = delivery.clock.now()
    assert start == T0
    job = await delivery.run()
    assert job is not None and job.status == "queued" and job.run_at == start + delay


async def test_a_service_wide_503_stops_the_batch_and_queues_the_rest(
    make_delivery: Callable[..., Delivery],
) -> None:
    """APNs 503 ServiceUnavailable (Retry-After: 60) to the first of ten iPhones, two at a
    time: at most the push in flight beside it goes out, the others are not sent but
    wait for the retry 60 s later, while the batch's Android pushes go out; the retry
    sends each iPhone's push that is still due, and nobody gets one twice."""
    delivery = make_delivery(2)
    tokens = await delivery.queue(*[Platform.IOS] * 10, Platform.ANDROID, Platform.ANDROID)
    ios = tokens[:10]
    delivery.apns.answers[ios[0]] = (503, "ServiceUnavailable")
    delivery.apns.retry_after[ios[0]] = "60"
    start = delivery.clock.now()
    job = await delivery.run()
    assert job is not None and job.status == "queued"
    assert job.run_at == start + timedelta(seconds=60)
    assert delivery.apns.requests <= 2, "APNs asked to be left alone; the batch kept on"
    first = delivery.received()
    assert set(first) >= set(tokens[10:]), "FCM's pushes are not held back by APNs"
    assert set(first) <= set(tokens[10:]) | {ios[1]}
    assert job.last_error is not None
    assert "pushes to retry: ServiceUnavailable (not before" in job.last_error
    del delivery.apns.answers[ios[0]]
    delivery.clock.advance(timedelta(seconds=59))
    assert await delivery.run() is None
    delivery.clock.advance(timedelta(seconds=1))
    job = await delivery.run()
    assert job is not None and job.status == "done"
    assert delivery.received() == Counter(tokens), "each push exactly once"
    assert delivery.apns.requests == 11, "the 503, then each iPhone once"
    assert delivery.fcm.requests == 2


async def test_a_long_pause_never_uses_up_the_attempts_of_pushes_never_tried(
    make_delivery: Callable[..., Delivery],
) -> None:
    """APNs answers 503 with Retry-After: 3600 (the cap) to the first of three iPhones,
    one at a time, for longer than DELIVER_ATTEMPTS hours: each hour the job sends that
    one push and holds the others back, and is queued an hour on with its attempt handed
    back (it was buried after the sixth before, the two never sent); when APNs is back,
    each push goes out once."""
    delivery = make_delivery(1)
    ios = await delivery.queue(Platform.IOS, Platform.IOS, Platform.IOS,
                               key="n:7")  # a notification's: no time limit
    delivery.apns.answers[ios[0]] = (503, "ServiceUnavailable")
    delivery.apns.retry_after[ios[0]] = "3600"
    for hour in range(DELIVER_ATTEMPTS + 2):
        job = await delivery.run()
        assert job is not None and (job.status, job.attempts) == ("queued", 0), hour
        assert job.run_at == delivery.clock.now() + timedelta(hours=1)
        assert job.last_error is not None and "not an attempt" in job.last_error
        assert delivery.apns.requests == hour + 1, "one push a pause, the others held"
        delivery.clock.advance(timedelta(hours=1))
    assert delivery.received() == Counter()
    del delivery.apns.answers[ios[0]]
    job = await delivery.run()
    assert job is not None and (job.status, job.attempts) == ("done", 1)
    assert delivery.received() == Counter(ios)


async def test_a_pause_without_retry_after_waits_the_service_pause(
    make_delivery: Callable[..., Delivery],
) -> None:
    """FCM 503 UNAVAILABLE with no Retry-After: not the 5 s backoff (the job would probe
    a down service every few seconds for as long as it is down, never counting), but
    SERVICE_PAUSE; not counted."""
    delivery = make_delivery(1)
    android = await delivery.queue(Platform.ANDROID, Platform.ANDROID)
    delivery.fcm.answers[android[0]] = (503, "UNAVAILABLE")
    start = delivery.clock.now()
    job = await delivery.run()
    assert job is not None and (job.status, job.attempts) == ("queued", 0)
    assert job.run_at == start + SERVICE_PAUSE
    assert delivery.fcm.requests == 1


async def test_a_failure_of_one_push_still_counts_its_attempts(
    make_delivery: Callable[..., Delivery],
) -> None:
    """APNs 500 (one push's failure, not the service's): retried with backoff, each
    attempt counted, dead after DELIVER_ATTEMPTS."""
    delivery = make_delivery(100)
    [ios] = await delivery.queue(Platform.IOS, key="n:8")
    delivery.apns.answers[ios] = (500, "InternalServerError")
    for attempt in range(1, DELIVER_ATTEMPTS + 1):
        job = await delivery.run()
        assert job is not None and job.attempts == attempt
        delivery.clock.advance(timedelta(hours=1))
    assert job is not None and job.status == "dead"
    assert delivery.apns.requests == DELIVER_ATTEMPTS


async def test_the_moments_push_is_dropped_once_its_window_closed_not_sent_late(
    make_delivery: Callable[..., Delivery],
) -> None:
    """The moment's pushes (expires_at: the window's end, two minutes on) held back by an
    APNs pause of an hour are dropped on the retry, not sent: nobody gets "two minutes to
    post" an hour late; they are marked settled (a later run sends none either) and the
    job is done. The batch's Android pushes went out in time."""
    delivery = make_delivery(1)
    ends = delivery.clock.now() + timedelta(minutes=2)
    tokens = await delivery.queue(Platform.IOS, Platform.IOS, Platform.ANDROID,
                                  expires_at=ends)
    delivery.apns.answers[tokens[0]] = (503, "ServiceUnavailable")
    delivery.apns.retry_after[tokens[0]] = "3600"
    job = await delivery.run()
    assert job is not None and job.status == "queued"
    assert delivery.received() == Counter([tokens[2]])
    del delivery.apns.answers[tokens[0]]
    delivery.clock.advance(timedelta(hours=1))
    job = await delivery.run()
    assert job is not None and job.status == "done"
    assert delivery.received() == Counter([tokens[2]]), "nothing sent after the window"
    assert delivery.apns.requests == 1


@pytest.mark.parametrize(("outage", "header", "delay"), [
    (503, None, SERVICE_PAUSE),
    (503, "120", timedelta(seconds=120)),
    (200, None, SERVICE_PAUSE),  # 200 with an HTML page: no token
    ("timeout", None, SERVICE_PAUSE),
])
async def test_a_token_endpoint_outage_pauses_fcm_and_never_uses_up_the_attempts(
    make_delivery: Callable[..., Delivery], outage: int | str, header: str | None,
    delay: timedelta,
) -> None:
    """FCM's OAuth token endpoint answers 503 (with or without Retry-After), a page that
    is no token, or nothing at all, for longer than DELIVER_ATTEMPTS retries: no push can
    go to FCM, so each run is a pause, not an attempt (it was each push's counted retry:
    the batch was buried after the sixth, none ever sent); one token request a run, not
    one a push; the batch's iPhone push goes out at once. When the endpoint is back,
    each push goes out once."""
    delivery = make_delivery(100, timeout=1 if outage == "timeout" else 5)
    tokens = await delivery.queue(Platform.ANDROID, Platform.ANDROID, Platform.IOS,
                                  Platform.ANDROID, key="n:9")
    fcm = delivery.fcm
    if outage == "timeout":
        fcm.token_hold = asyncio.Event()
    else:
        fcm.token_error, fcm.token_retry_after = int(outage), header
    for run in range(DELIVER_ATTEMPTS + 1):
        job = await delivery.run()
        assert job is not None and (job.status, job.attempts) == ("queued", 0), run
        assert job.run_at == delivery.clock.now() + delay
        assert job.last_error is not None and "3 of 4 pushes to retry" in job.last_error
        assert "not an attempt" in job.last_error
        assert "token endpoint unavailable" in job.last_error
        assert fcm.token_posts == run + 1 and fcm.requests == 0
        delivery.clock.advance(delay)
    assert delivery.received() == Counter([tokens[2]])
    if fcm.token_hold is not None:
        hold, fcm.token_hold = fcm.token_hold, None
        hold.set()
    fcm.token_error = None
    job = await delivery.run()
    assert job is not None and (job.status, job.attempts) == ("done", 1)
    assert delivery.received() == Counter(tokens), "each push exactly once"
    assert fcm.requests == 3


async def test_a_refused_service_account_is_counted_and_logged_not_a_pause(
    make_delivery: Callable[..., Delivery], caplog: pytest.LogCaptureFixture,
) -> None:
    """The token endpoint answers 400 invalid_grant (the service account's key is not
    Google's: revoked, deleted, another's): a configuration error, not an outage. Not a
    pause, which would retry it every 30 s forever: each run is a counted attempt with
    backoff, and the job is given up on after DELIVER_ATTEMPTS, with an error line naming
    the cause; the batch asks the endpoint at most once a run (it was once a push), and
    its iPhone push goes out."""
    delivery = make_delivery(1)
    tokens = await delivery.queue(Platform.ANDROID, Platform.ANDROID, Platform.ANDROID,
                                  Platform.IOS, key="n:10")
    delivery.fcm.public_key = RSAKey.generate_key(2048)  # not the account's key
    with caplog.at_level(logging.ERROR, logger="adapters.push.fcm"):
        for attempt in range(1, DELIVER_ATTEMPTS + 1):
            job = await delivery.run()
            assert job is not None and job.attempts == attempt
            assert job.last_error is not None
            assert "token refused: HTTP 400 invalid_grant" in job.last_error
            assert "not an attempt" not in job.last_error
            delivery.clock.advance(timedelta(hours=1))
    assert job is not None and job.status == "dead"
    assert delivery.fcm.token_posts <= DELIVER_ATTEMPTS and delivery.fcm.requests == 0
    assert delivery.received() == Counter([tokens[3]])
    errors = [r for r in caplog.records if r.name == "adapters.push.fcm"]
    assert 1 <= len(errors) <= DELIVER_ATTEMPTS
    assert all(r.levelno == logging.ERROR and "configuration error" in r.getMessage()
               and r.__dict__["error"] == "invalid_grant" for r in errors)


@pytest.mark.parametrize(("misconfigured", "attribute", "value", "refused"), [
    # the key Apple has is not ours: 403 InvalidProviderToken
    ("provider token", "key_id", "OTHERKEY00", "InvalidProviderToken"),
    # the key's app is not our topic (MOMENTIC_APNS_TOPIC): 400 TopicDisallowed
    ("topic", "topic", "com.example.other", "TopicDisallowed"),
])
async def test_a_refused_configuration_is_counted_and_logged_and_keeps_the_devices(
    make_delivery: Callable[..., Delivery], caplog: pytest.LogCaptureFixture,
    misconfigured: str, attribute: str, value: str, refused: str,
) -> None:
    """APNs refuses our configuration, not a device (403 InvalidProviderToken: the
    provider token; 400 TopicDisallowed: the topic): each run a counted attempt, never a
    pause, the job dead after DELIVER_ATTEMPTS, no push refused (lost), no device
    deleted, an ERROR line naming the reason, key id, team and topic and holding no key,
    provider token or device token; the batch asks APNs at most once a run (the answer
    is kept a minute), and its Android push goes out."""
    delivery = make_delivery(1)
    tokens = await delivery.queue(Platform.IOS, Platform.IOS, Platform.IOS,
                                  Platform.ANDROID, key=f"n:{misconfigured}")
    setattr(delivery.apns, attribute, value)
    with caplog.at_level(logging.ERROR, logger="adapters.push.apns"):
        for attempt in range(1, DELIVER_ATTEMPTS + 1):
            job = await delivery.run()
            assert job is not None and job.attempts == attempt
            assert job.last_error is not None
            assert f"{misconfigured} refused: {refused}" in job.last_error
            assert "not an attempt" not in job.last_error
            delivery.clock.advance(timedelta(hours=1))
    assert job is not None and job.status == "dead"
    assert 1 <= delivery.apns.requests <= DELIVER_ATTEMPTS
    assert delivery.received() == Counter([tokens[3]])
    async with delivery.backend.uow(read_only=True) as tx:
        kept = await tx.devices.list_for_user(delivery.user_id)
    assert sorted(d.token for d in kept) == sorted(tokens), "no device deleted"
    errors = [r for r in caplog.records if r.name == "adapters.push.apns"]
    assert 1 <= len(errors) <= DELIVER_ATTEMPTS
    assert all(r.levelno == logging.ERROR and "configuration error" in r.getMessage()
               and r.__dict__["reason"] == refused
               and r.__dict__["key_id"] == "KEY1234567"
               and r.__dict__["team_id"] == "TEAM123456" and r.__dict__["topic"] == TOPIC
               for r in errors)
    logged = "\n".join(JsonFormatter().format(r) for r in errors)
    key_body = "".join(delivery.apns.key_pem.splitlines()[1:-1])
    assert key_body[:40] not in logged and delivery.ios.provider_token() not in logged
    assert not any(token in logged for token in tokens)


async def test_an_expired_provider_token_is_signed_afresh_and_the_batch_delivered(
    make_delivery: Callable[..., Delivery], caplog: pytest.LogCaptureFixture,
) -> None:
    """APNs answers 403 ExpiredProviderToken for the provider token the gateway still
    reuses: it is signed afresh once and each push sent in the same run, the job done at
    attempt 1, nothing logged as an error."""
    now = [time.time() - 100]
    delivery = make_delivery(100, apns_clock=lambda: now[0])
    tokens = await delivery.queue(Platform.IOS, Platform.IOS, Platform.IOS,
                                  Platform.ANDROID, key="n:12")
    stale = delivery.ios.provider_token()  # signed 100 s ago
    delivery.apns.expire_issued_before = time.time() - 50  # Apple takes it as stale
    now[0] = time.time()
    with caplog.at_level(logging.ERROR, logger="adapters.push.apns"):
        job = await delivery.run()
    assert job is not None and job.status == "done" and job.attempts == 1
    assert delivery.received() == Counter(tokens), "each push once"
    assert delivery.ios.provider_token() != stale
    assert len(delivery.apns.provider_tokens) == 2, "signed afresh once, not once a push"
    assert [r for r in caplog.records if r.name == "adapters.push.apns"] == []
