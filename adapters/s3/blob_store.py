"""``BlobStore`` on any S3-compatible service through aiobotocore.

- Nothing connects at import or construction: ``open()`` (or ``async with``) makes the
  client, ``close()`` ends it; ``check_bucket()`` is the startup check.
- ``put_stream`` holds one part (``part_size``, at least 5 MiB) in memory: a stream
  shorter than one part is one ``PutObject``, a longer one a multipart upload that is
  aborted when the chunks or S3 fail, so nothing is kept under the key.
- Presigned URLs (``signed_url``, ``part_url``) are made by a synchronous botocore
  client on the same credentials and settings; signing is local computation, never a
  network call. Credentials from the default chain that expire (instance roles, web
  identity) are refreshed for the signer by a background task.
- Driver errors become domain errors: a missing key NotFound(code="blob_not_found"), a
  missing multipart upload NotFound(code="upload_not_found"), and connection failures,
  timeouts, 5xx, a missing bucket or refused credentials Unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import aiobotocore.session
import aiohttp
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.loaders
import botocore.session
from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioRefreshableCredentials

from momentic_core.errors import Invalid, MomenticError, NotFound, Unavailable
from momentic_core.model.videos import BlobInfo, MultipartInfo, PartInfo
from momentic_core.policies.media import cache_control

log = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's smallest part but the last
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs live at most a week
READ_CHUNK = 256 * 1024
WRITE_BATCH = 1 * MiB  # bytes gathered before one write to disk
CREDENTIAL_REFRESH_SECONDS = 60.0

# Failures of the network or the service, as opposed to answers (ClientError) and bugs
# (ParamValidationError and friends, which propagate).
_UNREACHABLE = (
    botocore.exceptions.HTTPClientError,  # read timeouts, closed connections
    botocore.exceptions.ConnectionError,  # refused, connect timeouts, proxy, DNS
    botocore.exceptions.IncompleteReadError,
    botocore.exceptions.NoCredentialsError,
    botocore.exceptions.PartialCredentialsError,
    botocore.exceptions.CredentialRetrievalError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    OSError,
)
_MISSING_KEY = frozenset({"NoSuchKey", "NotFound", "404"})
_BAD_PARTS = frozenset({"InvalidPart", "InvalidPartOrder", "EntityTooSmall"})


class S3BlobStore:
    """Blobs in one S3 bucket.

    ``endpoint_url`` empty means AWS; with an endpoint (MinIO, R2, moto) path-style
    addressing is used unless ``addressing_style`` says otherwise. Empty keys mean the
    default AWS credential chain. ``max_attempts`` counts the first try.
    """

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        *,
        part_size: int = 8 * MiB,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
        max_connections: int = 32,
        addressing_style: str | None = None,
        public_endpoint_url: str | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 bucket name is required")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        if bool(access_key_id) != bool(secret_access_key):
            raise ValueError("give both the S3 access key id and secret key, or neither")
        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        # Presigned URLs go to clients: they may need another host than the app uses
        # (MinIO as http://minio:9000 inside compose, http://localhost:9000 outside).
        self.public_endpoint_url = public_endpoint_url or self.endpoint_url
        self.region = region or "us-east-1"
        self.part_size = part_size
        self._access_key_id = access_key_id or None
        self._secret_access_key = secret_access_key or None
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_attempts = max(1, max_attempts)
        self._max_connections = max_connections
        self._addressing_style = addressing_style or ("path" if self.endpoint_url else "auto")
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None
        self._signer: Any = None  # a sync botocore client, used only to presign
        self._refresher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Create the client. Nothing is sent to S3; with the default credential chain the
        credentials are resolved here (which may ask the instance/container metadata
        endpoint). Idempotent. Raises Unavailable without credentials."""
        if self._client is not None:
            return
        session = aiobotocore.session.get_session()
        session.register_component("data_loader", _shared_loader())
        config = AioConfig(
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            retries={"mode": "standard", "total_max_attempts": self._max_attempts},
            max_pool_connections=self._max_connections,
            **self._common_config(),
        )
        stack = contextlib.AsyncExitStack()
        try:
            client = await stack.enter_async_context(
                session.create_client(
                    "s3",
                    region_name=self.region,
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id=self._access_key_id,
                    aws_secret_access_key=self._secret_access_key,
                    config=config,
                )
            )
            source: Any = None
            frozen: tuple[str, str, str | None]
            if self._access_key_id and self._secret_access_key:
                frozen = (self._access_key_id, self._secret_access_key, None)
            else:
                with self._errors():
                    source = await session.get_credentials()  # the client's, cached
                    current = None if source is None else await source.get_frozen_credentials()
                if source is None or current is None:
                    raise Unavailable(
                        "No S3 credentials: set MOMENTIC_S3_ACCESS_KEY_ID and "
                        "MOMENTIC_S3_SECRET_ACCESS_KEY or configure the AWS chain.",
                        code="storage_unavailable",
                    )
                frozen = (current.access_key, current.secret_key, current.token)
            # Building a botocore client reads its JSON models from disk: off the loop.
            signer, signing = await asyncio.to_thread(self._make_signer, *frozen)
            stack.callback(signer.close)
            if isinstance(source, AioRefreshableCredentials):
                task = asyncio.create_task(_refresh_signing(source, signing))
                stack.push_async_callback(_cancel, task)
                self._refresher = task
        except BaseException:
            await stack.aclose()
            raise
        self._stack, self._client, self._signer = stack, client, signer

    async def close(self) -> None:
        """Close the client and its connections. Idempotent."""
        stack, self._stack = self._stack, None
        self._client = self._signer = self._refresher = None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> S3BlobStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def check_bucket(self) -> None:
        """Startup check: the bucket exists and these credentials may use it.

        Raises Unavailable naming the bucket otherwise."""
        try:
            await self._api.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            status = _status(exc)
            if status == 404 or _code(exc) == "NoSuchBucket":
                detail = f"The S3 bucket {self.bucket!r} does not exist."
            elif status == 403:
                detail = f"Access to the S3 bucket {self.bucket!r} is denied."
            else:
                detail = f"The S3 bucket {self.bucket!r} cannot be used ({status})."
            raise Unavailable(detail, code="storage_unavailable", bucket=self.bucket) from exc
        except _UNREACHABLE as exc:
            raise Unavailable(
                f"S3 ({self.endpoint_url or 'AWS'}) cannot be reached to check the bucket "
                f"{self.bucket!r}: {type(exc).__name__}.",
                code="storage_unavailable",
                bucket=self.bucket,
            ) from exc

    # ------------------------------------------------------------------ whole blobs

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes], content_type: str) -> int:
        """Store the chunks holding at most about one part; a failure of the chunks or of
        S3 aborts the multipart upload and propagates (the chunks' own error unchanged)."""
        # The part buffer is a BytesIO, not a bytearray: botocore and aiohttp stream a
        # file-like body in small reads (and seek back to retry), while raw bytes over
        # 1 MiB make aiohttp warn that they block the event loop. Nothing is copied.
        part = _Part()
        total = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                total += len(chunk)
                if not part.size and len(chunk) >= self.part_size:
                    body = _Part(chunk)  # a whole part already (a bytes chunk is shared)
                else:
                    part.write(chunk)
                    if part.size < self.part_size:
                        continue
                    body, part = part, _Part()
                if upload_id is None:
                    upload_id = await self._create_upload(key, content_type)
                parts.append(await self._upload_part(key, upload_id, len(parts) + 1, body))
            if upload_id is None:
                with self._errors(), part:
                    part.seek(0)
                    await self._api.put_object(
                        Bucket=self.bucket, Key=key, Body=part, ContentType=content_type,
                        CacheControl=cache_control(key),
                    )
                return total
            if part.size:
                parts.append(await self._upload_part(key, upload_id, len(parts) + 1, part))
            with self._errors():
                await self._api.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            return total
        except BaseException:
            if upload_id is not None:
                await self._abort_quietly(key, upload_id)
            raise

    async def put_file(self, key: str, path: Path, content_type: str) -> int:
        """Stream a local file up, one part at a time."""
        return await self.put_stream(key, _file_chunks(path, self.part_size), content_type)

    async def download(self, key: str, path: Path) -> None:
        """Stream the blob into ``path`` (replaced only once the whole blob arrived)."""
        with self._errors():
            response = await self._api.get_object(Bucket=self.bucket, Key=key)
        tmp = await asyncio.to_thread(_temp_beside, path)
        try:
            async with response["Body"] as body:
                handle: IO[bytes] = await asyncio.to_thread(open, tmp, "wb")
                try:
                    batch = bytearray()
                    while True:
                        with self._errors():
                            chunk = await body.read(READ_CHUNK)
                        if chunk:
                            batch += chunk
                        if batch and (not chunk or len(batch) >= WRITE_BATCH):
                            await asyncio.to_thread(handle.write, batch)
                            batch = bytearray()
                        if not chunk:
                            break
                finally:
                    await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    async def read(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Bytes ``start`` to ``end`` (exclusive) through one ranged GET, in chunks."""
        _check_range(start, end)
        if end is not None and end == start:
            if await self.stat(key) is None:
                raise NotFound("No such blob.", code="blob_not_found")
            return
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start or end is not None:
            params["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            response = await self._api.get_object(**params)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) == "InvalidRange":
                return  # the range starts at or after the end: no bytes
            raise self._translate(exc) from exc
        except _UNREACHABLE as exc:
            raise self._translate(exc) from exc
        async with response["Body"] as body:
            while True:
                with self._errors():
                    chunk = await body.read(READ_CHUNK)
                if not chunk:
                    return
                yield chunk

    async def stat(self, key: str) -> BlobInfo | None:
        try:
            with self._errors():
                head = await self._api.head_object(Bucket=self.bucket, Key=key)
        except NotFound:
            return None
        return BlobInfo(
            key=key,
            size=int(head["ContentLength"]),
            etag=str(head["ETag"]),
            content_type=str(head.get("ContentType") or "application/octet-stream"),
            modified=_utc(head["LastModified"]),
            cache_control=head.get("CacheControl"),
        )

    async def delete(self, key: str) -> None:
        """Idempotent (S3 answers a missing key with success)."""
        with self._errors():
            await self._api.delete_object(Bucket=self.bucket, Key=key)

    async def list_blobs(self, prefix: str) -> AsyncIterator[BlobInfo]:
        """Every blob under ``prefix``, page by page (ListObjectsV2). A listing does not
        carry content types: ``content_type`` is empty here; ``stat`` has it."""
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                params["ContinuationToken"] = token
            with self._errors():
                page = await self._api.list_objects_v2(**params)
            for item in page.get("Contents", ()):
                yield BlobInfo(
                    key=str(item["Key"]),
                    size=int(item["Size"]),
                    etag=str(item.get("ETag", "")),
                    content_type="",
                    modified=_utc(item["LastModified"]),
                )
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def signed_url(self, key: str, expires_in: timedelta) -> str:
        """A presigned GET URL; computed locally (at most 7 days, SigV4's limit)."""
        return str(
            self._presigner.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=_presign_seconds(expires_in),
            )
        )

    # ------------------------------------------------------------------ multipart

    async def start_multipart(self, key: str, content_type: str) -> str:
        return await self._create_upload(key, content_type)

    def part_url(self, key: str, upload_id: str, number: int, expires_in: timedelta) -> str:
        """A presigned UploadPart URL: the client PUTs the part's bytes to it directly."""
        _check_part_number(number)
        return str(
            self._presigner.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "UploadId": upload_id,
                    "PartNumber": number,
                },
                ExpiresIn=_presign_seconds(expires_in),
            )
        )

    async def put_part(
        self, key: str, upload_id: str, number: int, chunks: AsyncIterable[bytes]
    ) -> PartInfo:
        """Take a part through the app: buffered (one part), then one UploadPart."""
        _check_part_number(number)
        body = _Part()
        async for chunk in chunks:
            body.write(chunk)
        size = body.size
        part = await self._upload_part(key, upload_id, number, body)
        return PartInfo(number=number, size=size, etag=str(part["ETag"]))

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        """Parts received so far, by number, page by page. Raises
        NotFound(code="upload_not_found")."""
        found = [
            PartInfo(number=int(p["PartNumber"]), size=int(p["Size"]), etag=str(p["ETag"]))
            async for p in self._parts(key, upload_id)
        ]
        return sorted(found, key=lambda p: p.number)

    async def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        """Join ``parts`` (ascending numbers, with the ETags S3 gave) into ``key``.

        Raises NotFound(code="upload_not_found"), Invalid(code="invalid_parts")."""
        with self._errors():
            await self._api.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]
                },
            )

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the parts. Idempotent: an unknown upload is no error."""
        try:
            with self._errors():
                await self._api.abort_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id
                )
        except NotFound:
            pass

    async def list_multipart(self, prefix: str) -> AsyncIterator[MultipartInfo]:
        """Open multipart uploads under ``prefix``, page by page (ListMultipartUploads);
        ``active`` also looks at the parts' times (ListParts), so an upload begun long ago
        that still receives parts is not taken for abandoned."""
        markers: dict[str, str] = {}
        while True:
            with self._errors():
                page = await self._api.list_multipart_uploads(
                    Bucket=self.bucket, Prefix=prefix, **markers
                )
            for item in page.get("Uploads", ()):
                key, upload_id = str(item["Key"]), str(item["UploadId"])
                active = _utc(item["Initiated"])
                try:
                    active = max(active, await self._last_part_time(key, upload_id))
                except NotFound:
                    continue  # completed or aborted meanwhile
                yield MultipartInfo(key=key, upload_id=upload_id, active=active)
            if not page.get("IsTruncated"):
                return
            markers = {
                "KeyMarker": str(page.get("NextKeyMarker") or ""),
                "UploadIdMarker": str(page.get("NextUploadIdMarker") or ""),
            }

    async def _last_part_time(self, key: str, upload_id: str) -> datetime:
        newest = datetime.min.replace(tzinfo=UTC)
        async for part in self._parts(key, upload_id):
            newest = max(newest, _utc(part["LastModified"]))
        return newest

    async def _parts(self, key: str, upload_id: str) -> AsyncIterator[dict[str, Any]]:
        """The raw ListParts entries of an upload, page by page. Raises
        NotFound(code="upload_not_found")."""
        marker: int | None = None
        while True:
            params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id}
            if marker:
                params["PartNumberMarker"] = marker
            with self._errors():
                page = await self._api.list_parts(**params)
            for part in page.get("Parts", ()):
                yield part
            marker = page.get("NextPartNumberMarker")
            if not page.get("IsTruncated") or not marker:
                return

    # ------------------------------------------------------------------ internals

    @property
    def _api(self) -> Any:
        if self._client is None:
            raise RuntimeError("S3BlobStore is not open: call open() or use `async with`")
        return self._client

    @property
    def _presigner(self) -> Any:
        if self._signer is None:
            raise RuntimeError("S3BlobStore is not open: call open() or use `async with`")
        return self._signer

    def _common_config(self) -> dict[str, Any]:
        return {
            "signature_version": "s3v4",
            "s3": {"addressing_style": self._addressing_style},
            # Checksums only where S3 demands them: MinIO, R2 and older gateways choke
            # on the newer default trailers, and SigV4 already covers the payload.
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
        }

    def _make_signer(
        self, access_key: str, secret_key: str, token: str | None
    ) -> tuple[Any, botocore.credentials.Credentials]:
        """A sync botocore client for presigning, and the credentials object it signs
        with (read at every signing, so updating its fields rotates them)."""
        session = botocore.session.Session()
        session.register_component("data_loader", _shared_loader())
        session.set_credentials(access_key, secret_key, token)
        credentials = session.get_credentials()
        client = session.create_client(
            "s3",
            region_name=self.region,
            endpoint_url=self.public_endpoint_url,
            config=botocore.config.Config(**self._common_config()),
        )
        return client, credentials

    async def _create_upload(self, key: str, content_type: str) -> str:
        with self._errors():
            response = await self._api.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type,
                CacheControl=cache_control(key),
            )
        return str(response["UploadId"])

    async def _upload_part(
        self, key: str, upload_id: str, number: int, body: _Part
    ) -> dict[str, Any]:
        """Send one part and free its buffer."""
        with self._errors(), body:
            body.seek(0)
            response = await self._api.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )
        return {"PartNumber": number, "ETag": response["ETag"]}

    async def _abort_quietly(self, key: str, upload_id: str) -> None:
        try:
            await self.abort_multipart(key, upload_id)
        except Exception:
            # S3 is down, most likely: the upload stays open (and invisible) until a
            # bucket lifecycle rule (AbortIncompleteMultipartUpload) removes it.
            log.warning(
                "could not abort an S3 multipart upload",
                extra={"key": key, "upload_id": upload_id},
                exc_info=True,
            )

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Translate what a call to S3 raises into domain errors."""
        try:
            yield
        except (botocore.exceptions.ClientError, *_UNREACHABLE) as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: Exception) -> MomenticError:
        if not isinstance(exc, botocore.exceptions.ClientError):
            return Unavailable(
                f"Object storage cannot be reached: {type(exc).__name__}.",
                code="storage_unavailable",
            )
        code, status = _code(exc), _status(exc)
        if code == "NoSuchUpload":
            return NotFound("No such upload.", code="upload_not_found")
        if code == "NoSuchBucket":
            return Unavailable(
                f"The S3 bucket {self.bucket!r} does not exist.",
                code="storage_unavailable",
                bucket=self.bucket,
            )
        if code in _MISSING_KEY or status == 404:
            return NotFound("No such blob.", code="blob_not_found")
        if code in _BAD_PARTS:
            return Invalid(f"The parts cannot be joined ({code}).", code="invalid_parts")
        return Unavailable(
            f"Object storage refused the request ({code or status}).",
            code="storage_unavailable",
        )


