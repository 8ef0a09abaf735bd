"""Benchmark: does a 200 MB upload stream through the server, or pile up in its memory?

Starts moto's S3 server (in this process) and ``momentic serve`` as a separate process
(in-memory database, S3 blobs on moto, no in-process worker), signs up a user (the code
comes from the server's log), then sends one 200 MB file to ``POST /v1/videos`` as a
chunked multipart body made by a generator, so this client never holds it either. The
server's RSS is sampled every 50 ms before and during the upload.

Prints baseline RSS, peak RSS, growth, throughput and PASS/FAIL against the 32 MB growth
limit of issue 3; exits 1 on FAIL (or when the upload itself fails).

    .venv/bin/python bench/upload_memory.py [--size-mb 200] [--limit-mb 32]

Not a test: pytest collects ``tests/`` only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import struct
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import boto3
import psutil
from bench_server import Server

MB = 1_000_000
MiB = 1024 * 1024
CHUNK = 1 * MiB
SAMPLE_EVERY = 0.05
BUCKET = "momentic-bench"
EMAIL = "bench@bsu.by"
PASSWORD = "correct horse battery staple"


@contextlib.contextmanager
def moto_s3() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        client.close()
        server.stop()


def start_server(endpoint: str, data_dir: str) -> Server:
    """An in-memory database, blobs in S3 (moto)."""
    return Server({
        "MOMENTIC_MEMORY": "true",
        "MOMENTIC_STORAGE": "s3",
        "MOMENTIC_S3_BUCKET": BUCKET,
        "MOMENTIC_S3_ENDPOINT_URL": endpoint,
        "MOMENTIC_S3_ACCESS_KEY_ID": "testing",
        "MOMENTIC_S3_SECRET_ACCESS_KEY": "testing",
        "MOMENTIC_MAX_VIDEO_BYTES": "300000000",
        "MOMENTIC_DATA_DIR": data_dir,
        "MOMENTIC_ARGON2_TIME_COST": "1",
        "MOMENTIC_ARGON2_MEMORY_KIB": "1024",
    })


class Sampler:
    """The server's RSS every 50 ms, from a thread (the client's loop may be busy)."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.samples.append((time.monotonic(), self._server.rss()))
            self._stop.wait(SAMPLE_EVERY)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> list[int]:
        return [rss for at, rss in self.samples if start <= at <= end]


async def sign_up(session: aiohttp.ClientSession, server: Server) -> dict[str, str]:
    async with session.post(
        f"{server.base}/v1/auth/register", json={"email": EMAIL, "password": PASSWORD}
    ) as r:
        if r.status != 202:
            raise SystemExit(f"register: {r.status} {await r.text()}")
    code = None
    for _ in range(100):  # the mail goes out in the background
        if code := server.code_for(EMAIL):
            break
        await asyncio.sleep(0.05)
    if code is None:
        raise SystemExit(f"no verification code in the server log:\n{server.tail()}")
    async with session.post(
        f"{server.base}/v1/auth/verify",
        json={"email": EMAIL, "code": code, "password": PASSWORD},
    ) as r:
        if r.status != 200:
            raise SystemExit(f"verify: {r.status} {await r.text()}")
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


async def video_bytes(size: int) -> AsyncIterator[bytes]:
    """An MP4 ``ftyp`` box, then random bytes: passes the sniffing, made as it is sent."""
    head = struct.pack(">I4s4sI8s", 24, b"ftyp", b"isom", 0x200, b"isomiso2")
    yield head
    left = size - len(head)
    while left > 0:
        n = min(CHUNK, left)
        yield secrets.token_bytes(n)
        left -= n


def upload_form(size: int) -> aiohttp.MultipartWriter:
    form = aiohttp.MultipartWriter("form-data")
    text = form.append("Benchmark")
    text.set_content_disposition("form-data", name="description")
    part = form.append(video_bytes(size), {"Content-Type": "video/mp4"})
    part.set_content_disposition("form-data", name="video_file", filename="bench.mp4")
    return form


def mb(n: float) -> str:
    return f"{n / MB:.1f} MB"


async def run(size: int, limit: int, settle: float) -> int:
    with tempfile.TemporaryDirectory(prefix="momentic-bench-") as data_dir, moto_s3() as s3:
        server = start_server(s3, data_dir)
        try:
            timeout = aiohttp.ClientTimeout(total=None, sock_read=300)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                await server.wait_until_up(session)
                auth = await sign_up(session, server)
                with Sampler(server) as sampler:
                    await asyncio.sleep(settle)  # the baseline: idle, signed up
                    started = time.monotonic()
                    async with session.post(
                        f"{server.base}/v1/videos", data=upload_form(size), headers=auth
                    ) as r:
                        body = await r.text()
                        status = r.status
                    finished = time.monotonic()
                    await asyncio.sleep(0.2)
        finally:
            server.stop()
    baseline_samples = sampler.between(0, started)
    during = sampler.between(started, finished)
    if not baseline_samples or not during:
        print("not enough RSS samples", file=sys.stderr)
        return 1
    baseline = max(baseline_samples)
    peak = max(during)
    growth = peak - baseline
    seconds = finished - started
    ok = status == 201 and growth <= limit
    print(f"upload:      {mb(size)} ({size / MiB:.0f} MiB) -> HTTP {status}")
    print(f"baseline:    {mb(baseline)} RSS (idle, {len(baseline_samples)} samples)")
    print(f"peak:        {mb(peak)} RSS during the upload ({len(during)} samples)")
    print(f"growth:      {mb(growth)} (limit {mb(limit)})")
    print(f"throughput:  {size / MB / seconds:.1f} MB/s ({seconds:.1f} s)")
    if status != 201:
        print(f"response:    {body[:500]}")
        print(f"server log:\n{server.tail()}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="upload size in MB (10^6)")
    parser.add_argument("--limit-mb", type=int, default=32, help="largest RSS growth allowed")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds of idle baseline")
    args = parser.parse_args()
    return asyncio.run(run(args.size_mb * MB, args.limit_mb * MB, args.settle))


if __name__ == "__main__":
    sys.exit(main())
