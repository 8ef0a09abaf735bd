"""``BlobStore`` on the local filesystem, for the embedded default.

Layout under ``root``::

    <key>                          the blob (keys are server-made: videos/<hex>/source)
    .meta/<key>                    its content type
    .multipart/<upload_id>/upload  {"key": ..., "content_type": ...} of an open upload
    .multipart/<upload_id>/<n>     part n

- Writes are atomic: a temporary file in the target's directory, fsync, ``os.replace``
  (then the directory is fsynced), so a reader sees the old blob or the new one, never a
  part; a failed write leaves nothing behind.
- Keys can never leave ``root``: absolute paths, ``..``, ``.``, empty segments,
  backslashes, control characters and names starting with a dot (reserved for the
  store's own files) are refused with Invalid(code="invalid_key"), and the resolved path
  must still lie inside ``root`` (which also defeats planted symlinks).
- Blocking file I/O runs in threads (``asyncio.to_thread``), in chunks; a file is never
  read whole into memory.
- The app serves blobs itself: ``signed_url`` gives ``{base_url}/media/{key}?exp=&sig=``
  (HMAC-SHA256 of key and expiry with the server secret); the HTTP layer checks it with
  ``verify_signature`` and sends ``path_for(key)``. The ETag is aiohttp's own for a
  FileResponse (``"<mtime_ns hex>-<size hex>"``), so ``stat`` and the served headers agree.
- Parts go through the app (``part_url`` is None; ``put_part`` stores them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from adapters.media_urls import MediaUrlSigner
from momentic_core.errors import Invalid, NotFound
from momentic_core.model.videos import BlobInfo, MultipartInfo, PartInfo
from momentic_core.policies.media import cache_control, check_blob_key
from momentic_core.ports import Clock

CHUNK = 1024 * 1024
MAX_PARTS = 10_000
DEFAULT_CONTENT_TYPE = "application/octet-stream"
META_DIR = ".meta"
MULTIPART_DIR = ".multipart"
UPLOAD_FILE = "upload"
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


class LocalBlobStore:
    """Blobs as files under ``root``; ``base_url`` is the app's public URL."""

    def __init__(
        self,
        root: Path,
        base_url: str,
        secret: bytes,
        *,
        clock: Clock | None = None,
        chunk_size: int = CHUNK,
    ) -> None:
        if not secret:
            raise ValueError("a signing secret is required")
        self.root = Path(root).resolve()
        self._urls = MediaUrlSigner(base_url, secret)
        self.base_url = self._urls.base_url
        self._clock = clock
        self._chunk = chunk_size

    # ------------------------------------------------------------------ serving

    def path_for(self, key: str) -> Path:
        """The file of ``key`` (which may not exist). Raises Invalid(code="invalid_key")
        for a key that is malformed or would leave the root."""
        check_blob_key(key)
        path = (self.root / key).resolve()
        if path == self.root or not path.is_relative_to(self.root):
            raise Invalid("This blob key is not allowed.", code="invalid_key")
        return path

    def verify_signature(self, key: str, exp: int | str, sig: str, now: datetime | float) -> bool:
        """Whether ``sig`` is this store's signature of ``key`` and ``exp`` and ``now`` is
        before ``exp`` (unix seconds). Constant-time; never raises for bad input."""
        return self._urls.verify(key, exp, sig, now)

    # ------------------------------------------------------------------ whole blobs

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes], content_type: str) -> int:
        """Write the chunks to a temporary file beside the target, then rename it over
        the target. If the chunks raise, the temporary file goes and the error propagates."""
        target = self.path_for(key)
        size = await self._write_atomic(target, chunks, create_dirs=True)
        await self._set_content_type(key, content_type)
        return size

    async def put_file(self, key: str, path: Path, content_type: str) -> int:
        target = self.path_for(key)
        size = await asyncio.to_thread(_copy_atomic, [Path(path)], target)
        await self._set_content_type(key, content_type)
        return size

    async def download(self, key: str, path: Path) -> None:
        source = self.path_for(key)
        try:
            await asyncio.to_thread(_copy_atomic, [source], Path(path), False)
        except FileNotFoundError:
            if not await asyncio.to_thread(source.is_file):
                raise _missing_blob() from None
            raise

    async def read(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Bytes ``start`` to ``end`` (exclusive), read in chunks off the event loop."""
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"bad byte range {start}..{end}")
        path = self.path_for(key)
        try:
            handle: IO[bytes] = await asyncio.to_thread(open, path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _missing_blob() from None
        try:
            if start:
                await asyncio.to_thread(handle.seek, start)
            left = None if end is None else end - start
            while left is None or left > 0:
                want = self._chunk if left is None else min(self._chunk, left)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            # Synchronously (closing a file being read does not wait on the disk): the
            # handle is closed even when the generator is finalized with no loop to await.
            handle.close()

    async def stat(self, key: str) -> BlobInfo | None:
        path = self.path_for(key)
        return await asyncio.to_thread(self._stat, key, path)

    async def delete(self, key: str) -> None:
        """Idempotent. Directories left empty are removed."""
        path = self.path_for(key)
        meta = self._meta_path(key)
        await asyncio.to_thread(self._delete, path, meta)

    async def list_blobs(self, prefix: str) -> AsyncIterator[BlobInfo]:
        """Every blob whose key starts with ``prefix``, directory by directory."""
        pending = [self._prefix_dir(prefix)]
        while pending:
            infos, subdirs = await asyncio.to_thread(self._scan, pending.pop(), prefix)
            pending.extend(reversed(subdirs))
            for info in infos:
                yield info

    def signed_url(self, key: str, expires_in: timedelta) -> str:
        """``{base_url}/media/{key}?exp=<unix>&sig=<HMAC>``; no I/O at all."""
        return self._urls.url(key, int(self._now() + expires_in.total_seconds()))

    # ------------------------------------------------------------------ multipart

    async def start_multipart(self, key: str, content_type: str) -> str:
        self.path_for(key)
        upload_id = secrets.token_hex(16)
        directory = self.root / MULTIPART_DIR / upload_id
        record = json.dumps({"key": key, "content_type": content_type}).encode()
        await asyncio.to_thread(directory.mkdir, parents=True)
        await self._write_atomic(directory / UPLOAD_FILE, _one(record), create_dirs=False)
        return upload_id

    def part_url(self, key: str, upload_id: str, number: int, expires_in: timedelta) -> None:
        """None: the app takes parts itself (``put_part``)."""
        return None

    async def put_part(
        self, key: str, upload_id: str, number: int, chunks: AsyncIterable[bytes]
    ) -> PartInfo:
        """Store part ``number`` (replacing an earlier one atomically). Raises
        NotFound(code="upload_not_found"), Invalid(code="invalid_part")."""
        _check_part_number(number)
        directory, _ = await self._upload(key, upload_id)
        target = directory / str(number)
        try:
            await self._write_atomic(target, chunks, create_dirs=False)
            st = await asyncio.to_thread(target.stat)
        except FileNotFoundError:
            if not await asyncio.to_thread(directory.is_dir):  # aborted meanwhile
                raise _missing_upload() from None
            raise
        return PartInfo(number=number, size=st.st_size, etag=_etag(st))

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        """Parts received so far, by number. Raises NotFound(code="upload_not_found")."""
        directory, _ = await self._upload(key, upload_id)
        try:
            return await asyncio.to_thread(_list_parts, directory)
        except FileNotFoundError:
            raise _missing_upload() from None

    async def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        """Join ``parts`` (ascending numbers, the ETags ``put_part`` gave) into ``key``
        atomically and drop the upload. Raises NotFound(code="upload_not_found"),
        Invalid(code="invalid_parts")."""
        target = self.path_for(key)
        directory, record = await self._upload(key, upload_id)
        numbers = [p.number for p in parts]
        if not parts or numbers != sorted(set(numbers)):
            raise Invalid("Give the parts once each, in ascending order.", code="invalid_parts")
        try:
            await asyncio.to_thread(_join_parts, directory, parts, target)
        except FileNotFoundError:
            if not await asyncio.to_thread(directory.is_dir):
                raise _missing_upload() from None
            raise
        await self._set_content_type(key, str(record.get("content_type") or ""))
        await asyncio.to_thread(shutil.rmtree, directory, True)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the parts. Idempotent."""
        try:
            directory, _ = await self._upload(key, upload_id)
        except NotFound:
            return
        await asyncio.to_thread(shutil.rmtree, directory, True)

    async def list_multipart(self, prefix: str) -> AsyncIterator[MultipartInfo]:
        """Open uploads under ``prefix``; ``active``: the newest file time in the upload's
        directory (its record or a part)."""
        for info in await asyncio.to_thread(self._scan_uploads, prefix):
            yield info

    def _scan_uploads(self, prefix: str) -> list[MultipartInfo]:
        found: list[MultipartInfo] = []
        try:
            with os.scandir(self.root / MULTIPART_DIR) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return found
        for entry in entries:
            if not _UPLOAD_ID.fullmatch(entry.name):
                continue
            directory = Path(entry.path)
            try:
                record = _read_upload(directory)
                with os.scandir(directory) as files:
                    active = max(f.stat().st_mtime for f in files)
            except (FileNotFoundError, NotADirectoryError, ValueError):
                continue  # completed or aborted meanwhile, or not ours
            key = record.get("key")
            if isinstance(key, str) and key.startswith(prefix):
                found.append(MultipartInfo(
                    key=key, upload_id=entry.name, active=datetime.fromtimestamp(active, UTC)
                ))
        return sorted(found, key=lambda info: info.key)

    # ------------------------------------------------------------------ internals

    def _now(self) -> float:
        return self._clock.now().timestamp() if self._clock is not None else time.time()

    def _meta_path(self, key: str) -> Path:
        return self.root / META_DIR / key

    def _prefix_dir(self, prefix: str) -> Path:
        """The deepest directory every key with ``prefix`` lies under."""
        head = prefix.rpartition("/")[0]
        if not head:
            if prefix.startswith("/") or "\\" in prefix or "\x00" in prefix:
                raise Invalid("This blob prefix is not allowed.", code="invalid_key")
            return self.root
        return self.path_for(head)

    async def _upload(self, key: str, upload_id: str) -> tuple[Path, dict[str, object]]:
        """The directory and record of an open upload of ``key``. Raises
        NotFound(code="upload_not_found")."""
        self.path_for(key)
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise _missing_upload()
        directory = self.root / MULTIPART_DIR / upload_id
        try:
            record = await asyncio.to_thread(_read_upload, directory)
        except (FileNotFoundError, NotADirectoryError, ValueError):
            raise _missing_upload() from None
        if record.get("key") != key:
            raise _missing_upload()
        return directory, record

    async def _write_atomic(
        self, target: Path, chunks: AsyncIterable[bytes], *, create_dirs: bool
    ) -> int:
        handle, tmp = await asyncio.to_thread(_open_temp, target.parent, create_dirs)
        size = 0
        try:
            batch = bytearray()
            async for chunk in chunks:
                batch += chunk
                size += len(chunk)
                if len(batch) >= self._chunk:
                    await asyncio.to_thread(handle.write, batch)
                    batch = bytearray()
            if batch:
                await asyncio.to_thread(handle.write, batch)
            await asyncio.to_thread(_commit, handle, tmp, target)
        except BaseException:
            _discard(handle, tmp)  # quick, and must happen even when cancelled
            raise
        return size

    async def _set_content_type(self, key: str, content_type: str) -> None:
        """The blob's metadata file: its content type, and on a second line its
        Cache-Control (``policies.media.cache_control``)."""
        meta = self._meta_path(key)
        data = f"{content_type or DEFAULT_CONTENT_TYPE}\n{cache_control(key)}\n".encode()
        await self._write_atomic(meta, _one(data), create_dirs=True)

    def _scan(self, directory: Path, prefix: str) -> tuple[list[BlobInfo], list[Path]]:
        """The blobs in ``directory`` whose keys start with ``prefix``, and its
        subdirectories, by name; dot names (the store's own files) are skipped."""
        infos: list[BlobInfo] = []
        subdirs: list[Path] = []
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return infos, subdirs
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(path)
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix) and (info := self._stat(key, path)) is not None:
                infos.append(info)
        return infos, subdirs

    def _stat(self, key: str, path: Path) -> BlobInfo | None:
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        try:
            meta = self._meta_path(key).read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError):
            meta = []
        # Files written before Cache-Control was stored have the content type alone.
        content_type = (meta[0].strip() if meta else "") or DEFAULT_CONTENT_TYPE
        control = meta[1].strip() if len(meta) > 1 and meta[1].strip() else None
        return BlobInfo(
            key=key,
            size=st.st_size,
            etag=_etag(st),
            content_type=content_type,
            modified=datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC),
            cache_control=control,
        )

    def _delete(self, path: Path, meta: Path) -> None:
        for file, top in ((path, self.root), (meta, self.root / META_DIR)):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                file.unlink()
            _prune(file.parent, top)


