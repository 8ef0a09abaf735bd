"""Job payloads are typed messages (model.jobs), registered once by kind, and the JSON a
job stores keeps the shape the previous release wrote: a job already in the table when
this release starts must still run.

OLD holds, for every kind, payloads exactly as the release before typed messages wrote
them (services/mail.py, videos.py, processing.py, feeds.py, ranking.py, push.py built
these dicts by hand); each must read as its class and be written back identically.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest

from adapters.config import Settings
from adapters.container import Composition, resolve
from adapters.messages import job_from_json, job_json
from momentic_core.model.accounts import CodePurpose, Mail, VerificationCode
from momentic_core.model.devices import ApnsEnvironment, Platform, PushMessage
from momentic_core.model.jobs import (
    JOBS,
    AnnounceMoment,
    BadPayload,
    DeliverPushes,
    MailedCode,
    ProcessVideo,
    PushDelivery,
    PushMoment,
    PushNotification,
    PushReminder,
    SendMail,
)
from momentic_core.policies import moments
from momentic_core.services.mail import MailOutbox

TOKEN = "ab" * 32
PAGE = {"user_ids": [3, 5, 8], "zone": "Europe/Minsk", "day": "2026-12-07",
        "at": "2026-12-07T12:34:56+00:00", "window": 120.0}
OLD: dict[str, list[dict[str, Any]]] = {
    "send_mail": [{"to": "ann@example.com", "subject": "Your Momentic code: 123456",
                   "text": "Enter 123456 to verify.\n\nÉ ✓"}],
    "process_video": [{"video_id": 42}],
    "package_hls": [{"video_id": 43}],  # services/backfill.py
    "janitor": [{}],
    "feeds.refresh_for_you": [{}],
    "recompute_ratings": [{}],
    "break_streaks": [{}],
    "announce_moment": [{"zone": "Asia/Tokyo", "day": "2026-12-07"}],
    "announce_moment_reminder": [{"zone": "America/St_Johns", "day": "2027-01-01"}],
    "push.notification": [{"user_id": 7, "notification_id": 99}],
    "push.moment": [PAGE, {**PAGE, "at": "2026-12-07T15:04:05.123456+03:00",
                           "window": 90.5}],
    "push.reminder": [PAGE],
    "push.deliver": [{"messages": [
        {"user_id": 7, "device_id": 3, "platform": "ios", "token": TOKEN,
         "title": "Ann", "body": "reacted to your video",
         "apns_environment": "sandbox", "badge": 2, "collapse_id": "reaction-9",
         "data": {"kind": "reaction", "notification_id": "99", "video_id": "9"},
         "key": "n:99:3"},
        {"user_id": 8, "device_id": 4, "platform": "android", "token": "fcm-token",
         "title": "Время Momentic!", "body": "2 минуты", "apns_environment": None,
         "badge": 0, "collapse_id": "moment-2026-12-07",
         "data": {"kind": "moment", "day": "2026-12-07"}, "key": "moment:2026-12-07:4"},
        # message_payload without a key wrote none
        {"user_id": 8, "device_id": 5, "platform": "ios", "token": TOKEN, "title": "t",
         "body": "b", "apns_environment": "production", "badge": None,
         "collapse_id": None, "data": {}},
    ]}, {"messages": [
        # a time-bound push (the moment's, since its deliveries expire with the window)
        {"user_id": 8, "device_id": 4, "platform": "android", "token": "fcm-token",
         "title": "Время Momentic!", "body": "2 минуты", "apns_environment": None,
         "badge": 0, "collapse_id": "moment-2026-12-07",
         "data": {"kind": "moment", "day": "2026-12-07"}, "key": "moment:2026-12-07:4",
         "expires_at": "2026-12-07T12:06:05.123456+00:00"},
    ]}],
}


def test_every_kind_has_old_payloads_here() -> None:
    """A new kind gets its shape written down here, so that a later change of it fails."""
    assert sorted(OLD) == sorted(JOBS)


@pytest.mark.parametrize(
    ("kind", "payload"), [(k, p) for k, ps in OLD.items() for p in ps],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_an_old_payload_reads_as_its_message_and_is_written_back_the_same(
    kind: str, payload: dict[str, Any]
) -> None:
    stored = json.loads(json.dumps(payload))  # as the jobs table hands it back
    message = job_from_json(kind, stored)
    assert isinstance(message, JOBS[kind]), message
    assert message.kind == kind
    written = job_json(message)
    assert written == payload
    assert json.loads(json.dumps(written)) == written  # JSON values only (no enums, dates)


def test_an_old_payload_reads_as_the_values_it_meant() -> None:
    page = job_from_json("push.moment", OLD["push.moment"][1])
    assert page == PushMoment(
        user_ids=[3, 5, 8], zone="Europe/Minsk", day=date(2026, 12, 7),
        at=datetime(2026, 12, 7, 12, 4, 5, 123456, tzinfo=UTC),
        window=timedelta(seconds=90.5),
    )
    deliver = job_from_json("push.deliver", OLD["push.deliver"][0])
    assert isinstance(deliver, DeliverPushes)
    first = deliver.messages[0]
    assert (first.platform, first.apns_environment, first.key) == (
        Platform.IOS, ApnsEnvironment.SANDBOX, "n:99:3")
    assert deliver.messages[2].key is None
    assert job_from_json("announce_moment", OLD["announce_moment"][0]) == AnnounceMoment(
        zone="Asia/Tokyo", day=date(2026, 12, 7))


def test_a_delivery_queued_before_batches_reads_as_a_batch_of_one() -> None:
    """Before batches a push.deliver job held one message, some without the user (such a
    push is dropped, never sent). It reads as a batch of one; it is never written again."""
    single = {"device_id": 3, "platform": "ios", "token": TOKEN, "title": "t", "body": "b",
              "apns_environment": None, "badge": 1, "collapse_id": "c", "data": {}}
    assert job_from_json("push.deliver", single) == DeliverPushes([PushDelivery(
        device_id=3, platform=Platform.IOS, token=TOKEN, title="t", body="b", badge=1,
        collapse_id="c", user_id=None)])


def test_what_the_services_queue_now_is_what_they_queued_before() -> None:
    """The messages made from core values give the dicts the old code built from them."""
    rules = moments.MomentRules(secret=b"k" * 32, start_hour=9, end_hour=21,
                                window=timedelta(minutes=2))
    moment = moments.moment_of(rules, date(2026, 12, 7), "Asia/Tokyo")
    for cls in (PushMoment, PushReminder):
        assert job_json(cls.of([1, 2], moment)) == {  # push.py's _send_page
            "user_ids": [1, 2], "zone": moment.time_zone, "day": moment.day.isoformat(),
            "at": moment.at.isoformat(), "window": moment.window.total_seconds()}
        assert cls.of([1, 2], moment).moment == moment
    m = PushMessage(device_id=3, platform=Platform.IOS, token=TOKEN, title="t", body="b",
                    apns_environment=ApnsEnvironment.PRODUCTION, badge=4, collapse_id="x",
                    data={"kind": "moment"})
    assert job_json(DeliverPushes([PushDelivery.of(m, 7, "k:3")])) == {"messages": [{
        # push.py's message_payload
        "user_id": 7, "device_id": 3, "platform": "ios", "token": TOKEN, "title": "t",
        "body": "b", "apns_environment": "production", "badge": 4, "collapse_id": "x",
        "data": {"kind": "moment"}, "key": "k:3"}]}
    assert PushDelivery.of(m, 7).message == m
    ends = datetime(2026, 12, 7, 12, 6, 5, tzinfo=UTC)
    timed = attrs.evolve(m, expires_at=ends)
    [written] = job_json(DeliverPushes([PushDelivery.of(timed, 7, "k:3")]))["messages"]
    assert written["expires_at"] == "2026-12-07T12:06:05+00:00"
    assert "expires_at" not in job_json(DeliverPushes([PushDelivery.of(m, 7)]))["messages"][0]
    assert PushDelivery.of(timed, 7).message == timed
    assert job_json(PushNotification(user_id=1, notification_id=2)) == {
        "user_id": 1, "notification_id": 2}
    assert job_json(ProcessVideo(video_id=5)) == {"video_id": 5}


def test_a_mail_that_carries_a_code_names_it_under_mailed() -> None:
    """A code's mail (new in this release) adds "mailed" to the old shape; one without a
    code is written as before (the old payloads above)."""
    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    code = VerificationCode(user_id=7, purpose=CodePurpose.RESET_PASSWORD, code_hash="h1",
                            created_at=at, expires_at=at + timedelta(minutes=15))
    message = SendMail.of(Mail(to="ann@example.com", subject="s", text="t"), code)
    written = job_json(message)
    assert written == {"to": "ann@example.com", "subject": "s", "text": "t", "mailed": {
        "user_id": 7, "purpose": "reset_password", "code_hash": "h1"}}
    assert job_from_json("send_mail", json.loads(json.dumps(written))) == message
    assert message.mailed == MailedCode(7, CodePurpose.RESET_PASSWORD, "h1")
    assert job_json(SendMail.of(message.mail)) == {"to": "ann@example.com", "subject": "s",
                                                   "text": "t"}


@pytest.mark.parametrize(("kind", "payload", "why"), [
    ("process_video", {}, "payload is not a ProcessVideo: required field missing @ $.video_id"),
    ("process_video", {"video_id": "x"}, "payload is not a ProcessVideo: invalid value"),
    ("send_mail", ["to"], "payload is not a SendMail"),
    ("push.moment", {**PAGE, "day": "07.12.2026"}, "payload is not a PushMoment"),
    ("push.deliver", {"messages": [{"device_id": 1, "platform": "pager", "token": "t",
                                    "title": "t", "body": "b"}]},
     "payload is not a DeliverPushes"),
    ("no.such.kind", {}, "no job kind 'no.such.kind'"),
])
def test_a_payload_that_is_not_its_kinds_message_reads_as_bad_saying_why(
    kind: str, payload: Any, why: str
) -> None:
    read = job_from_json(kind, payload)
    assert isinstance(read, BadPayload)
    assert read.reason.startswith(why), read.reason


def test_each_class_is_registered_once_under_its_kind() -> None:
    assert all(cls.kind == kind for kind, cls in JOBS.items())
    assert len(set(JOBS.values())) == len(JOBS)
    assert [k for k, cls in JOBS.items() if cls.secret] == ["send_mail", "push.deliver"]


async def test_every_kind_has_one_handler_in_the_composition() -> None:
    """The job worker and the mail worker together run every registered kind, each kind
    in one of them; neither has a handler for a kind that is not registered."""
    backend = Composition(Settings(memory=True), workers=True)
    worker = await backend.worker()
    outbox: MailOutbox = await resolve(backend.container.outbox())
    kinds = worker.kinds + outbox.worker.kinds
    assert sorted(kinds) == sorted(JOBS), "a kind without a handler, or one handled twice"
    assert outbox.worker.kinds == [SendMail.kind]
