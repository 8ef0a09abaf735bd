"""Local fakes of the push services, speaking their real protocols, started by the tests.

``FakeApns``: an HTTP/2 server (the h2 package; cleartext HTTP/2 with prior knowledge on
loopback, as the client speaks it to an http:// URL) that checks each request as APNs
does (POST /3/device/<token>, an ES256 provider JWT of the right key id and team, the
topic, a JSON payload with ``aps``) and answers 200, or what ``answers`` says for a token
(400 BadDeviceToken, 410 Unregistered, 503, ...). ``record=False`` (the moment fan-out
benchmark, bench/push_fanout.py) keeps counts only: ``accepted``, ``per_token``,
``per_connection`` and the time of the last accepted push, not every payload.

``FakeFcm``: an aiohttp app serving the OAuth2 token endpoint (RFC 7523 JWT bearer grant,
checking the assertion's signature, issuer, audience and scope) and FCM HTTP v1's
messages:send (checking the access token it issued), with ``answers`` by token."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey


def p8_key() -> str:
    """A fresh P-256 key as the .p8 PEM Apple hands out."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def service_account(token_uri: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "momentic-test",
            "private_key_id": "k1", "private_key": pem,
            "client_email": "push@momentic-test.iam.gserviceaccount.com",
            "token_uri": token_uri}


class FakeApns:
    def __init__(
        self, key_pem: str, key_id: str, team_id: str, topic: str, *, record: bool = True
    ) -> None:
        self.key_pem = key_pem
        self._key = ECKey.import_key(key_pem)
        self.key_id, self.team_id, self.topic = key_id, team_id, topic
        self.answers: dict[str, tuple[int, str | None]] = {}  # token -> (status, reason)
        self.received: list[dict[str, Any]] = []  # accepted pushes: headers, token, payload
        self.record = record
        self.requests = 0
        self.accepted = 0
        self.last_accepted_at = 0.0  # time.time() of the last accepted push
        self.per_token: dict[str, int] = {}  # record=False: accepted pushes by token
        self.per_connection: list[int] = []  # accepted pushes by client connection
        # A provider token is verified once (its signature cannot change); its age is
        # checked on every request.
        self._verified: dict[str, dict[str, Any]] = {}
        self.delay = 0.0  # seconds before each answer (a slow service)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self, port: int = 0) -> FakeApns:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()

    def _check(self, headers: dict[str, str], body: bytes) -> tuple[int, str | None]:
        path = headers.get(":path", "")
        if headers.get(":method") != "POST" or not path.startswith("/3/device/"):
            return 404, "BadPath"
        auth = headers.get("authorization", "")
        if not auth.startswith("bearer "):
            return 403, "MissingProviderToken"
        claims = self._verified.get(auth)
        if claims is None:
            try:
                token = jwt.decode(auth[7:], self._key, algorithms=["ES256"])
            except Exception:
                return 403, "InvalidProviderToken"
            if (token.header.get("kid") != self.key_id
                    or token.claims.get("iss") != self.team_id):
                return 403, "InvalidProviderToken"
            claims = self._verified[auth] = dict(token.claims)
        if abs(time.time() - int(claims.get("iat", 0))) > 3600:
            return 403, "ExpiredProviderToken"
        if headers.get("apns-topic") != self.topic:
            return 400, "TopicDisallowed"
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, "PayloadEmpty"
        if not isinstance(payload, dict) or "aps" not in payload:
            return 400, "BadPayload"
        device = path.removeprefix("/3/device/")
        answer = self.answers.get(device, (200, None))
        if answer[0] == 200:
            self.accepted += 1
            self.last_accepted_at = time.time()
            if self.record:
                self.received.append({"token": device, "headers": headers,
                                      "payload": payload})
            else:
                self.per_token[device] = self.per_token.get(device, 0) + 1
        return answer

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        # The fake checks what APNs checks (below), not h2's header rules: it must keep
        # up with the benchmark's client on the same machine.
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding="utf-8",
            validate_inbound_headers=False, normalize_inbound_headers=False,
            validate_outbound_headers=False, normalize_outbound_headers=False))
        # As APNs: up to 1,000 concurrent streams on a connection.
        conn.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000})
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        index = len(self.per_connection)
        self.per_connection.append(0)
        try:
            while data := await reader.read(65536):
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = (dict(event.headers), bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        headers, body = streams.pop(event.stream_id)
                        self.requests += 1
                        if self.delay:
                            await asyncio.sleep(self.delay)
                        status, reason = self._check(headers, bytes(body))
                        if status == 200:
                            self.per_connection[index] += 1
                        out = b"" if status == 200 else json.dumps({"reason": reason}).encode()
                        conn.send_headers(event.stream_id, [
                            (":status", str(status)), ("apns-id", secrets.token_hex(8)),
                            ("content-length", str(len(out)))], end_stream=not out)
                        if out:
                            conn.send_data(event.stream_id, out, end_stream=True)
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


class FakeFcm:
    PROJECT = "momentic-test"

    def __init__(self) -> None:
        self.public_key: RSAKey | None = None
        self.client_email = ""
        self.answers: dict[str, tuple[int, str]] = {}  # token -> (status, errorCode)
        self.received: list[dict[str, Any]] = []
        self.token_requests = 0
        self.issued: set[str] = set()
        self.url = ""
        self._runner: web.AppRunner | None = None

    def account(self) -> dict[str, Any]:
        account = service_account(f"{self.url}/token")
        self.public_key = RSAKey.import_key(account["private_key"])
        self.client_email = account["client_email"]
        return account

    async def start(self, port: int = 0) -> FakeFcm:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/projects/{project}/messages:send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        assert self.public_key is not None
        try:
            token = jwt.decode(str(form.get("assertion", "")), self.public_key,
                               algorithms=["RS256"])
        except Exception:
            return web.json_response({"error": "invalid_grant"}, status=400)
        c = token.claims
        if (c.get("iss") != self.client_email or c.get("aud") != f"{self.url}/token"
                or c.get("scope") != "https://www.googleapis.com/auth/firebase.messaging"
                or int(c.get("exp", 0)) < time.time()):
            return web.json_response({"error": "invalid_grant"}, status=400)
        self.token_requests += 1
        access = secrets.token_urlsafe(24)
        self.issued.add(access)
        return web.json_response(
            {"access_token": access, "expires_in": 3599, "token_type": "Bearer"})

    async def _send(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if request.match_info["project"] != self.PROJECT:
            return web.json_response({"error": {"code": 404, "status": "NOT_FOUND"}},
                                     status=404)
        if not auth.startswith("Bearer ") or auth[7:] not in self.issued:
            return web.json_response({"error": {"code": 401, "status": "UNAUTHENTICATED"}},
                                     status=401)
        body = await request.json()
        token = body["message"]["token"]
        status, code = self.answers.get(token, (200, ""))
        if status != 200:
            return web.json_response({"error": {
                "code": status, "status": code,
                "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                             "errorCode": code}]}}, status=status)
        self.received.append(body["message"])
        return web.json_response({"name": f"projects/{self.PROJECT}/messages/1"})
