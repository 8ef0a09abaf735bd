"""Settings, read from ``MOMENTIC_*`` environment variables.

Every field documents itself (``env``, ``help``); the README table and the docker files
are checked against this list by tests. Nothing here connects to anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs


def _setting(default: Any, help: str) -> Any:
    return attrs.field(default=default, metadata={"help": help})


def _env_name(field: attrs.Attribute[Any]) -> str:
    return "MOMENTIC_" + field.name.upper()


@attrs.frozen
class Settings:
    database_url: str = _setting(
        "", "PostgreSQL URL (postgresql://user:pass@host:5432/db). Empty: the embedded server."
    )
    memory: bool = _setting(False, "Run on in-memory adapters (nothing is kept).")
    data_dir: str = _setting("var", "Where the embedded default keeps its database and keys.")
    host: str = _setting("127.0.0.1", "Address the HTTP server binds to.")
    port: int = _setting(8080, "Port the HTTP server listens on.")
    http_workers: int = _setting(
        1,
        "HTTP worker processes sharing the port (SO_REUSEPORT); 0: one per CPU core. "
        "With memory set, always 1.",
    )
    public_url: str = _setting("http://127.0.0.1:8080", "The API's external base URL.")
    db_pool_min: int = _setting(2, "Smallest database pool size per process.")
    db_pool_max: int = _setting(10, "Largest database pool size per process.")
    db_timeout_seconds: float = _setting(5.0, "Timeout of one database command.")
    secret: str = _setting(
        "", "Server secret for hashing codes. Empty: generated under data_dir (dev only)."
    )
    jwt_private_key: str = _setting(
        "", "PEM of the P-256 key that signs access tokens. Empty: generated under data_dir."
    )
    jwt_issuer: str = _setting("momentic", "The iss claim of access tokens.")
    jwt_audience: str = _setting("momentic-api", "The aud claim of access tokens.")
    access_token_ttl_seconds: int = _setting(900, "Lifetime of an access token.")
    session_ttl_days: int = _setting(60, "A session unused this long can no longer refresh.")
    refresh_grace_seconds: float = _setting(
        10.0, "A spent refresh token presented again this soon after its first use (a double "
        "submit, an answer lost on a flaky network) gets the same successor again, while "
        "that successor is unused, instead of closing the session (RFC 9700 4.14.2). Later, "
        "or once the successor was used, it is a reuse: the session is revoked. 0: no grace."
    )
    allowed_email_domains: str = _setting(
        "", "Comma-separated email domains allowed to register, case-insensitive: bsu.by "
        "admits bsu.by only (not sub.bsu.by), *.bsu.by every subdomain of it (not bsu.by "
        "itself), * any domain. Empty: any. Admins override it at run time (an empty list "
        "is refused there; null restores this one)."
    )
    smtp_host: str = _setting("", "SMTP server. Empty: mail (codes) is written to the log.")
    smtp_port: int = _setting(587, "SMTP port.")
    smtp_username: str = _setting("", "SMTP login, if the server wants one.")
    smtp_password: str = _setting("", "SMTP password.")
    smtp_security: str = _setting("starttls", "none, starttls or tls.")
    mail_from: str = _setting("Momentic <no-reply@momentic.app>", "Sender of outgoing mail.")
    google_client_ids: str = _setting("", "Comma-separated Google OAuth client ids (aud).")
    apple_client_ids: str = _setting("", "Comma-separated Apple service/bundle ids (aud).")
    google_jwks_url: str = _setting(
        "https://www.googleapis.com/oauth2/v3/certs", "Google's signing keys."
    )
    apple_jwks_url: str = _setting("https://appleid.apple.com/auth/keys", "Apple's signing keys.")
    storage: str = _setting(
        "", "Blob storage: s3, local or memory. Empty: s3 when MOMENTIC_S3_BUCKET is set, "
        "memory with MOMENTIC_MEMORY, else local files under data_dir/media."
    )
    s3_bucket: str = _setting("", "S3 bucket for media (checked at startup).")
    s3_endpoint_url: str = _setting(
        "", "S3 endpoint (MinIO, R2, moto: http://host:9000). Empty: AWS."
    )
    s3_public_endpoint_url: str = _setting(
        "", "Endpoint put in presigned URLs when clients reach S3 by another host than "
        "the app (compose: http://localhost:9000). Empty: s3_endpoint_url."
    )
    s3_region: str = _setting("us-east-1", "S3 region.")
    s3_access_key_id: str = _setting("", "S3 access key. Empty: the default AWS chain.")
    s3_secret_access_key: str = _setting("", "S3 secret key.")
    media_base_url: str = _setting(
        "", "Public base URL of the media bucket behind a CDN; URLs become base + key "
        "instead of expiring signed URLs."
    )
    media_url_ttl_seconds: int = _setting(
        3600,
        "Lifetime of signed media URLs. A key's URL is handed out again for a quarter of "
        "it (at most 5 minutes), so each is valid for at least three quarters.",
    )
    max_video_bytes: int = _setting(100_000_000, "Largest video upload.")
    max_video_seconds: float = _setting(60.0, "Longest video accepted.")
    inprocess_worker: bool = _setting(
        True, "momentic serve also runs a job worker (momentic worker runs them alone)."
    )
    job_lease_seconds: float = _setting(
        600.0, "How long a worker holds a job between renewals (it renews every third of "
        "this while the job runs); a job whose worker died is taken again once it passes."
    )
    bereal_lock: bool = _setting(
        True, "Friends' moments stay locked until I post after their moment (at most 24 h)."
    )
    report_threshold: int = _setting(
        3, "Distinct reports that hide a video or comment until a moderator decides."
    )
    max_devices_per_user: int = _setting(
        10, "Push devices (phones) one account may register; a further one is refused "
        "(409 too_many_devices) until one is removed. Published in GET /v1/config."
    )
    apns_key: str = _setting(
        "", "APNs token-auth key: the .p8 file's PEM text, or a path to the file. Empty: iOS "
        "pushes are written to the log."
    )
    apns_key_id: str = _setting("", "The APNs key's id (10 characters, Apple Developer).")
    apns_team_id: str = _setting("", "The Apple Developer team id (the JWT's iss).")
    apns_topic: str = _setting("", "The iOS app's bundle id (apns-topic).")
    apns_url: str = _setting("https://api.push.apple.com", "APNs for production builds.")
    apns_sandbox_url: str = _setting(
        "https://api.sandbox.push.apple.com", "APNs for development builds (sandbox)."
    )
    fcm_service_account: str = _setting(
        "", "Firebase service-account key: its JSON text, or a path to the file. Empty: "
        "Android pushes are written to the log."
    )
    fcm_url: str = _setting("https://fcm.googleapis.com", "The FCM HTTP v1 API.")
    push_timeout_seconds: float = _setting(10.0, "Timeout of one push request.")
    push_moment_ignores_quiet_hours: bool = _setting(
        True, "The daily moment is pushed during a user's quiet hours too (off: it is not)."
    )
    moment_start_hour: int = _setting(9, "The daily moment falls at or after this local hour.")
    moment_end_hour: int = _setting(21, "... and before this local hour.")
    moment_window_seconds: int = _setting(
        120, "A post this soon after the moment is on time; later ones are late."
    )
    argon2_time_cost: int = _setting(2, "argon2id passes.")
    argon2_memory_kib: int = _setting(19456, "argon2id memory in KiB.")
    argon2_parallelism: int = _setting(1, "argon2id lanes.")
    trusted_proxies: int = _setting(
        0, "How many proxies of yours stand in front (load balancer, Cloudflare...): the "
        "client IP is the X-Forwarded-For entry they added. 0: ignore the header."
    )
    cors_origins: str = _setting(
        "", "Comma-separated origins (https://app.example.com) that browsers may call the "
        "API from: exact matches get Access-Control-Allow-Origin and preflight answers. "
        "Empty: no CORS headers at all."
    )
    docs: bool = _setting(
        True, "Serve the API document at /openapi.json and Swagger UI at /docs (on for "
        "development). Off: both answer 404 like any unknown path, for a deployment that "
        "keeps its API description to itself."
    )
    hsts_seconds: int = _setting(
        0, "Strict-Transport-Security max-age sent on every response. Set it (e.g. 31536000) "
        "only when clients reach the app over HTTPS (TLS here or at the proxy). 0: no header."
    )
    redis_url: str = _setting(
        "", "Redis URL (redis://host:6379/0) for the rate-limit counters, shared exactly by "
        "every instance and worker. Empty: limits counted on every request (api:user, "
        "api:ip) are kept per worker process, so no read writes to the database, and the "
        "others (sign-ins, codes, writes) in PostgreSQL."
    )
    rate_limit_multiplier: float = _setting(
        1.0, "Scales every rate limit (tests and load benchmarks raise it)."
    )
    max_body_bytes: int = _setting(1_048_576, "Largest JSON request body.")
    keepalive_timeout_seconds: float = _setting(
        75.0, "An HTTP connection with no request in progress (kept alive, or just opened) "
        "is closed after this long; it is also the most time a client has to send a "
        "request's headers. Keep it above the idle timeout of the load balancer in front "
        "(AWS ALB: 60 s)."
    )
    listen_backlog: int = _setting(
        1024, "Connections the kernel holds for the server to accept (capped by "
        "net.core.somaxconn). Past it, a burst of new connections waits on SYN retries "
        "(1 s, 3 s, ...)."
    )
    body_timeout_seconds: float = _setting(
        20.0, "A request body must arrive within this long, plus 1 s for every "
        "MOMENTIC_BODY_MIN_RATE bytes received (Apache mod_reqtimeout's body=20,MinRate=500); "
        "a slower client is cut off (408, connection closed). 0: no limit."
    )
    body_min_rate: int = _setting(
        500, "Bytes per second a request body must keep up once its first "
        "MOMENTIC_BODY_TIMEOUT_SECONDS have passed (video uploads included)."
    )
    log_level: str = _setting("INFO", "DEBUG, INFO, WARNING or ERROR.")
    log_format: str = _setting("json", "json (one object per line) or text.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            raw = env.get(_env_name(field))
            if raw is None:
                continue
            values[field.name] = _parse(field, raw)
        values.update(overrides)
        return cls(**values)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    @staticmethod
    def split(value: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in value.split(",") if part.strip())


def _parse(field: attrs.Attribute[Any], raw: str) -> Any:
    kind: Any = type(field.default)
    try:
        if kind is bool:
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        return kind(raw)
    except ValueError:
        raise SystemExit(f"{_env_name(field)}: cannot read {raw!r} as {kind.__name__}") from None


def documented_settings() -> list[tuple[str, Any, str]]:
    """(environment variable, default, help) for every setting."""
    return [(_env_name(f), f.default, f.metadata["help"]) for f in attrs.fields(Settings)]
