"""A WebSocket client written by hand on a raw socket, for the tests of slow consumers
(tests/e2e/test_live_ws.py, tests/faults/test_slow_clients.py): the upgrade request,
masked client frames, the server frames parsed out of the bytes read, and a subscriber
that stops reading so the server's writes back up."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct

HANDSHAKE = {"Upgrade": "websocket", "Connection": "Upgrade",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}


def masked(payload: bytes, opcode: int = 0x1) -> bytes:
    """A client frame (clients must mask)."""
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    else:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of the complete server frames in ``data``."""
    out, at = [], 0
    while at + 2 <= len(data):
        opcode, n = data[at] & 0x0F, data[at + 1] & 0x7F
        size = {126: 2, 127: 8}.get(n, 0)
        start = at + 2 + size
        if size:
            n = int.from_bytes(data[at + 2:start], "big")
        if start + n > len(data):
            break
        out.append((opcode, data[start:start + n]))
        at = start + n
    return out


async def stalled_subscriber(
    host: str, port: int, auth: dict[str, str], channel: str, timeout: float
) -> tuple[socket.socket, bytes]:
    """A raw WebSocket client with a tiny receive buffer, upgraded on ``/v1/ws`` with
    ``auth`` and subscribed to ``channel``, that is then to read nothing: its socket, and
    what it read after the handshake (the frames up to the "subscribed" one). ``timeout``
    guards each read."""
    loop = asyncio.get_running_loop()
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await loop.sock_connect(raw, (host, port))
    head = "".join(f"{k}: {v}\r\n" for k, v in {**HANDSHAKE, **auth}.items())
    await loop.sock_sendall(raw, f"GET /v1/ws HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        received += await asyncio.wait_for(loop.sock_recv(raw, 4096), timeout)
    assert received.startswith(b"HTTP/1.1 101"), received[:200]
    await loop.sock_sendall(raw, masked(json.dumps({"op": "subscribe", "channel": channel})
                                        .encode()))
    backlog = received.split(b"\r\n\r\n", 1)[1]
    while b'"subscribed"' not in b"".join(p for _, p in frames(backlog)):
        backlog += await asyncio.wait_for(loop.sock_recv(raw, 4096), timeout)
    return raw, backlog