# ---------------------------------------------------------------------- keys and signing


def _check_part_number(number: int) -> None:
    if not 1 <= number <= MAX_PARTS:
        raise Invalid(f"Parts are numbered 1 to {MAX_PARTS}.", code="invalid_part")


def _missing_blob() -> NotFound:
    return NotFound("No such blob.", code="blob_not_found")


def _missing_upload() -> NotFound:
    return NotFound("No such upload.", code="upload_not_found")


def _etag(st: os.stat_result) -> str:
    # The same value aiohttp's FileResponse sends for this file.
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


# ---------------------------------------------------------------------- blocking helpers
# Everything below runs in a worker thread.


def _open_temp(directory: Path, create_dirs: bool) -> tuple[IO[bytes], Path]:
    """A new temporary file in ``directory`` (whose name starts with a dot: never a key)."""
    for attempt in range(3):
        if create_dirs:
            directory.mkdir(parents=True, exist_ok=True)
        try:
            fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        except FileNotFoundError:
            # A delete pruned the directory between mkdir and mkstemp: make it again.
            if not create_dirs or attempt == 2:
                raise
            continue
        return os.fdopen(fd, "wb"), Path(name)
    raise AssertionError("unreachable")


def _commit(handle: IO[bytes], tmp: Path, target: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def _discard(handle: IO[bytes], tmp: Path) -> None:
    with contextlib.suppress(OSError):
        handle.close()
    with contextlib.suppress(OSError):
        tmp.unlink()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_atomic(sources: list[Path], target: Path, create_dirs: bool = True) -> int:
    """Concatenate ``sources`` into ``target`` through a temporary file."""
    handle, tmp = _open_temp(target.parent, create_dirs)
    try:
        for source in sources:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, handle, CHUNK)
        size = handle.tell()
        _commit(handle, tmp, target)
    except BaseException:
        _discard(handle, tmp)
        raise
    return size


def _join_parts(directory: Path, parts: list[PartInfo], target: Path) -> None:
    files = []
    for part in parts:
        path = directory / str(part.number)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise Invalid(f"Part {part.number} was not uploaded.", code="invalid_parts") from None
        if _etag(st) != part.etag:
            raise Invalid(f"Part {part.number} has another ETag.", code="invalid_parts")
        files.append(path)
    _copy_atomic(files, target)


def _read_upload(directory: Path) -> dict[str, object]:
    record = json.loads((directory / UPLOAD_FILE).read_bytes())
    if not isinstance(record, dict):
        raise ValueError("bad upload record")
    return record


def _list_parts(directory: Path) -> list[PartInfo]:
    parts = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.isdigit() and entry.is_file():
                st = entry.stat()
                parts.append(PartInfo(number=int(entry.name), size=st.st_size, etag=_etag(st)))
    return sorted(parts, key=lambda p: p.number)


def _prune(directory: Path, top: Path) -> None:
    """Remove empty directories from ``directory`` up to, not including, ``top``."""
    while directory != top and directory.is_relative_to(top):
        try:
            directory.rmdir()
        except OSError:  # not empty (or gone): stop
            return
        directory = directory.parent
