"""In-memory ``BlobStore``: the local store's semantics in dicts.

Keys follow the local store's rules (Invalid(code="invalid_key") otherwise), so code
tested here also runs on files. ``signed_url`` gives ``{base_url}/media/{key}?exp=&sig=``
and ``verify_signature`` checks it exactly as the local store does; ``part_url`` is None
(the app takes parts through ``put_part``). A blob is stored only once its stream ended
without error.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from adapters.media_urls import MediaUrlSigner
from momentic_core.errors import Invalid, NotFound
from momentic_core.model.videos import BlobInfo, MultipartInfo, PartInfo
from momentic_core.policies.media import cache_control, check_blob_key
from momentic_core.ports import Clock

CHUNK = 64 * 1024
MAX_PARTS = 10_000
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@attrs.frozen
class _Blob:
    data: bytes
    content_type: str
    etag: str
    modified: datetime
    cache_control: str | None = None


@attrs.define
class _Upload:
    key: str
    content_type: str
    active: datetime
    parts: dict[int, _Blob] = attrs.Factory(dict)


class InMemoryBlobStore:
    """Blobs in a dict; ``clock`` (default: the system time) stamps them and the URLs."""

    def __init__(
        self, base_url: str, secret: bytes, *, clock: Clock | None = None, chunk_size: int = CHUNK
    ) -> None:
        if not secret:
            raise ValueError("a signing secret is required")
        self._urls = MediaUrlSigner(base_url, secret)
        self.base_url = self._urls.base_url
        self._clock = clock
        self._chunk = chunk_size
        self._blobs: dict[str, _Blob] = {}
        self._uploads: dict[str, _Upload] = {}

    # ------------------------------------------------------------------ serving

    def verify_signature(self, key: str, exp: int | str, sig: str, now: datetime | float) -> bool:
        """Whether ``sig`` is this store's signature of ``key`` and ``exp`` and ``now`` is
        before ``exp`` (unix seconds). Constant-time; never raises for bad input."""
        return self._urls.verify(key, exp, sig, now)

    @property
    def open_uploads(self) -> int:
        """How many multipart uploads are open (for tests)."""
        return len(self._uploads)

    # ------------------------------------------------------------------ whole blobs

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes], content_type: str) -> int:
        check_blob_key(key)
        buffer = bytearray()
        async for chunk in chunks:
            buffer += chunk
        self._blobs[key] = self._blob(bytes(buffer), content_type, cache_control(key))
        return len(buffer)

    async def put_file(self, key: str, path: Path, content_type: str) -> int:
        check_blob_key(key)
        data = await asyncio.to_thread(Path(path).read_bytes)
        self._blobs[key] = self._blob(data, content_type, cache_control(key))
        return len(data)

    async def download(self, key: str, path: Path) -> None:
        blob = self._get(key)
        await asyncio.to_thread(Path(path).write_bytes, blob.data)

    async def read(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"bad byte range {start}..{end}")
        data = self._get(key).data
        stop = len(data) if end is None else min(end, len(data))
        for offset in range(start, stop, self._chunk):
            yield data[offset : min(offset + self._chunk, stop)]

    async def stat(self, key: str) -> BlobInfo | None:
        check_blob_key(key)
        blob = self._blobs.get(key)
        return None if blob is None else _info(key, blob)

    async def delete(self, key: str) -> None:
        """Idempotent."""
        check_blob_key(key)
        self._blobs.pop(key, None)

    async def list_blobs(self, prefix: str) -> AsyncIterator[BlobInfo]:
        for key in sorted(k for k in self._blobs if k.startswith(prefix)):
            blob = self._blobs.get(key)
            if blob is not None:
                yield _info(key, blob)

    def signed_url(self, key: str, expires_in: timedelta) -> str:
        return self._urls.url(key, int(self._now().timestamp() + expires_in.total_seconds()))

    # ------------------------------------------------------------------ multipart

    async def start_multipart(self, key: str, content_type: str) -> str:
        check_blob_key(key)
        upload_id = secrets.token_hex(16)
        self._uploads[upload_id] = _Upload(
            key=key, content_type=content_type, active=self._now()
        )
        return upload_id

    def part_url(self, key: str, upload_id: str, number: int, expires_in: timedelta) -> None:
        """None: the app takes parts itself (``put_part``)."""
        return None

    async def put_part(
        self, key: str, upload_id: str, number: int, chunks: AsyncIterable[bytes]
    ) -> PartInfo:
        if not 1 <= number <= MAX_PARTS:
            raise Invalid(f"Parts are numbered 1 to {MAX_PARTS}.", code="invalid_part")
        self._upload(key, upload_id)
        buffer = bytearray()
        async for chunk in chunks:
            buffer += chunk
        upload = self._upload(key, upload_id)  # it may have been aborted meanwhile
        part = self._blob(bytes(buffer), "")
        upload.parts[number] = part
        upload.active = part.modified
        return PartInfo(number=number, size=len(part.data), etag=part.etag)

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        upload = self._upload(key, upload_id)
        return [
            PartInfo(number=n, size=len(p.data), etag=p.etag)
            for n, p in sorted(upload.parts.items())
        ]

    async def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        """Join ``parts`` (ascending numbers, the ETags ``put_part`` gave) into ``key``.
        Raises NotFound(code="upload_not_found"), Invalid(code="invalid_parts")."""
        upload = self._upload(key, upload_id)
        numbers = [p.number for p in parts]
        if not parts or numbers != sorted(set(numbers)):
            raise Invalid("Give the parts once each, in ascending order.", code="invalid_parts")
        pieces = []
        for info in parts:
            stored = upload.parts.get(info.number)
            if stored is None:
                raise Invalid(f"Part {info.number} was not uploaded.", code="invalid_parts")
            if stored.etag != info.etag:
                raise Invalid(f"Part {info.number} has another ETag.", code="invalid_parts")
            pieces.append(stored.data)
        self._blobs[key] = self._blob(
            b"".join(pieces), upload.content_type, cache_control(key)
        )
        del self._uploads[upload_id]

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the parts. Idempotent."""
        upload = self._uploads.get(upload_id)
        if upload is not None and upload.key == key:
            del self._uploads[upload_id]

    async def list_multipart(self, prefix: str) -> AsyncIterator[MultipartInfo]:
        for upload_id, upload in sorted(self._uploads.items(), key=lambda i: i[1].key):
            if upload.key.startswith(prefix):
                yield MultipartInfo(key=upload.key, upload_id=upload_id, active=upload.active)

    # ------------------------------------------------------------------ internals

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def _blob(self, data: bytes, content_type: str, control: str | None = None) -> _Blob:
        etag = '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'
        return _Blob(
            data=data,
            content_type=content_type or DEFAULT_CONTENT_TYPE,
            etag=etag,
            modified=self._now(),
            cache_control=control,
        )

    def _get(self, key: str) -> _Blob:
        check_blob_key(key)
        blob = self._blobs.get(key)
        if blob is None:
            raise NotFound("No such blob.", code="blob_not_found")
        return blob

    def _upload(self, key: str, upload_id: str) -> _Upload:
        check_blob_key(key)
        upload = self._uploads.get(upload_id)
        if upload is None or upload.key != key:
            raise NotFound("No such upload.", code="upload_not_found")
        return upload


def _info(key: str, blob: _Blob) -> BlobInfo:
    return BlobInfo(
        key=key,
        size=len(blob.data),
        etag=blob.etag,
        content_type=blob.content_type,
        modified=blob.modified,
        cache_control=blob.cache_control,
    )
