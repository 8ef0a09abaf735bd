"""Settings, read from ``MOMENTIC_*`` environment variables.

Every field documents itself (``env``, ``help``); the README table and the docker files
are checked against this list by tests. Nothing here connects to anything.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

# MOMENTIC_* variables read by the test suite and the benchmarks, never by the server.
TOOL_VARIABLES = frozenset(
    {"MOMENTIC_TEST_DATABASE_URL", "MOMENTIC_SCREENSHOT", "MOMENTIC_BENCH_ADMIN_URL"}
)


class ConfigError(SystemExit):
    """A setting that cannot be used. Raised from ``Settings`` itself, so every entry
    point refuses it before anything starts; as a SystemExit, ``momentic`` prints the
    one-line message (no traceback) and exits with status 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _setting(
    default: Any, help: str, choices: Mapping[str, str] | None = None
) -> Any:
    """``choices`` maps every accepted spelling (lower case; matched case-insensitively)
    to the canonical value; the canonical values are the only ones a Settings holds."""
    metadata: dict[str, Any] = {"help": help}
    if choices is not None:
        metadata["choices"] = dict(choices)
    return attrs.field(default=default, metadata=metadata)


def _env_name(field: attrs.Attribute[Any]) -> str:
    return "MOMENTIC_" + field.name.upper()


