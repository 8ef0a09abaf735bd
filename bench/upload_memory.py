"""Benchmark: does a 200 MB upload stream through the server, or pile up in its memory?

Starts moto's S3 server (in this process) and ``momentic serve`` as a separate process
(in-memory database, S3 blobs on moto, no in-process worker), signs up a user (the code
comes from the server's log), then sends one 200 MB file to ``POST /v1/videos`` as a
chunked multipart body made by a generator, so this client never holds it either. The
server's RSS is sampled every 50 ms before and during the upload.

Then it puts the same bytes straight to the same S3 endpoint with aiobotocore (multipart,
parts of the app's size): the storage ceiling the upload's throughput is compared with.
With ``--concurrent 5`` five uploads go at once.

Prints baseline RSS, peak RSS, growth, throughput, the direct put's throughput and
PASS/FAIL against the growth limit (32 MB, issue 3; 120 MB for 5 at once, issue 8);
exits 1 on FAIL (or when an upload itself fails). bench/run.py runs it as its
``upload`` scenarios.

    .venv/bin/python bench/upload_memory.py [--size-mb 200] [--limit-mb 32] [--concurrent 1]

Not a test: pytest collects ``tests/`` only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
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

from adapters.s3 import S3BlobStore

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
        "MOMENTIC_RATE_LIMIT_MULTIPLIER": "100000",  # five uploads at once by one user
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


PART_SIZE = inspect.signature(S3BlobStore).parameters["part_size"].default


async def direct_put(endpoint: str, size: int) -> float:
    """The storage ceiling: the same bytes (made the same way) put straight to the same
    S3 endpoint with aiobotocore, as a multipart upload in parts of the app's size.
    Returns seconds."""
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ) as s3:
        key = f"direct/{secrets.token_hex(8)}"
        started = time.monotonic()
        upload = await s3.create_multipart_upload(Bucket=BUCKET, Key=key)
        parts: list[dict[str, object]] = []
        buffer = bytearray()

        async def put(body: bytes) -> None:
            r = await s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
                                     PartNumber=len(parts) + 1, Body=body)
            parts.append({"PartNumber": len(parts) + 1, "ETag": r["ETag"]})

        async for chunk in video_bytes(size):
            buffer += chunk
            if len(buffer) >= PART_SIZE:
                await put(bytes(buffer[:PART_SIZE]))
                del buffer[:PART_SIZE]
        if buffer:
            await put(bytes(buffer))
        await s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
                                           MultipartUpload={"Parts": parts})
        seconds = time.monotonic() - started
        await s3.delete_object(Bucket=BUCKET, Key=key)
        return seconds


async def measure(size: int, concurrent: int = 1, settle: float = 1.0) -> dict[str, object]:
    """``concurrent`` uploads of ``size`` bytes at once (one user), the server's RSS
    sampled throughout; then the direct put of the same size to the same moto."""
    with tempfile.TemporaryDirectory(prefix="momentic-bench-") as data_dir, moto_s3() as s3:
        server = start_server(s3, data_dir)
        try:
            timeout = aiohttp.ClientTimeout(total=None, sock_read=300)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                await server.wait_until_up(session)
                auth = await sign_up(session, server)

                async def one() -> tuple[int, str]:
                    async with session.post(
                        f"{server.base}/v1/videos", data=upload_form(size), headers=auth
                    ) as r:
                        return r.status, await r.text()

                with Sampler(server) as sampler:
                    await asyncio.sleep(settle)  # the baseline: idle, signed up
                    started = time.monotonic()
                    answers = await asyncio.gather(*(one() for _ in range(concurrent)))
                    finished = time.monotonic()
                    await asyncio.sleep(0.2)
        finally:
            server.stop()
        direct = await direct_put(s3, size)
    baseline_samples = sampler.between(0, started)
    during = sampler.between(started, finished)
    if not baseline_samples or not during:
        raise SystemExit("not enough RSS samples")
    baseline, peak = max(baseline_samples), max(during)
    seconds = finished - started
    statuses = [status for status, _ in answers]
    return {
        "size_bytes": size,
        "concurrent": concurrent,
        "statuses": statuses,
        "failed_bodies": [body[:500] for status, body in answers if status != 201],
        "baseline_rss": baseline,
        "peak_rss": peak,
        "growth": peak - baseline,
        "baseline_samples": len(baseline_samples),
        "samples": len(during),
        "seconds": round(seconds, 2),
        "throughput_mb_s": round(size * concurrent / MB / seconds, 1),
        "direct_put_seconds": round(direct, 2),
        "direct_put_mb_s": round(size / MB / direct, 1),
        "server_log_tail": server.tail() if any(s != 201 for s in statuses) else "",
    }


async def run(size: int, limit: int, settle: float, concurrent: int) -> int:
    m = await measure(size, concurrent, settle)
    statuses = m["statuses"]
    assert isinstance(statuses, list)
    growth = int(m["growth"])  # type: ignore[call-overload]
    ok = all(s == 201 for s in statuses) and growth <= limit
    print(f"upload:      {concurrent} x {mb(size)} ({size / MiB:.0f} MiB) -> HTTP {statuses}")
    print(f"baseline:    {mb(m['baseline_rss'])} RSS (idle, {m['baseline_samples']} samples)")  # type: ignore[arg-type]
    print(f"peak:        {mb(m['peak_rss'])} RSS during the upload ({m['samples']} samples)")  # type: ignore[arg-type]
    print(f"growth:      {mb(growth)} (limit {mb(limit)})")
    print(f"throughput:  {m['throughput_mb_s']} MB/s ({m['seconds']} s)")
    print(f"direct put:  {m['direct_put_mb_s']} MB/s of one {mb(size)} multipart put to the "
          f"same S3 ({m['direct_put_seconds']} s)")
    if not all(s == 201 for s in statuses):
        print(f"response:    {m['failed_bodies']}")
        print(f"server log:\n{m['server_log_tail']}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="upload size in MB (10^6)")
    parser.add_argument("--limit-mb", type=int, default=32, help="largest RSS growth allowed")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds of idle baseline")
    parser.add_argument("--concurrent", type=int, default=1, help="uploads at once")
    args = parser.parse_args()
    return asyncio.run(run(args.size_mb * MB, args.limit_mb * MB, args.settle, args.concurrent))


if __name__ == "__main__":
    sys.exit(main())
