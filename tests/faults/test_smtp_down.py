"""The mail server stops: sign-up still answers, the code waits in the outbox (the job
queue, in PostgreSQL) and goes out when SMTP is back. Real HTTP, PostgreSQL and SMTP."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from adapters.config import Settings
from adapters.container import Backend
from adapters.http.app import create_app
from adapters.memory.clock import ManualClock
from momentic_core.services.mail import SEND_MAIL

PASSWORD = "correct horse battery"


async def _job(conn: asyncpg.Connection, job_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT status, attempts, last_error, payload FROM jobs WHERE id = $1", job_id
    )
    assert row is not None
    return row


async def test_a_code_queued_while_smtp_is_down_goes_out_when_it_is_back(
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
    backend = Backend(settings, clock=clock)
    client = await aiohttp_client(create_app(backend))
    addr = f"outage-{uuid.uuid4().hex[:8]}@bsu.by"
    conn = await asyncpg.connect(database_url)
    try:
        r = await client.post("/v1/auth/register", json={"email": addr, "password": PASSWORD})
        assert r.status == 202

        # The code's mail is a job, committed with the code, tried and waiting to retry.
        job_id = await conn.fetchval(
            "SELECT id FROM jobs WHERE kind = $1 AND payload->>'to' = $2", SEND_MAIL, addr
        )
        assert job_id is not None
        async with asyncio.timeout(5):
            while (job := await _job(conn, job_id))["attempts"] < 1 or job["status"] != "queued":
                await backend.deliver_mail()
                await asyncio.sleep(0.02)
        job = await _job(conn, job_id)
        assert job["status"] == "queued" and "mail not sent" in job["last_error"]
        assert "Your Momentic" not in job["last_error"]  # the reason never quotes the mail
        assert sink.messages == []

        server = await start_smtp(sink, port)  # SMTP is back
        try:
            clock.advance(timedelta(minutes=1))  # past the first backoff
            await backend.deliver_mail()
            code = await sink.code_for(addr)
        finally:
            server.close()
            await server.wait_closed()

        r = await client.post(
            "/v1/auth/verify", json={"email": addr, "code": code, "password": PASSWORD}
        )
        assert r.status == 200, await r.text()
        job = await _job(conn, job_id)
        assert job["status"] == "done"
        assert job["payload"] == "{}"  # the code does not outlive its mail
    finally:
        await conn.close()
