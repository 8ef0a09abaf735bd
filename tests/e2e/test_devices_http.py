"""Push devices and notification settings over HTTP (issue 17, items 1 and 5)."""

from __future__ import annotations

from typing import Any

import pytest
from signup_support import PASSWORD, Api, new_user_auth

from adapters.config import Settings
from adapters.http import keys

APNS = "0f" * 32
FCM = "dQw4w9WgXcQ:APA91b" + "A1b2_C3d-4" * 12


def _ios(token: str = APNS, **extra: Any) -> dict[str, Any]:
    return {"platform": "ios", "token": token, "app_version": "1.4.0", "locale": "ru-BY",
            "apns_environment": "sandbox", **extra}


async def _code(r: Any) -> str:
    assert r.headers["Content-Type"].startswith("application/problem+json")
    return str((await r.json())["code"])


async def _second_session(client: Any, api: Api, email: str = "alex@bsu.by") -> dict[str, str]:
    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": email, "password": PASSWORD})
    assert r.status == 200, await r.text()
    return api.auth(await r.json())


async def test_register_list_refresh_and_delete(client: Any, api: Api) -> None:
    auth = await api.signup_auth()
    r = await client.post("/v1/me/devices", json=_ios(APNS.upper()), headers=auth)
    assert r.status == 201, await r.text()
    device = await r.json()
    assert r.headers["Location"] == f"/v1/me/devices/{device['id']}"
    assert device["token"] == APNS, "APNs tokens are kept in lower case"
    assert device["platform"] == "ios" and device["apns_environment"] == "sandbox"
    assert device["locale"] == "ru-BY" and device["current_session"] is True

    r = await client.post("/v1/me/devices", json=_ios(app_version="1.5.0"), headers=auth)
    assert r.status == 200, "the same token again only refreshes it"
    again = await r.json()
    assert again["id"] == device["id"] and again["app_version"] == "1.5.0"
    assert again["created_at"] == device["created_at"]

    r = await client.post("/v1/me/devices", json={
        "platform": "android", "token": FCM, "locale": "en"}, headers=auth)
    assert r.status == 201, await r.text()
    android = await r.json()
    assert android["apns_environment"] is None

    r = await client.get("/v1/me/devices", headers=auth)
    assert [d["id"] for d in (await r.json())["items"]] == [device["id"], android["id"]]

    r = await client.delete(f"/v1/me/devices/{device['id']}", headers=auth)
    assert r.status == 204
    r = await client.delete(f"/v1/me/devices/{device['id']}", headers=auth)
    assert r.status == 404 and await _code(r) == "device_not_found"
    r = await client.get("/v1/me/devices", headers=auth)
    assert [d["id"] for d in (await r.json())["items"]] == [android["id"]]


async def test_a_token_moves_to_the_account_that_registers_it(client: Any, api: Api) -> None:
    alex = await api.signup_auth()
    sam = await new_user_auth(client)
    r = await client.post("/v1/me/devices", json=_ios(), headers=alex)
    first = await r.json()
    r = await client.post("/v1/me/devices", json=_ios(), headers=sam)
    assert r.status == 201, "new to this account"
    r = await client.get("/v1/me/devices", headers=alex)
    assert (await r.json())["items"] == []
    r = await client.delete(f"/v1/me/devices/{first['id']}", headers=alex)
    assert r.status == 404, "no longer mine to delete"
    r = await client.get("/v1/me/devices", headers=sam)
    assert [d["token"] for d in (await r.json())["items"]] == [APNS]


