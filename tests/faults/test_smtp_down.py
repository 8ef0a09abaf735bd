"""The mail server stops, then comes back (issue 9). Real HTTP, PostgreSQL and SMTP
(aiosmtpd on a loopback port).

While SMTP is down, several people sign up. The rules:

- registration still answers 202 for each of them: the code's mail is a ``send_mail`` job
  (the outbox, in PostgreSQL) committed with the code;
- the mail waits in the outbox: each job is tried, fails, and is ``queued`` again with a
  reason that never quotes the mail (it holds the code); nothing reaches the server;
- once SMTP is back (same port) and the backoff has passed, every code goes out exactly
  once (running the outbox again sends no duplicate), each code is valid for
  ``/v1/auth/verify``, and each job is ``done`` with its payload cleared (the code does not
  outlive its mail). No code is lost.

Retries wait for a ``ManualClock`` the test moves, so nothing here sleeps for a backoff.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.memory.clock import ManualClock
from momentic_core.model.jobs import SendMail

PASSWORD = "correct horse battery"
SIGNUPS = 4


async def _job(conn: asyncpg.Connection, job_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT status, attempts, last_error, payload FROM jobs WHERE id = $1", job_id
    )
    assert row is not None
    return row


async def test_codes_queued_while_smtp_is_down_go_out_once_each_when_it_is_back(
    aiohttp_client: Any, database_url: str, tmp_path: Path, smtp_control: Any
) -> None:
    mail_sink, start_smtp = smtp_control
    sink = mail_sink()
    server = await start_smtp(sink)
    port = sink.port
    server.close()
    await server.wait_closed()  # the mail server is down

    clock = ManualClock(datetime.now(UTC))  # retries wait for the test to move time
    settings = Settings(
        database_url=database_url, smtp_host="127.0.0.1", smtp_port=port,
        smtp_security="none", secret="integration-secret", data_dir=str(tmp_path),
        argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1,
        rate_limit_multiplier=100,  # other tests sign up from 127.0.0.1 in this database
    )
    backend = Composition(settings, clock=clock)
    client = await aiohttp_client(create_app(backend))
    run = uuid.uuid4().hex[:8]
    addrs = [f"outage-{run}-{n}@bsu.by" for n in range(SIGNUPS)]
    conn = await asyncpg.connect(database_url)
    try:
        for addr in addrs:
            r = await client.post("/v1/auth/register", json={"email": addr, "password": PASSWORD})
            assert r.status == 202, await r.text()

        # Each code's mail is a job, committed with the code, tried and waiting to retry.
        jobs: dict[str, int] = {}
        for addr in addrs:
            ids = await conn.fetch(
                "SELECT id FROM jobs WHERE kind = $1 AND payload->>'to' = $2", SendMail.kind, addr
            )
            assert len(ids) == 1, (addr, ids)
            jobs[addr] = ids[0]["id"]

        async def all_tried() -> bool:
            for job_id in jobs.values():
                job = await _job(conn, job_id)
                if job["attempts"] < 1 or job["status"] != "queued":
                    return False
            return True

        async with asyncio.timeout(10):
            while not await all_tried():
                await backend.deliver_mail()
                await asyncio.sleep(0.02)
        for job_id in jobs.values():
            job = await _job(conn, job_id)
            assert job["status"] == "queued" and "mail not sent" in job["last_error"]
            assert "Your Momentic" not in job["last_error"]  # the reason never quotes the mail
            assert job["payload"] != "{}"  # the code is still there to be sent
        assert [m for m in sink.messages if m["To"] in addrs] == []

        server = await start_smtp(sink, port)  # SMTP is back
        try:
            clock.advance(timedelta(minutes=1))  # past the first backoff
            await backend.deliver_mail()
            codes = {addr: await sink.code_for(addr) for addr in addrs}
            # Again, past every backoff that could still be pending (codes live 15 minutes):
            # nothing is sent twice.
            clock.advance(timedelta(minutes=10))
            await backend.deliver_mail()
        finally:
            server.close()
            await server.wait_closed()

        # (The database is this run's shared one: mail of other tests may pass through.)
        sent = Counter(message["To"] for message in sink.messages if message["To"] in addrs)
        assert sent == Counter(dict.fromkeys(addrs, 1)), sent
        assert len(set(codes.values())) == SIGNUPS  # each person has a code of their own

        for addr in addrs:
            r = await client.post(
                "/v1/auth/verify", json={"email": addr, "code": codes[addr], "password": PASSWORD}
            )
            assert r.status == 200, await r.text()
            assert (await r.json())["access_token"]
            job = await _job(conn, jobs[addr])
            assert job["status"] == "done"
            assert job["payload"] == "{}"  # the code does not outlive its mail
    finally:
        await conn.close()