class _Part(io.BytesIO):
    """One part's bytes, counted as they are written."""

    def __init__(self, initial: bytes = b"") -> None:
        super().__init__(initial)
        self.size = len(initial)
        self.seek(0, io.SEEK_END)

    def write(self, data: Any, /) -> int:
        written = super().write(data)
        self.size += written
        return written


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One loader for every client made here: botocore's JSON models are parsed once per
    process instead of twice per store (some 0.2 s each)."""
    return botocore.loaders.create_loader()


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: botocore.exceptions.ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _presign_seconds(expires_in: timedelta) -> int:
    return max(1, min(int(expires_in.total_seconds()), MAX_PRESIGN_SECONDS))


def _check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"bad byte range {start}..{end}")


def _check_part_number(number: int) -> None:
    if not 1 <= number <= 10_000:
        raise Invalid("Parts are numbered 1 to 10000.", code="invalid_part")


async def _refresh_signing(source: Any, target: botocore.credentials.Credentials) -> None:
    """Keep the presigner's credentials in step with expiring default-chain ones."""
    while True:
        await asyncio.sleep(CREDENTIAL_REFRESH_SECONDS)
        try:
            fresh = await source.get_frozen_credentials()
        except Exception:
            log.warning("could not refresh S3 credentials for signing", exc_info=True)
            continue
        target.access_key = fresh.access_key
        target.secret_key = fresh.secret_key
        target.token = fresh.token


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _temp_beside(path: Path) -> str:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    return name


async def _file_chunks(path: Path, size: int) -> AsyncIterator[bytes]:
    handle: IO[bytes] = await asyncio.to_thread(open, path, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, size):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)