@pytest.mark.parametrize(("body", "code", "field"), [
    (_ios("ab" * 31), "invalid_push_token", "token"),  # 62 characters
    (_ios("ab" * 101), "invalid_push_token", "token"),  # 202 characters
    (_ios("a" * 65), "invalid_push_token", "token"),  # odd length
    (_ios("zz" * 32), "invalid_push_token", "token"),
    ({"platform": "android", "token": "short:token"}, "invalid_push_token", "token"),
    ({"platform": "android", "token": FCM + " "}, "invalid_push_token", "token"),
    ({"platform": "android", "token": FCM + "/"}, "invalid_push_token", "token"),
    (_ios(platform="windows"), "invalid_device", "platform"),
    (_ios(apns_environment=None), "invalid_device", "apns_environment"),
    (_ios(apns_environment="staging"), "invalid_device", "apns_environment"),
    ({"platform": "android", "token": FCM, "apns_environment": "production"},
     "invalid_device", "apns_environment"),
    (_ios(locale="Russian (Belarus)"), "invalid_device", "locale"),
    (_ios(app_version="1" * 33), "invalid_device", "app_version"),
    (_ios(app_version="1.0\n"), "invalid_device", "app_version"),
])
async def test_bad_registrations_are_refused_with_their_code(
    client: Any, api: Api, body: dict[str, Any], code: str, field: str
) -> None:
    auth = await api.signup_auth()
    r = await client.post("/v1/me/devices", json=body, headers=auth)
    assert r.status == 422, await r.text()
    problem = await r.json()
    assert problem["code"] == code and problem["field"] == field
    r = await client.get("/v1/me/devices", headers=auth)
    assert (await r.json())["items"] == []


async def test_the_longest_apns_token_and_a_missing_token(client: Any, api: Api) -> None:
    auth = await api.signup_auth()
    r = await client.post("/v1/me/devices", json=_ios("ab" * 100), headers=auth)
    assert r.status == 201
    r = await client.post("/v1/me/devices", json={"platform": "ios"}, headers=auth)
    assert r.status == 422


async def test_the_device_limit_is_the_published_setting(make_video_env: Any) -> None:
    env = await make_video_env(max_devices_per_user=2)
    client = env.client
    r = await client.get("/v1/config")
    assert (await r.json())["max_devices_per_user"] == 2
    auth = await env.api.signup_auth()
    for n in range(2):
        r = await client.post("/v1/me/devices", json=_ios(f"{n:02x}" * 32), headers=auth)
        assert r.status == 201
    r = await client.post("/v1/me/devices", json=_ios("ee" * 32), headers=auth)
    assert r.status == 409 and await _code(r) == "too_many_devices"
    r = await client.post("/v1/me/devices", json=_ios("01" * 32), headers=auth)
    assert r.status == 200, "refreshing one I have is no new device"


async def test_config_publishes_the_default_limit(client: Any) -> None:
    r = await client.get("/v1/config")
    assert (await r.json())["max_devices_per_user"] == Settings().max_devices_per_user


async def test_signing_out_removes_that_sessions_devices(client: Any, api: Api) -> None:
    phone = await api.signup_auth()
    tablet = await _second_session(client, api)
    await client.post("/v1/me/devices", json=_ios(), headers=phone)
    await client.post("/v1/me/devices", json=_ios("cd" * 32), headers=tablet)
    r = await client.post("/v1/auth/logout", headers=phone)
    assert r.status == 204
    r = await client.get("/v1/me/devices", headers=tablet)
    items = (await r.json())["items"]
    assert [d["token"] for d in items] == ["cd" * 32] and items[0]["current_session"]


async def test_signing_out_everywhere_and_deleting_the_account_remove_all(
    client: Any, api: Api
) -> None:
    phone = await api.signup_auth()
    tablet = await _second_session(client, api)
    kept = await (await client.post("/v1/me/devices", json=_ios(), headers=phone)).json()
    await client.post("/v1/me/devices", json=_ios("cd" * 32), headers=tablet)
    r = await client.delete("/v1/me/sessions?keep_current=true", headers=phone)
    assert r.status == 204
    r = await client.get("/v1/me/devices", headers=phone)
    assert [d["token"] for d in (await r.json())["items"]] == [APNS]
    r = await client.request("DELETE", "/v1/me", json={"password": PASSWORD}, headers=phone)
    assert r.status == 204, await r.text()
    store = client.app[keys.SERVICES]
    async with store.devices._uow() as tx:
        assert await tx.devices.delete_token(kept["id"], APNS) is False, (
            "the account's devices are gone")