@attrs.frozen
class Settings:
    database_url: str = _setting(
        "", "PostgreSQL URL (postgresql://user:pass@host:5432/db). Empty: the embedded server."
    )
    database_replica_urls: str = _setting(
        "", "Comma-separated PostgreSQL URLs of streaming replicas of MOMENTIC_DATABASE_URL "
        "(hot standbys). Feed, video, profile and search reads go to them, round robin, "
        "skipping one that is down or lags; a user who just wrote reads from the primary "
        "until a replica has replayed that write. Empty: every read on the primary."
    )
    database_replica_sticky_seconds: float = _setting(
        10.0, "After a user's write, their reads wait this long at most for a replica that "
        "has replayed it (reading from the primary meanwhile). Kept per process: another "
        "instance or worker knows nothing of it and serves what its replicas have."
    )
    database_replica_max_lag_seconds: float = _setting(
        30.0, "A replica whose replay is further behind than this (the age of its last "
        "replayed transaction while received WAL waits) serves no read until it catches up."
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
    smtp_security: str = _setting(
        "starttls", "none (plain text: a local relay only), starttls (upgrade on connect, "
        "port 587) or tls (TLS from the first byte, port 465; ssl and smtps mean the same), "
        "in any case. Anything else is refused at startup.",
        choices={"none": "none", "starttls": "starttls", "start_tls": "starttls",
                 "start-tls": "starttls", "tls": "tls", "ssl": "tls", "smtps": "tls"},
    )
    mail_from: str = _setting("Momentic <no-reply@momentic.app>", "Sender of outgoing mail.")
    google_client_ids: str = _setting("", "Comma-separated Google OAuth client ids (aud).")
    apple_client_ids: str = _setting("", "Comma-separated Apple service/bundle ids (aud).")
    google_jwks_url: str = _setting(
        "https://www.googleapis.com/oauth2/v3/certs", "Google's signing keys."
    )
    apple_jwks_url: str = _setting("https://appleid.apple.com/auth/keys", "Apple's signing keys.")
    storage: str = _setting(
        "", "Blob storage: s3, local or memory. Empty: s3 when MOMENTIC_S3_BUCKET is set, "
        "memory with MOMENTIC_MEMORY, else local files under data_dir/media.",
        choices={"": "", "s3": "s3", "local": "local", "memory": "memory"},
    )
    s3_bucket: str = _setting("", "S3 bucket for media (checked at startup).")
    s3_endpoint_url: str = _setting(
        "", "S3 endpoint (MinIO, R2, moto: http://host:9000). Empty: AWS."
    )
    s3_public_endpoint_url: str = _setting(
        "", "Endpoint put in presigned URLs when clients reach S3 by another host than "
        "the app (compose: http://localhost:8333). Empty: s3_endpoint_url."
    )
    s3_region: str = _setting("us-east-1", "S3 region.")
    s3_access_key_id: str = _setting("", "S3 access key. Empty: the default AWS chain.")
    s3_secret_access_key: str = _setting("", "S3 secret key.")
    media_base_url: str = _setting(
        "", "Base URL of the CDN in front of the media bucket (its edge: docs/cdn). Avatars "
        "become base + key (stored immutable); every file of every video is served at an "
        "expiring token path, base/s/<exp>/<sig>/<key>, which the edge verifies with "
        "MOMENTIC_MEDIA_EDGE_KEY. Empty: the store's expiring signed URLs."
    )
    media_edge_key: str = _setting(
        "", "HMAC key of media token paths, shared with the CDN's edge (its EDGE_KEY "
        "secret; at least 32 characters). Empty: derived from MOMENTIC_SECRET, so only "
        "the app's own /media route verifies them."
    )
    media_url_ttl_seconds: int = _setting(
        3600,
        "Lifetime of the URLs of public media (public ready videos, avatars). Rounded to a "
        "quarter of it (at most 5 minutes) so each is valid for at least three quarters.",
    )
    media_private_url_ttl_seconds: int = _setting(
        600,
        "Lifetime of the URLs of every other video's files (friends-only, a private "
        "account's, a moment once open): how long a URL already handed out keeps working "
        "after an unfriend, a block or a switch to friends-only. Rounded like the above.",
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
    job_stop_grace_seconds: float = _setting(
        20.0, "On SIGTERM a running job may finish for this long; then it is stopped and "
        "handed back (queued, due now), so another worker takes it at once. 0: at once."
    )
    bereal_lock: bool = _setting(
        True, "Friends' moments stay locked until I post after their moment (at most 24 h)."
    )
    staff_mfa_required: bool = _setting(
        False, "Admins and moderators must enrol in two-factor authentication before staff "
        "routes answer them (403 mfa_enrolment_required); an admin setting overrides it."
    )
    report_threshold: int = _setting(
        3, "Distinct reports that hide a video or comment until a moderator decides."
    )
    for_you_completion_weight: float = _setting(
        0.0, "Weight of completion (the share of a video's views watched to the end) in the "
        "For-You score, 0 to 100; 0 leaves it out. An admin setting overrides it."
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
        True, "The daily moment (and its second reminder) is pushed during a user's quiet "
        "hours too (off: it is not)."
    )
    moment_reminder: bool = _setting(
        False, "A second push when the moment's window closes, to those who have not posted "
        "for it (the moment's switch and quiet-hours rule apply). An admin setting overrides "
        "it."
    )
    push_concurrency: int = _setting(
        100, "Pushes a delivery job has in flight at once (HTTP/2 streams on one connection "
        "per service); also the most a killed worker can send twice."
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
    metrics_token: str = _setting(
        "", "Bearer token a Prometheus scrape of /metrics must send. Empty: /metrics answers "
        "only clients connected from the loopback address (404 to anyone else)."
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
    log_level: str = _setting(
        "INFO", "DEBUG, INFO, WARNING or ERROR, in any case.",
        choices={"debug": "DEBUG", "info": "INFO", "warning": "WARNING", "error": "ERROR"},
    )
    log_format: str = _setting(
        "json", "json (one object per line) or text.",
        choices={"json": "json", "text": "text"},
    )
    container: bool = _setting(
        False, "Set by the Docker image: the process runs in a container, whose files are "
        "lost with it, so the embedded database is refused there."
    )
    allow_embedded_database: bool = _setting(
        False, "Let the embedded database start (no MOMENTIC_DATABASE_URL) although the "
        "process runs in the container image or binds a non-loopback address; off, that "
        "is refused at startup (a misspelt or forgotten database URL must not lose data)."
    )

    def __attrs_post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ConfigError("; ".join(problems))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        known = {_env_name(field) for field in attrs.fields(cls)}
        for name in sorted(env):
            if name.startswith("MOMENTIC_") and name not in known | TOOL_VARIABLES:
                suffixes = sorted(known_name[len("MOMENTIC_"):] for known_name in known)
                close = difflib.get_close_matches(name[len("MOMENTIC_"):], suffixes, n=1)
                hint = f" (did you mean MOMENTIC_{close[0]}?)" if close else ""
                raise ConfigError(f"{name}: no such setting{hint}")
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
    choices = field.metadata.get("choices")
    if choices is not None:
        canonical = choices.get(raw.strip().lower())
        if canonical is None:
            raise ConfigError(f"{_env_name(field)}: {raw!r} is not one of {_listed(field)}")
        return canonical
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
        raise ConfigError(f"{_env_name(field)}: cannot read {raw!r} as {kind.__name__}") from None


def _listed(field: attrs.Attribute[Any]) -> str:
    values = dict.fromkeys(v for v in field.metadata["choices"].values() if v)
    return ", ".join(values)


# (setting, smallest allowed value): counts, sizes and durations that must be positive
# (1) or may be zero (0, which the setting's help gives a meaning).
_AT_LEAST: dict[str, float] = {
    "http_workers": 0, "db_pool_min": 1, "db_pool_max": 1, "db_timeout_seconds": 0.001,
    "access_token_ttl_seconds": 1, "session_ttl_days": 1, "refresh_grace_seconds": 0,
    "media_url_ttl_seconds": 1, "media_private_url_ttl_seconds": 1,
    "max_video_bytes": 1, "max_video_seconds": 0.001,
    "job_lease_seconds": 0.001, "job_stop_grace_seconds": 0,
    "report_threshold": 1, "moment_window_seconds": 1,
    "argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1,
    "trusted_proxies": 0, "hsts_seconds": 0, "rate_limit_multiplier": 0.001,
    "max_body_bytes": 1, "keepalive_timeout_seconds": 0.001, "listen_backlog": 1,
    "body_timeout_seconds": 0, "body_min_rate": 0, "push_concurrency": 1,
    "database_replica_sticky_seconds": 0, "database_replica_max_lag_seconds": 0.001,
}
# URL settings and the schemes each accepts (an empty value means "not set").
_SCHEMES: dict[str, tuple[str, ...]] = {
    "database_url": ("postgres", "postgresql"),
    "public_url": ("http", "https"),
    "google_jwks_url": ("http", "https"),
    "apple_jwks_url": ("http", "https"),
    "s3_endpoint_url": ("http", "https"),
    "s3_public_endpoint_url": ("http", "https"),
    "media_base_url": ("http", "https"),
}


def _problems(s: Settings) -> list[str]:
    """Every reason ``s`` cannot run, one short sentence each naming its variable."""
    problems: list[str] = []
    fields = {f.name: f for f in attrs.fields(Settings)}

    def bad(name: str, why: str) -> None:
        problems.append(f"{_env_name(fields[name])}: {why}")

    for f in fields.values():
        choices = f.metadata.get("choices")
        if choices is not None and getattr(s, f.name) not in choices.values():
            bad(f.name, f"{getattr(s, f.name)!r} is not one of {_listed(f)}")
    for name, least in _AT_LEAST.items():
        value = getattr(s, name)
        if isinstance(value, bool) or value < least:
            bad(name, f"{value!r} is below {least:g}")
    for name in ("port", "smtp_port"):
        if not 1 <= getattr(s, name) <= 65535:
            bad(name, f"{getattr(s, name)!r} is not a port (1-65535)")
    if s.db_pool_max < s.db_pool_min:
        bad("db_pool_max", f"{s.db_pool_max} is below MOMENTIC_DB_POOL_MIN ({s.db_pool_min})")
    if not 0 <= s.moment_start_hour < s.moment_end_hour <= 24:
        bad("moment_start_hour", f"moment hours {s.moment_start_hour}..{s.moment_end_hour} "
            "are not 0 <= MOMENTIC_MOMENT_START_HOUR < MOMENTIC_MOMENT_END_HOUR <= 24")
    for name, schemes in _SCHEMES.items():
        value = getattr(s, name)
        if value and not _url_ok(value, schemes):
            bad(name, f"{_redacted(value)!r} is not a {' or '.join(schemes)} URL with a host")
    if s.media_edge_key and len(s.media_edge_key) < 32:
        bad("media_edge_key", "is shorter than 32 characters")
    for url in Settings.split(s.database_replica_urls):
        if not _url_ok(url, _SCHEMES["database_url"]):
            bad("database_replica_urls", f"{_redacted(url)!r} is not a postgres or postgresql "
                "URL with a host")
    if s.database_replica_urls.strip() and s.memory:
        bad("database_replica_urls", "replicas need PostgreSQL, not MOMENTIC_MEMORY")
    if s.storage == "s3" and not s.s3_bucket:
        bad("storage", "s3 needs MOMENTIC_S3_BUCKET")
    if not s.memory and not s.database_url and not s.allow_embedded_database:
        if s.container:
            bad("database_url", "not set, and the embedded database is refused in the "
                "container image (its data would be lost with the container); set "
                "MOMENTIC_DATABASE_URL, or MOMENTIC_ALLOW_EMBEDDED_DATABASE=1")
        elif not _loopback(s.host):
            bad("database_url", f"not set, and the embedded database is refused when "
                f"serving on {s.host} (not loopback); set MOMENTIC_DATABASE_URL, or "
                "MOMENTIC_ALLOW_EMBEDDED_DATABASE=1")
    return problems


def _url_ok(value: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    if parts.scheme.lower() not in schemes:
        return False
    # libpq reads a socket directory from ?host=; every other URL needs a host.
    return bool(parts.netloc) or "host=" in parts.query


def _redacted(url: str) -> str:
    """``url`` without its password, fit for an error message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def documented_settings() -> list[tuple[str, Any, str]]:
    """(environment variable, default, help) for every setting."""
    return [(_env_name(f), f.default, f.metadata["help"]) for f in attrs.fields(Settings)]
