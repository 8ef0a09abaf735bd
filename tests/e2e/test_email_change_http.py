"""Changing the email address over HTTP (issue 21 item 2): a code to the new address, the
old one told, uniqueness, allowed domains, no enumeration."""

from __future__ import annotations

from typing import Any

from signup_support import PASSWORD, Api

from adapters.memory.mail import InMemoryMailer


async def _problem(r: Any) -> str:
    assert r.headers["Content-Type"].startswith("application/problem+json"), await r.text()
    return str((await r.json())["code"])


async def _login(client: Any, email: str) -> int:
    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": email, "password": PASSWORD})
    return int(r.status)


async def test_change_with_the_code_sent_to_the_new_address(
    client: Any, api: Api, mailer: InMemoryMailer
) -> None:
    auth = await api.signup_auth("alex@bsu.by")
    r = await client.post("/v1/me/email", headers=auth,
                          json={"email": "Alex.New@BSU.by", "password": PASSWORD})
    assert r.status == 202, await r.text()
    code = mailer.last_code("alex.new@bsu.by")
    assert (await client.get("/v1/me", headers=auth)).status == 200
    assert (await (await client.get("/v1/me", headers=auth)).json())["email"] == "alex@bsu.by"

    r = await client.post("/v1/me/email/confirm", headers=auth,
                          json={"email": "other@bsu.by", "code": code})
    assert r.status == 422 and await _problem(r) == "invalid_code", "bound to the address"
    r = await client.post("/v1/me/email/confirm", headers=auth,
                          json={"email": "alex.new@bsu.by", "code": code})
    assert r.status == 204, await r.text()
    me = await (await client.get("/v1/me", headers=auth)).json()
    assert me["email"] == "alex.new@bsu.by", "my session stays"
    told = [m for m in mailer.sent if m.to == "alex@bsu.by"][-1]
    assert "changed" in told.subject and "a***@bsu.by" in told.text
    assert "alex.new@bsu.by" not in told.text, "the old mailbox sees a masked address"
    assert await _login(client, "alex.new@bsu.by") == 200
    assert await _login(client, "alex@bsu.by") == 401
    r = await client.post("/v1/me/email/confirm", headers=auth,
                          json={"email": "alex.new@bsu.by", "code": code})
    assert r.status == 422, "a code works once"


async def test_a_taken_address_answers_alike_and_gets_no_code(
    client: Any, api: Api, mailer: InMemoryMailer
) -> None:
    auth = await api.signup_auth("alex@bsu.by")
    await api.signup_auth("sam@bsu.by")
    before = len(mailer.sent)
    free = await client.post("/v1/me/email", headers=auth,
                             json={"email": "free@bsu.by", "password": PASSWORD})
    taken = await client.post("/v1/me/email", headers=auth,
                              json={"email": "sam@bsu.by", "password": PASSWORD})
    assert free.status == taken.status == 202
    assert await free.json() == await taken.json()
    new = mailer.sent[before:]
    assert [m.to for m in new] == ["free@bsu.by", "sam@bsu.by"]
    assert "tried" in new[1].subject
    r = await client.post("/v1/me/email/confirm", headers=auth,
                          json={"email": "sam@bsu.by", "code": mailer.last_code("free@bsu.by")})
    assert r.status == 422 and await _problem(r) == "invalid_code"


async def test_the_address_taken_meanwhile_is_a_conflict(
    client: Any, api: Api, mailer: InMemoryMailer
) -> None:
    auth = await api.signup_auth("alex@bsu.by")
    r = await client.post("/v1/me/email", headers=auth,
                          json={"email": "late@bsu.by", "password": PASSWORD})
    code = mailer.last_code("late@bsu.by")
    await api.signup_auth("late@bsu.by")
    r = await client.post("/v1/me/email/confirm", headers=auth,
                          json={"email": "late@bsu.by", "code": code})
    assert r.status == 409 and await _problem(r) == "email_taken"


async def test_refusals(client: Any, api: Api, mailer: InMemoryMailer) -> None:
    auth = await api.signup_auth("alex@bsu.by")
    cases = [
        ({"email": "new@bsu.by", "password": "wrong password!"}, 401, "invalid_credentials"),
        ({"email": "new@bsu.by"}, 401, "invalid_credentials"),
        ({"email": "not an address", "password": PASSWORD}, 422, "invalid_email"),
        ({"email": "ALEX@bsu.by", "password": PASSWORD}, 422, "email_unchanged"),
    ]
    for body, status, code in cases:
        r = await client.post("/v1/me/email", headers=auth, json=body)
        assert r.status == status and await _problem(r) == code, body
    assert (await client.post("/v1/me/email", json={"email": "x@bsu.by"})).status == 401


async def test_allowed_domains_apply(make_video_env: Any) -> None:
    env = await make_video_env(allowed_email_domains="bsu.by")
    auth = await env.api.signup_auth("alex@bsu.by")
    r = await env.client.post("/v1/me/email", headers=auth,
                              json={"email": "alex@gmail.com", "password": PASSWORD})
    assert r.status == 422 and await _problem(r) == "email_domain_not_allowed"


async def test_wrong_codes_run_out_and_requests_are_limited(
    client: Any, api: Api, mailer: InMemoryMailer
) -> None:
    auth = await api.signup_auth("alex@bsu.by")
    await client.post("/v1/me/email", headers=auth,
                      json={"email": "new@bsu.by", "password": PASSWORD})
    code = mailer.last_code("new@bsu.by")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        r = await client.post("/v1/me/email/confirm", headers=auth,
                              json={"email": "new@bsu.by", "code": wrong})
        assert r.status == 422
    r = await client.post("/v1/me/email/confirm", headers=auth,
                          json={"email": "new@bsu.by", "code": code})
    assert r.status == 422, "five wrong tries spend the code"
    statuses = [(await client.post("/v1/me/email", headers=auth, json={
        "email": f"n{i}@bsu.by", "password": PASSWORD})).status for i in range(5)]
    assert statuses == [202, 202, 202, 202, 429], "5 an hour, the first one included"