async def test_a_ban_removes_the_users_devices(client: Any, api: Api) -> None:
    auth = await api.signup_auth()
    await client.post("/v1/me/devices", json=_ios(), headers=auth)
    svc = client.app[keys.SERVICES]
    me = await (await client.get("/v1/me", headers=auth)).json()
    await svc.moderation.ban(None, me["id"], "spam")
    async with svc.devices._uow() as tx:
        assert await tx.devices.list_for_user(me["id"]) == []


async def test_notification_settings_defaults_patch_and_refusals(client: Any, api: Api) -> None:
    auth = await api.signup_auth()
    await client.patch("/v1/me", json={"time_zone": "Europe/Minsk"}, headers=auth)
    r = await client.get("/v1/me/notification-settings", headers=auth)
    assert r.status == 200
    assert await r.json() == {
        "moment": True, "reactions": True, "comments": True, "friend_requests": True,
        "moderation": True, "videos": True, "quiet_hours": None, "time_zone": "Europe/Minsk",
    }
    r = await client.patch("/v1/me/notification-settings", headers=auth, json={
        "reactions": False, "quiet_hours": {"start": "22:30", "end": "07:00"}})
    assert r.status == 200, await r.text()
    got = await r.json()
    assert got["reactions"] is False and got["comments"] is True
    assert got["quiet_hours"] == {"start": "22:30", "end": "07:00"}
    r = await client.patch("/v1/me/notification-settings", headers=auth,
                           json={"comments": False})
    got = await r.json()
    assert got["reactions"] is False and got["comments"] is False, "a PATCH keeps the rest"
    assert got["quiet_hours"] == {"start": "22:30", "end": "07:00"}
    r = await client.patch("/v1/me/notification-settings", headers=auth,
                           json={"quiet_hours": None, "reactions": True})
    got = await r.json()
    assert got["quiet_hours"] is None and got["reactions"] is True
    assert (await (await client.get("/v1/me/notification-settings", headers=auth)).json()) == got
    for body, field in [
        ({}, None), ({"sms": True}, "sms"), ({"moment": "yes"}, "moment"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "22:00", "end": "7:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours"),
    ]:
        r = await client.patch("/v1/me/notification-settings", headers=auth, json=body)
        assert r.status == 422, body
        problem = await r.json()
        assert problem["code"] == "invalid_notification_settings", body
        assert problem.get("field") == field, body
    r = await client.patch("/v1/me/notification-settings", headers=auth, json=[1])
    assert r.status == 422 and await _code(r) == "invalid_notification_settings"


async def test_devices_and_settings_need_a_signed_in_user(client: Any) -> None:
    for method, path in [("GET", "/v1/me/devices"), ("POST", "/v1/me/devices"),
                         ("DELETE", "/v1/me/devices/1"),
                         ("GET", "/v1/me/notification-settings"),
                         ("PATCH", "/v1/me/notification-settings")]:
        r = await client.request(method, path, json={})
        assert r.status == 401, (method, path)


async def test_a_request_racing_its_sign_out_registers_no_device(client: Any, api: Api) -> None:
    """The token check passed (or was cached) just before the session was revoked: the
    registration after the revocation is refused, leaving no device to push to forever."""
    from momentic_core.errors import Unauthenticated
    from momentic_core.model.accounts import Principal, Role
    from momentic_core.services.devices import Registration

    await api.signup_auth()
    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": "alex@bsu.by", "password": PASSWORD})
    tokens = await r.json()
    phone = api.auth(tokens)
    me = await (await client.get("/v1/me", headers=phone)).json()
    assert (await client.post("/v1/auth/logout", headers=phone)).status == 204
    svc = client.app[keys.SERVICES]
    who = Principal(user_id=me["id"], role=Role.USER, session_id=tokens["session_id"])
    with pytest.raises(Unauthenticated) as refused:
        await svc.devices.register(who, Registration(
            platform="ios", token=APNS, apns_environment="sandbox"))
    assert refused.value.code == "token_revoked"
    async with svc.devices._uow() as tx:
        assert await tx.devices.count_for_user(me["id"]) == 0
