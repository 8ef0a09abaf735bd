"""Local fakes of the push services, speaking their real protocols, started by the tests.

``FakeH2``: the HTTP/2 server both fakes are made of (the h2 package). On loopback it
speaks cleartext HTTP/2 with prior knowledge, as the client speaks it to an http:// URL;
``start(tls=...)`` serves TLS instead, with a server context of a throwaway ``TestCA``
(certificates made with ``cryptography``, ALPN ``h2``, or what the test offers), and its
``url`` is https://.

``FakeApns``: checks each request as APNs does (POST /3/device/<token>, an ES256 provider
JWT of the right key id and team, the topic, a JSON payload with ``aps``) and answers
200, or what ``answers`` says for a token (400 BadDeviceToken, 410 Unregistered, 503,
...), with the ``Retry-After`` header ``retry_after`` holds for that token, if any.
``record=False`` (the moment fan-out benchmark, bench/push_fanout.py) keeps counts only:
``accepted``, ``per_token``, ``per_connection`` and the time of the last accepted push,
not every payload.

``FakeFcm``: FCM HTTP v1's messages:send over HTTP/2 (checking the access token it
issued, answering FcmError bodies by token from ``answers``, with ``retry_after``'s
header as APNs), and beside it, on its own
port (``token_url``, as Google's token endpoint is another origin), an aiohttp app
serving the OAuth2 token endpoint (RFC 7523 JWT bearer grant, checking the assertion's
signature, issuer, audience and scope; answering 400 ``invalid_grant`` as Google does).
Its outages: ``token_error`` (a status with an HTML page, and ``token_retry_after``'s
header), ``token_refusal`` (a status and an OAuth error body), ``token_hold`` (an event:
the endpoint answers nothing until it is set); ``token_posts`` counts every request,
``token_requests`` the tokens issued."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import secrets
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any, Self

import h2.config
import h2.connection
import h2.events
import h2.settings
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


class TestCA:
    """A throwaway certificate authority: ``client_context()`` trusts it alone,
    ``server_context(names)`` serves a certificate it issued for those names (DNS names or
    IP addresses) with the ALPN protocols given."""

    __test__ = False  # not a pytest class

    def __init__(self, name: str = "Momentic test CA") -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False),
                critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()),
                           critical=False)
            .sign(self._key, hashes.SHA256()))
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def client_context(self, alpn: tuple[str, ...] | None = ("h2",)) -> ssl.SSLContext:
        """A client context trusting this CA alone, offering ``alpn`` (H2Client uses a
        given context as it is)."""
        context = ssl.create_default_context(cadata=self.pem)
        if alpn is not None:
            context.set_alpn_protocols(list(alpn))
        return context

    def issue(self, *names: str) -> tuple[bytes, bytes]:
        """(certificate chain PEM, key PEM) for a server known by ``names``."""
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256()))
        chain = cert.public_bytes(serialization.Encoding.PEM) + self.pem.encode()
        return chain, key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())

    def server_context(
        self, *names: str, alpn: tuple[str, ...] | None = ("h2",)
    ) -> ssl.SSLContext:
        chain, key = self.issue(*names)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as tmp:  # load_cert_chain reads files only
            (Path(tmp) / "cert.pem").write_bytes(chain)
            (Path(tmp) / "key.pem").write_bytes(key)
            context.load_cert_chain(Path(tmp) / "cert.pem", Path(tmp) / "key.pem")
        if alpn is not None:
            context.set_alpn_protocols(list(alpn))
        return context


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


class FakeH2:
    """An HTTP/2 server on 127.0.0.1 answering each request with ``answer`` (given its
    request headers and body). ``delay`` seconds pass before each answer (a slow service:
    the connection answers nothing else meanwhile); ``requests`` counts the requests and
    ``per_connection`` the 200s of each client connection."""

    def __init__(self) -> None:
        self.requests = 0
        self.per_connection: list[int] = []
        self.delay = 0.0
        self._server: asyncio.Server | None = None
        self._tls: ssl.SSLContext | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self, port: int = 0, *, tls: ssl.SSLContext | None = None) -> Self:
        self._tls = tls
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port, ssl=tls)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()

    def answer(self, headers: dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        # The fakes check what the services check, not h2's header rules: they must keep
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
                        status, out_headers, out = self.answer(headers, bytes(body))
                        if status == 200:
                            self.per_connection[index] += 1
                        conn.send_headers(event.stream_id, [
                            (":status", str(status)), *out_headers,
                            ("content-length", str(len(out)))], end_stream=not out)
                        if out:
                            conn.send_data(event.stream_id, out, end_stream=True)
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


class FakeApns(FakeH2):
    def __init__(
        self, key_pem: str, key_id: str, team_id: str, topic: str, *, record: bool = True
    ) -> None:
        super().__init__()
        self.key_pem = key_pem
        self._key = ECKey.import_key(key_pem)
        self.key_id, self.team_id, self.topic = key_id, team_id, topic
        self.answers: dict[str, tuple[int, str | None]] = {}  # token -> (status, reason)
        self.retry_after: dict[str, str] = {}  # token -> Retry-After of its non-200 answers
        self.received: list[dict[str, Any]] = []  # accepted pushes: headers, token, payload
        self.record = record
        self.accepted = 0
        self.last_accepted_at = 0.0  # time.time() of the last accepted push
        self.per_token: dict[str, int] = {}  # record=False: accepted pushes by token
        # A provider token is verified once (its signature cannot change); its age is
        # checked on every request.
        self._verified: dict[str, dict[str, Any]] = {}
        # Provider tokens issued (iat) before this UNIX time are answered
        # ExpiredProviderToken, as Apple may for a token it takes as stale.
        self.expire_issued_before = 0.0
        self.provider_tokens: list[str] = []  # each distinct provider token, as first seen

    def answer(self, headers: dict[str, str], body: bytes) -> Answer:
        status, reason = self._check(headers, body)
        out = b"" if status == 200 else json.dumps({"reason": reason}).encode()
        token = headers.get(":path", "").removeprefix("/3/device/")
        return status, [("apns-id", secrets.token_hex(8)),
                        *_retry_after(self.retry_after, token, status)], out

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
            self.provider_tokens.append(auth[7:])
        issued = int(claims.get("iat", 0))
        if abs(time.time() - issued) > 3600 or issued < self.expire_issued_before:
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


class FakeFcm(FakeH2):
    PROJECT = "momentic-test"
    SEND = f"/v1/projects/{PROJECT}/messages:send"

    def __init__(self) -> None:
        super().__init__()
        self.public_key: RSAKey | None = None
        self.client_email = ""
        self.answers: dict[str, tuple[int, str]] = {}  # token -> (status, errorCode)
        self.retry_after: dict[str, str] = {}  # token -> Retry-After of its non-200 answers
        self.received: list[dict[str, Any]] = []
        self.token_requests = 0
        self.issued: set[str] = set()
        self.token_url = ""
        self.token_error: int | None = None  # the token endpoint answers this, in plain text
        self.token_retry_after: str | None = None  # with token_error: its Retry-After
        self.token_refusal: tuple[int, dict[str, Any]] | None = None  # status, OAuth error
        self.token_hold: asyncio.Event | None = None  # no answer until it is set
        self.token_posts = 0
        self.token_expires_in: Any = 3599  # the token's "expires_in" (None: left out)
        self._runner: web.AppRunner | None = None

    def account(self) -> dict[str, Any]:
        account = service_account(f"{self.token_url}/token")
        self.public_key = RSAKey.import_key(account["private_key"])
        self.client_email = account["client_email"]
        return account

    async def start(
        self, port: int = 0, *, tls: ssl.SSLContext | None = None, token_port: int = 0
    ) -> Self:
        app = web.Application()
        app.router.add_post("/token", self._token)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", token_port)
        await site.start()
        token_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.token_url = f"http://127.0.0.1:{token_port}"
        await super().start(port, tls=tls)
        return self

    async def stop(self) -> None:
        if self.token_hold is not None:
            self.token_hold.set()
        await super().stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _token(self, request: web.Request) -> web.Response:
        self.token_posts += 1
        form = await request.post()
        if self.token_hold is not None:
            await self.token_hold.wait()
        if self.token_error is not None:
            headers = ({} if self.token_retry_after is None
                       else {"Retry-After": self.token_retry_after})
            return web.Response(status=self.token_error, text="<html>Bad Gateway</html>",
                                content_type="text/html", headers=headers)
        if self.token_refusal is not None:
            return web.json_response(self.token_refusal[1], status=self.token_refusal[0])
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        assert self.public_key is not None
        try:
            token = jwt.decode(str(form.get("assertion", "")), self.public_key,
                               algorithms=["RS256"])
        except Exception:
            return web.json_response({"error": "invalid_grant",
                                      "error_description": "Invalid JWT Signature."},
                                     status=400)
        c = token.claims
        if (c.get("iss") != self.client_email or c.get("aud") != f"{self.token_url}/token"
                or c.get("scope") != "https://www.googleapis.com/auth/firebase.messaging"
                or int(c.get("exp", 0)) < time.time()):
            return web.json_response({"error": "invalid_grant"}, status=400)
        self.token_requests += 1
        access = secrets.token_urlsafe(24)
        self.issued.add(access)
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer"}
        if self.token_expires_in is not None:
            answer["expires_in"] = self.token_expires_in
        return web.json_response(answer)

    def answer(self, headers: dict[str, str], body: bytes) -> Answer:
        status, out = self._send(headers, body)
        try:
            token = str(json.loads(body)["message"]["token"])
        except (ValueError, KeyError, TypeError):
            token = ""
        return status, [("content-type", "application/json; charset=UTF-8"),
                        *_retry_after(self.retry_after, token, status)], \
            json.dumps(out).encode()

    def _send(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        auth = headers.get("authorization", "")
        path = headers.get(":path", "")
        if headers.get(":method") != "POST" or path != self.SEND:  # another project too
            return 404, {"error": {"code": 404, "status": "NOT_FOUND"}}
        if not auth.startswith("Bearer ") or auth[7:] not in self.issued:
            return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}
        if not headers.get("content-type", "").startswith("application/json"):
            return 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT"}}
        message = json.loads(body)["message"]
        status, code = self.answers.get(message["token"], (200, ""))
        if status != 200:
            return status, {"error": {
                "code": status, "status": code,
                "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                             "errorCode": code}]}}
        self.received.append(message)
        return 200, {"name": f"projects/{self.PROJECT}/messages/1"}


def _retry_after(values: dict[str, str], token: str, status: int) -> list[tuple[str, str]]:
    value = values.get(token)
    return [] if value is None or status == 200 else [("retry-after", value)]
