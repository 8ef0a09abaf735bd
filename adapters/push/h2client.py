"""A lean asyncio HTTP/2 client for the push services: one connection per origin carrying
many concurrent streams, on the ``h2`` package (the protocol: framing, HPACK, flow
control, settings; this module only moves bytes and matches responses to requests).

Why not httpx: its HTTP/2 path costs about a millisecond of CPU per request (and, without
sniffio installed, a failed import per request), which caps one worker near 800 pushes a
second; the daily moment of 100,000 users must go out within a minute (bench/push_fanout.py).

``https`` URLs use TLS, the certificate verified (the system's CAs, or the CA bundle or
context given as ``verify``), and must negotiate ALPN ``h2``: a server that answers
another protocol or none (an HTTP/1.1 proxy or load balancer in the way) gets no HTTP/2
preface; the connection is closed and the request fails with ``H2Unavailable``. The TLS
context is made once per client (not at every reconnect); an ``ssl.SSLContext`` given as
``verify`` is used as it is, never changed (it may be shared with other clients), so it
must offer ALPN ``h2`` itself (``context.set_alpn_protocols(["h2"])``): without it no
server selects h2 and every request fails with ``H2Unavailable`` saying so.
``http`` URLs speak cleartext HTTP/2 with prior knowledge (the local fakes of the tests,
bench and scripts/fake_push.py). The connection opens on first use and again after it
is lost or the server sent GOAWAY; the streams open at once never exceed the server's
``SETTINGS_MAX_CONCURRENT_STREAMS``. A refused or lost connection (certificate and ALPN
refusals included), a reset stream or a timeout raises ``H2Unavailable`` (the caller
retries later).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

READ_CHUNK = 65536
WINDOW = 16 * 2**20  # our receive window (answers are tiny; never the bottleneck)
WRITE_BUFFER = 2**20  # unsent bytes past which a request waits for the socket


class H2Unavailable(Exception):
    """The request did not get an answer: connection refused or lost, TLS refused (the
    certificate, or no ALPN ``h2``), stream reset, timeout."""


class _Stream:
    __slots__ = ("body", "done", "headers")

    def __init__(self) -> None:
        self.headers: list[tuple[str, str]] = []
        self.body = bytearray()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self.scheme = "https" if writer.get_extra_info("sslcontext") else "http"
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8",
            validate_outbound_headers=False, normalize_outbound_headers=False,
            validate_inbound_headers=False, normalize_inbound_headers=False,
        ))
        self.h2.local_settings = h2.settings.Settings(
            client=True, initial_values={h2.settings.SettingCodes.ENABLE_PUSH: 0,
                                         h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW})
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(WINDOW - 65535)
        self.streams: dict[int, _Stream] = {}
        self.open = True
        self._flush_scheduled = False
        self._changed = asyncio.Event()  # a stream ended, settings or windows changed
        self._flush()
        self._reading = asyncio.create_task(self._read(), name="h2-read")

    def _flush(self) -> None:
        self._flush_scheduled = False
        data = self.h2.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)

    def _flush_soon(self) -> None:
        """Write at the end of this turn of the loop: the requests started in one turn
        go out in one write (one system call instead of one each)."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _fail_all(self, why: str) -> None:
        self.open = False
        for stream in self.streams.values():
            if not stream.done.done():
                stream.done.set_exception(H2Unavailable(why))
        self.streams.clear()
        self._changed.set()

    async def _read(self) -> None:
        why = "connection closed"
        try:
            while data := await self._reader.read(READ_CHUNK):
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError as exc:
                    why = f"protocol error: {exc}"
                    break
                for event in events:
                    self._on(event)
                self._flush()
                if not self.open:
                    why = "GOAWAY"
                    break
        except (OSError, asyncio.IncompleteReadError) as exc:
            why = f"{type(exc).__name__}: {exc}"
        finally:
            self._fail_all(why)
            self._writer.close()

    def _on(self, event: Any) -> None:
        if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.headers += [(str(k), str(v)) for k, v in event.headers]
        elif isinstance(event, h2.events.DataReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.body += event.data
            # Give the window back at once (answers are small).
            with contextlib.suppress(h2.exceptions.StreamClosedError):
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.streams.pop(event.stream_id, None)
            if stream is not None and not stream.done.done():
                stream.done.set_result(None)
            self._changed.set()
        elif isinstance(event, h2.events.StreamReset):
            stream = self.streams.pop(event.stream_id, None)
            if stream is not None and not stream.done.done():
                stream.done.set_exception(H2Unavailable(f"stream reset ({event.error_code})"))
            self._changed.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.open = False  # GOAWAY: finish nothing new here; _read fails the rest
        elif isinstance(event, h2.events.RemoteSettingsChanged | h2.events.WindowUpdated):
            self._changed.set()

    async def _wait_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    async def request(
        self, method: str, authority: str, path: str, headers: list[tuple[str, str]],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        # (self.streams holds the open ones: h2's own count walks every stream.)
        while self.open and (
                len(self.streams) >= self.h2.remote_settings.max_concurrent_streams):
            await self._wait_change()
        if not self.open:
            raise H2Unavailable("connection closed")
        stream_id = self.h2.get_next_available_stream_id()
        stream = self.streams[stream_id] = _Stream()
        self.h2.send_headers(stream_id, [
            (":method", method), (":scheme", self.scheme), (":authority", authority),
            (":path", path), *headers, ("content-length", str(len(body)))],
            end_stream=not body)
        sent = 0
        while sent < len(body):
            window = min(self.h2.local_flow_control_window(stream_id),
                         self.h2.max_outbound_frame_size)
            if window <= 0:
                self._flush_soon()
                await self._wait_change()
                if not self.open:
                    raise H2Unavailable("connection closed")
                continue
            chunk = body[sent:sent + window]
            sent += len(chunk)
            self.h2.send_data(stream_id, chunk, end_stream=sent >= len(body))
        self._flush_soon()
        try:
            if self._writer.transport.get_write_buffer_size() > WRITE_BUFFER:
                await self._writer.drain()
            await stream.done
        except asyncio.CancelledError:  # timed out: free the stream for others
            if self.streams.pop(stream_id, None) is not None:
                with contextlib.suppress(h2.exceptions.H2Error):
                    self.h2.reset_stream(stream_id)
                    self._flush()
            raise
        answer = dict(stream.headers)
        return int(answer.get(":status", 0)), answer, bytes(stream.body)

    async def close(self) -> None:
        self.open = False
        with contextlib.suppress(Exception):
            self.h2.close_connection()
            self._flush()
        self._writer.close()
        self._reading.cancel()
        await asyncio.gather(self._reading, return_exceptions=True)


def _tls_context(verify: Any) -> ssl.SSLContext:
    """The context of ``verify``: a caller's ``ssl.SSLContext`` as it is (its ALPN is the
    caller's to set), else a new one offering ALPN h2 that trusts the CA bundle at that
    path (a str), the system's CAs (True) or anything (False: no verification)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if isinstance(verify, str):
        context = ssl.create_default_context(cafile=verify)
    else:
        context = ssl.create_default_context()
        if verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    return context


class H2Client:
    """Requests to one origin over one HTTP/2 connection (reopened when lost)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, verify: Any = True) -> None:
        parts = urlsplit(base_url)
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._tls else 80)
        self._authority = parts.netloc
        self._timeout = timeout
        self._ssl = _tls_context(verify) if self._tls else None
        self._conn: _Connection | None = None
        self._connecting = asyncio.Lock()

    async def _connection(self) -> _Connection:
        if self._conn is not None and self._conn.open:
            return self._conn
        async with self._connecting:
            if self._conn is None or not self._conn.open:
                try:
                    reader, writer = await asyncio.open_connection(
                        self._host, self._port, ssl=self._ssl, limit=READ_CHUNK)
                except OSError as exc:  # ssl.SSLError (the certificate) is one
                    raise H2Unavailable(f"{type(exc).__name__}: {exc}") from None
                if self._tls:
                    await self._require_h2(writer)
                self._conn = _Connection(reader, writer)
            return self._conn

    async def _require_h2(self, writer: asyncio.StreamWriter) -> None:
        tls = writer.get_extra_info("ssl_object")
        alpn = tls.selected_alpn_protocol() if tls is not None else None
        if alpn != "h2":
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            raise H2Unavailable(
                f"{self._authority} did not negotiate HTTP/2 over TLS "
                f"(ALPN: {alpn or 'none'}); nothing sent")

    async def post(
        self, path: str, body: bytes, headers: list[tuple[str, str]]
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, response headers, body). Raises H2Unavailable."""
        try:
            async with asyncio.timeout(self._timeout):
                conn = await self._connection()
                return await conn.request("POST", self._authority, path, headers, body)
        except TimeoutError:
            raise H2Unavailable("timeout") from None
        except (OSError, h2.exceptions.ProtocolError) as exc:
            raise H2Unavailable(f"{type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()
