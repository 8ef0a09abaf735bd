"""Durable push delivery end to end: the app on the memory backend, configured for APNs
and FCM against the local fakes (tests/push_support.py). A notification's push job
commits with it; the worker fans it out to the user's devices in their language, retries
a 503 with backoff, forgets a token the service calls dead, and pushes nothing the user
switched off or that falls in their quiet hours (the in-app list keeps it all)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from push_support import FakeApns, FakeFcm, p8_key
from signup_support import new_user_auth

from adapters.http import keys
from adapters.memory.clock import ManualClock
from momentic_core.model.jobs import AnnounceMoment, AnnounceReminder
from momentic_core.policies import moments
from momentic_core.services.push import SERVICE_PAUSE

IOS = "ab" * 32
ANDROID = "dQw4w9WgXcQ:APA91b" + "Z9y8_x7-W6" * 12
TOPIC = "app.momentic.ios"


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeApns, FakeFcm]]:
    key = p8_key()
    apns = await FakeApns(key, "KEY1234567", "TEAM123456", TOPIC).start()
    fcm = await FakeFcm().start()
    yield apns, fcm
    await apns.stop()
    await fcm.stop()


async def _env(make_video_env: Any, fakes: tuple[FakeApns, FakeFcm]) -> tuple[Any, ManualClock]:
    apns, fcm = fakes
    clock = ManualClock(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))  # 15:00 in Minsk
    env = await make_video_env(
        overrides={"clock": clock}, access_token_ttl_seconds=7 * 86400,
        apns_key=apns.key_pem, apns_key_id="KEY1234567", apns_team_id="TEAM123456",
        apns_topic=TOPIC, apns_sandbox_url=apns.url, apns_url=apns.url,
        fcm_service_account=json.dumps(fcm.account()), fcm_url=fcm.url,
    )
    return env, clock


async def _me(env: Any, auth: dict[str, str]) -> dict[str, Any]:
    return dict(await (await env.client.get("/v1/me", headers=auth)).json())


async def _befriend(env: Any, auth: dict[str, str], target_id: int) -> None:
    r = await env.client.post("/v1/friend-requests", json={"user_id": target_id}, headers=auth)
    assert r.status == 201, await r.text()


async def _devices(env: Any, auth: dict[str, str]) -> list[str]:
    r = await env.client.get("/v1/me/devices", headers=auth)
    return [d["token"] for d in (await r.json())["items"]]


async def test_a_notification_reaches_both_phones_durably(
    make_video_env: Any, fakes: tuple[FakeApns, FakeFcm]
) -> None:
    apns, fcm = fakes
    env, clock = await _env(make_video_env, fakes)
    client = env.client
    alex = await new_user_auth(client)
    await client.patch("/v1/me", json={"time_zone": "Europe/Minsk"}, headers=alex)
    r = await client.post("/v1/me/devices", headers=alex, json={
        "platform": "ios", "token": IOS, "locale": "ru-BY", "apns_environment": "sandbox"})
    assert r.status == 201
    r = await client.post("/v1/me/devices", headers=alex, json={
        "platform": "android", "token": ANDROID, "locale": "en-US"})
    assert r.status == 201
    alex_id = (await _me(env, alex))["id"]

    sam = await new_user_auth(client)
    sam_nick = (await _me(env, sam))["nickname"]
    await _befriend(env, sam, alex_id)
    assert apns.received == [] and fcm.received == [], "nothing is sent inside the request"
    await env.run_jobs()
    [ios] = apns.received
    assert ios["payload"]["aps"]["alert"] == {
        "title": "Новая заявка в друзья", "body": f"{sam_nick} хочет добавить вас в друзья."}
    assert ios["payload"]["aps"]["badge"] == 1
    assert ios["payload"]["kind"] == "friend_request"
    assert ios["headers"]["apns-collapse-id"].startswith("friend_request-")
    [android] = fcm.received
    assert android["notification"] == {"title": "New friend request",
                                       "body": f"{sam_nick} wants to be friends."}

    # a 503 is retried, not lost: APNs is down, so the job pauses (SERVICE_PAUSE, as the
    # answer has no Retry-After)
    apns.answers[IOS] = (503, "ServiceUnavailable")
    kim = await new_user_auth(client)
    await _befriend(env, kim, alex_id)
    await env.run_jobs()
    assert len(apns.received) == 1 and len(fcm.received) == 2
    del apns.answers[IOS]
    await env.run_jobs()
    assert len(apns.received) == 1, "not at once"
    clock.advance(timedelta(seconds=6))
    await env.run_jobs()
    assert len(apns.received) == 1, "not at the 5 s backoff: the service is paused"
    clock.advance(SERVICE_PAUSE - timedelta(seconds=6))
    await env.run_jobs()
    assert len(apns.received) == 2 and apns.received[1]["payload"]["aps"]["badge"] == 2

    # a dead token is forgotten, never retried
    apns.answers[IOS] = (410, "Unregistered")
    lee = await new_user_auth(client)
    await _befriend(env, lee, alex_id)
    await env.run_jobs()
    assert await _devices(env, alex) == [ANDROID]
    requests = apns.requests
    clock.advance(timedelta(minutes=10))
    await env.run_jobs()
    assert apns.requests == requests
    fcm.answers[ANDROID] = (404, "UNREGISTERED")
    ray = await new_user_auth(client)
    await _befriend(env, ray, alex_id)
    await env.run_jobs()
    assert await _devices(env, alex) == []
    r = await client.get("/v1/notifications", headers=alex)
    assert len((await r.json())["items"]) == 4, "the in-app list has every notification"


async def test_a_retry_after_holds_the_retry_past_the_backoff(
    make_video_env: Any, fakes: tuple[FakeApns, FakeFcm]
) -> None:
    """APNs 503 with Retry-After: 120 through the app's own worker: not retried at the
    backoff (6 s later), but once the 120 s are over; FCM's push of the same batch is
    not held back, nor sent twice."""
    apns, fcm = fakes
    env, clock = await _env(make_video_env, fakes)
    client = env.client
    alex = await new_user_auth(client)
    for device in ({"platform": "ios", "token": IOS, "apns_environment": "sandbox"},
                   {"platform": "android", "token": ANDROID}):
        assert (await client.post("/v1/me/devices", headers=alex, json=device)).status == 201
    apns.answers[IOS] = (503, "ServiceUnavailable")
    apns.retry_after[IOS] = "120"
    await _befriend(env, await new_user_auth(client), (await _me(env, alex))["id"])
    await env.run_jobs()
    assert (apns.requests, len(fcm.received)) == (1, 1)
    del apns.answers[IOS]
    clock.advance(timedelta(seconds=6))
    await env.run_jobs()
    assert apns.requests == 1, "retried before the service's Retry-After"
    clock.advance(timedelta(seconds=114))
    await env.run_jobs()
    assert len(apns.received) == 1 and len(fcm.received) == 1


async def test_switched_off_kinds_and_quiet_hours_push_nothing(
    make_video_env: Any, fakes: tuple[FakeApns, FakeFcm]
) -> None:
    apns, _ = fakes
    env, clock = await _env(make_video_env, fakes)
    client = env.client
    alex = await new_user_auth(client)
    await client.patch("/v1/me", json={"time_zone": "Europe/Minsk"}, headers=alex)
    await client.post("/v1/me/devices", headers=alex, json={
        "platform": "ios", "token": IOS, "apns_environment": "production"})
    alex_id = (await _me(env, alex))["id"]
    r = await client.patch("/v1/me/notification-settings", headers=alex,
                           json={"friend_requests": False})
    assert r.status == 200
    await _befriend(env, await new_user_auth(client), alex_id)
    await env.run_jobs()
    assert apns.received == []
    # quiet from 14:00 to 16:00 Minsk time: it is 15:00 there
    await client.patch("/v1/me/notification-settings", headers=alex, json={
        "friend_requests": True, "quiet_hours": {"start": "14:00", "end": "16:00"}})
    await _befriend(env, await new_user_auth(client), alex_id)
    await env.run_jobs()
    assert apns.received == []
    clock.advance(timedelta(hours=1, minutes=1))  # 16:01: quiet hours are over
    await _befriend(env, await new_user_auth(client), alex_id)
    await env.run_jobs()
    assert len(apns.received) == 1 and apns.received[0]["payload"]["aps"]["badge"] == 3
    assert apns.received[0]["payload"]["aps"]["alert"]["title"] == "New friend request"
    r = await client.get("/v1/notifications", headers=alex)
    assert len((await r.json())["items"]) == 3


async def test_the_moment_is_pushed_at_its_time_once_per_user(
    make_video_env: Any, fakes: tuple[FakeApns, FakeFcm]
) -> None:
    apns, _ = fakes
    env, clock = await _env(make_video_env, fakes)
    client = env.client
    alex = await new_user_auth(client)
    await client.patch("/v1/me", json={"time_zone": "Asia/Tokyo"}, headers=alex)
    await client.post("/v1/me/devices", headers=alex, json={
        "platform": "ios", "token": IOS, "locale": "ru", "apns_environment": "sandbox"})
    svc = client.app[keys.SERVICES]
    clock.advance(timedelta(hours=6))  # 03:00 in Tokyo: the moment is still to come
    await svc.ranking.schedule_moments()
    await env.run_jobs()
    assert apns.received == [], "not before the moment"
    zone_day = clock.now().astimezone(ZoneInfo("Asia/Tokyo")).date()
    at = moments.moment_of(svc.ranking.moment_rules, zone_day, "Asia/Tokyo").at
    clock.advance(at - clock.now() + timedelta(seconds=1))
    await env.run_jobs()
    [push] = apns.received
    assert push["payload"]["aps"]["alert"]["title"] == "Время Momentic!"
    assert push["payload"]["kind"] == "moment" and push["payload"]["day"] == zone_day.isoformat()
    # the same moment announced again (another instance, a retried job): nobody twice
    async with svc.devices._uow() as tx:
        await tx.jobs.enqueue(AnnounceMoment(zone="Asia/Tokyo", day=zone_day))
    await env.run_jobs()
    assert len(apns.received) == 1


async def test_a_shared_phone_never_shows_the_previous_accounts_pushes(
    make_video_env: Any, fakes: tuple[FakeApns, FakeFcm]
) -> None:
    """Alex's push is retrying (APNs 503) when alex signs out and bob signs in on the same
    iPhone and registers its token (the row keeps its id, now bob's): alex's retry must
    not reach bob's screen; bob's own pushes do."""
    apns, _ = fakes
    env, clock = await _env(make_video_env, fakes)
    client = env.client
    alex = await new_user_auth(client)
    await client.post("/v1/me/devices", headers=alex, json={
        "platform": "ios", "token": IOS, "apns_environment": "production"})
    alex_id = (await _me(env, alex))["id"]
    apns.answers[IOS] = (503, "ServiceUnavailable")
    await _befriend(env, await new_user_auth(client), alex_id)
    await env.run_jobs()
    assert apns.requests == 1 and apns.received == []
    assert (await client.post("/v1/auth/logout", headers=alex)).status == 204
    bob = await new_user_auth(client)
    r = await client.post("/v1/me/devices", headers=bob, json={
        "platform": "ios", "token": IOS, "apns_environment": "production"})
    assert r.status == 201
    del apns.answers[IOS]
    clock.advance(timedelta(minutes=10))
    await env.run_jobs()
    assert apns.received == [], "alex's push went to bob's screen"
    assert apns.requests == 1
    await _befriend(env, await new_user_auth(client), (await _me(env, bob))["id"])
    await env.run_jobs()
    [push] = apns.received
    r = await client.get("/v1/notifications", headers=bob)
    assert push["payload"]["notification_id"] == str((await r.json())["items"][0]["id"])


async def test_signing_out_drops_the_sessions_queued_pushes(
    make_video_env: Any, fakes: tuple[FakeApns, FakeFcm]
) -> None:
    _, fcm = fakes
    env, clock = await _env(make_video_env, fakes)
    client = env.client
    alex = await new_user_auth(client)
    await client.post("/v1/me/devices", headers=alex, json={
        "platform": "android", "token": ANDROID})
    alex_id = (await _me(env, alex))["id"]
    fcm.answers[ANDROID] = (503, "UNAVAILABLE")
    await _befriend(env, await new_user_auth(client), alex_id)
    await env.run_jobs()
    assert (await client.post("/v1/auth/logout", headers=alex)).status == 204
    del fcm.answers[ANDROID]
    clock.advance(timedelta(minutes=10))
    await env.run_jobs()
    assert fcm.received == [], "a signed-out phone still got the push"


async def test_a_session_idle_past_its_ttl_gets_no_pushes(
    make_video_env: Any, fakes: tuple[FakeApns, FakeFcm]
) -> None:
    """A session unused for longer than MOMENTIC_SESSION_TTL_DAYS is dead though never
    revoked: its device is not pushed to."""
    apns, _ = fakes
    env, clock = await _env(make_video_env, fakes)
    client = env.client
    alex = await new_user_auth(client)
    await client.post("/v1/me/devices", headers=alex, json={
        "platform": "ios", "token": IOS, "apns_environment": "sandbox"})
    alex_id = (await _me(env, alex))["id"]
    clock.advance(timedelta(days=59))
    await _befriend(env, await new_user_auth(client), alex_id)
    await env.run_jobs()
    assert len(apns.received) == 1, "within the session's ttl"
    clock.advance(timedelta(days=2))
    await _befriend(env, await new_user_auth(client), alex_id)
    await env.run_jobs()
    assert len(apns.received) == 1, "the idle session's phone still got pushes"


async def test_configuration_refusals_keep_every_device(
    make_video_env: Any, fakes: tuple[FakeApns, FakeFcm]
) -> None:
    """A wrong topic (DeviceTokenNotForTopic), a sandbox token sent to production
    (BadDeviceToken) or a bare FCM 404 are refusals: logged, not retried, and no device is
    deleted. Only APNs 410 / Unregistered and FCM UNREGISTERED delete (the first test)."""
    apns, fcm = fakes
    env, clock = await _env(make_video_env, fakes)
    client = env.client
    alex = await new_user_auth(client)
    await client.post("/v1/me/devices", headers=alex, json={
        "platform": "ios", "token": IOS, "apns_environment": "sandbox"})
    await client.post("/v1/me/devices", headers=alex, json={
        "platform": "android", "token": ANDROID})
    alex_id = (await _me(env, alex))["id"]
    fcm.answers[ANDROID] = (404, "NOT_FOUND")
    for reason in ("DeviceTokenNotForTopic", "BadDeviceToken"):
        apns.answers[IOS] = (400, reason)
        await _befriend(env, await new_user_auth(client), alex_id)
        await env.run_jobs()
        assert await _devices(env, alex) == [IOS, ANDROID], reason
    requests = apns.requests
    clock.advance(timedelta(minutes=10))
    await env.run_jobs()
    assert apns.requests == requests, "refusals are not retried"
    assert apns.received == [] and fcm.received == []


async def _post_video(env: Any, auth: dict[str, str], clip: Path) -> None:
    form = aiohttp.FormData()
    form.add_field("visibility", "friends")
    form.add_field("video_file", io.BytesIO(clip.read_bytes()), filename="clip",
                   content_type="video/mp4")
    r = await env.client.post("/v1/videos", data=form, headers=auth)
    assert r.status == 201, await r.text()


async def test_the_second_reminder_reaches_only_who_has_not_posted_once(
    make_video_env: Any, fakes: tuple[FakeApns, FakeFcm], sample_clips: dict[str, Path]
) -> None:
    """With the runtime setting moment_reminder on: both get the moment; sam posts within
    the window; when the window closes alex alone gets the reminder, in Russian, with the
    moment's collapse id (it replaces the moment's push on the phone), and only once.
    Switched off, the next day's reminder is not sent."""
    apns, _ = fakes
    env, clock = await _env(make_video_env, fakes)
    client = env.client
    svc = client.app[keys.SERVICES]
    await svc.config.update(None, {"moment_reminder": True})
    alex, sam = await new_user_auth(client), await new_user_auth(client)
    sam_token = "cd" * 32
    for who, token, locale in ((alex, IOS, "ru-BY"), (sam, sam_token, "en")):
        await client.patch("/v1/me", json={"time_zone": "Asia/Tokyo"}, headers=who)
        r = await client.post("/v1/me/devices", headers=who, json={
            "platform": "ios", "token": token, "locale": locale,
            "apns_environment": "production"})
        assert r.status == 201
    clock.advance(timedelta(hours=6))  # 03:00 in Tokyo
    await svc.ranking.schedule_moments()
    zone_day = clock.now().astimezone(ZoneInfo("Asia/Tokyo")).date()
    moment = moments.moment_of(svc.ranking.moment_rules, zone_day, "Asia/Tokyo")
    clock.advance(moment.at - clock.now() + timedelta(seconds=1))
    await env.run_jobs()
    assert sorted(p["token"] for p in apns.received) == sorted([IOS, sam_token])
    await _post_video(env, sam, sample_clips["playable"])
    clock.advance(moment.window)
    await env.run_jobs()
    def kinds(*wanted: str) -> list[dict[str, Any]]:
        return [p for p in apns.received if p["payload"]["kind"] in wanted]

    [reminder] = kinds("moment_reminder")  # (sam also got "your video is ready")
    assert reminder["token"] == IOS
    assert reminder["payload"]["aps"]["alert"] == {
        "title": "Ещё не поздно для Momentic",
        "body": "Момент прошёл, но ещё можно показать, что вы делаете."}
    assert reminder["payload"]["kind"] == "moment_reminder"
    assert reminder["headers"]["apns-collapse-id"] == f"moment-{zone_day.isoformat()}"
    async with svc.devices._uow() as tx:  # announced again: nobody twice
        await tx.jobs.enqueue(AnnounceReminder(zone="Asia/Tokyo", day=zone_day))
    await env.run_jobs()
    assert len(kinds("moment_reminder")) == 1

    await svc.config.update(None, {"moment_reminder": False})
    await svc.ranking.schedule_moments()
    tomorrow = moments.moment_of(svc.ranking.moment_rules, zone_day + timedelta(days=1),
                                 "Asia/Tokyo")
    clock.advance(tomorrow.at - clock.now() + timedelta(seconds=1))
    await env.run_jobs()
    assert len(kinds("moment")) == 4, "the next day's moment"
    clock.advance(tomorrow.window_ends_at - clock.now() + timedelta(seconds=1))
    await env.run_jobs()
    assert len(kinds("moment_reminder")) == 1, "no reminder while the setting is off"
