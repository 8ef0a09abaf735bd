"""Settings refuse what they cannot run with, with one line naming the variable (issue 18).

``Settings`` validates itself, so these hold for ``from_env`` and direct construction alike.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from adapters.config import TOOL_VARIABLES, ConfigError, Settings, documented_settings

# What every case below starts from: a database, so the embedded-database rule stays out.
BASE = {"MOMENTIC_DATABASE_URL": "postgresql://momentic@db:5432/momentic"}


def _load(**env: str) -> Settings:
    return Settings.from_env(BASE | env)


def _refusal(**env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(**env)
    message = caught.value.message
    assert "\n" not in message
    assert str(caught.value.code) == message  # what SystemExit prints, alone, on stderr
    return message


def test_defaults_and_the_documented_values_load() -> None:
    assert Settings() == Settings.from_env({})
    assert _load().database_url == BASE["MOMENTIC_DATABASE_URL"]


# --- enumerations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "meant"),
    [("starttls", "starttls"), ("STARTTLS", "starttls"), (" StartTLS ", "starttls"),
     ("start_tls", "starttls"), ("TLS", "tls"), ("ssl", "tls"), ("SMTPS", "tls"),
     ("none", "none"), ("None", "none")],
)
def test_smtp_security_spellings_mean_one_thing(raw: str, meant: str) -> None:
    assert _load(MOMENTIC_SMTP_SECURITY=raw).smtp_security == meant


@pytest.mark.parametrize("raw", ["", "start-ssl", "plain", "yes", "STARTTLS1", "tls1.2"])
def test_any_other_smtp_security_is_refused(raw: str) -> None:
    message = _refusal(MOMENTIC_SMTP_SECURITY=raw)
    assert message.startswith("MOMENTIC_SMTP_SECURITY: ")
    assert "none, starttls, tls" in message


def test_smtp_security_is_refused_on_direct_construction_too() -> None:
    with pytest.raises(ConfigError, match="MOMENTIC_SMTP_SECURITY"):
        Settings(smtp_security="STARTTLS")


@pytest.mark.parametrize(("raw", "meant"), [("debug", "DEBUG"), ("Warning", "WARNING"),
                                            ("ERROR", "ERROR"), ("info", "INFO")])
def test_log_level_in_any_case(raw: str, meant: str) -> None:
    assert _load(MOMENTIC_LOG_LEVEL=raw).log_level == meant


@pytest.mark.parametrize(
    ("name", "raw"),
    [("MOMENTIC_LOG_LEVEL", "verbose"), ("MOMENTIC_LOG_LEVEL", "warn"),
     ("MOMENTIC_LOG_FORMAT", "yaml"), ("MOMENTIC_STORAGE", "gcs"),
     ("MOMENTIC_STORAGE", "disk")],
)
def test_unknown_enumerated_values_are_refused(name: str, raw: str) -> None:
    assert _refusal(**{name: raw}).startswith(f"{name}: {raw!r} is not one of ")


def test_storage_s3_needs_a_bucket() -> None:
    assert _refusal(MOMENTIC_STORAGE="S3") == "MOMENTIC_STORAGE: s3 needs MOMENTIC_S3_BUCKET"
    assert _load(MOMENTIC_STORAGE="S3", MOMENTIC_S3_BUCKET="media").storage == "s3"


# --- URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["mysql://root@db/momentic", "sqlite:///var/db", "db:5432/momentic",
            "postgresql://", "http://db:5432"],
)
def test_the_database_url_must_be_postgres(url: str) -> None:
    assert _refusal(MOMENTIC_DATABASE_URL=url).startswith("MOMENTIC_DATABASE_URL: ")


def test_the_database_url_is_not_echoed_with_its_password() -> None:
    message = _refusal(MOMENTIC_DATABASE_URL="mysql://root:hunter2@db/momentic")
    assert "hunter2" not in message and "***" in message


@pytest.mark.parametrize(
    "url", ["postgres://u:p@db/momentic", "POSTGRESQL://db/momentic",
            "postgresql://postgres:@/momentic?host=/tmp/some dir"],
)
def test_postgres_urls_and_socket_urls_load(url: str) -> None:
    assert _load(MOMENTIC_DATABASE_URL=url).database_url == url


@pytest.mark.parametrize(
    "urls", ["mysql://db/momentic", "postgresql://r1/momentic,replica2:5432",
             "postgresql://r1/momentic,postgresql://"],
)
def test_every_replica_url_must_be_postgres(urls: str) -> None:
    message = _refusal(MOMENTIC_DATABASE_REPLICA_URLS=urls)
    assert message.startswith("MOMENTIC_DATABASE_REPLICA_URLS: ")


def test_a_replica_url_is_not_echoed_with_its_password() -> None:
    message = _refusal(MOMENTIC_DATABASE_REPLICA_URLS="postgresql://r0/m,mysql://u:hunter2@r1/m")
    assert "hunter2" not in message


def test_replica_urls_load_as_a_list() -> None:
    settings = _load(MOMENTIC_DATABASE_REPLICA_URLS=" postgresql://r1/m , postgres://u:p@r2:5433/m")
    assert Settings.split(settings.database_replica_urls) == (
        "postgresql://r1/m", "postgres://u:p@r2:5433/m")


def test_replicas_need_postgresql() -> None:
    message = _refusal(MOMENTIC_MEMORY="1", MOMENTIC_DATABASE_REPLICA_URLS="postgresql://r1/m")
    assert "MOMENTIC_MEMORY" in message


@pytest.mark.parametrize(
    "name", ["MOMENTIC_PUBLIC_URL", "MOMENTIC_MEDIA_BASE_URL", "MOMENTIC_S3_ENDPOINT_URL",
             "MOMENTIC_S3_PUBLIC_ENDPOINT_URL", "MOMENTIC_GOOGLE_JWKS_URL"],
)
@pytest.mark.parametrize("url", ["ftp://media.example.com", "media.example.com", "https://"])
def test_http_urls_must_be_http_or_https_with_a_host(name: str, url: str) -> None:
    assert _refusal(**{name: url}).startswith(f"{name}: ")


# --- numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"), [("21", "9"), ("9", "9"), ("-1", "9"), ("9", "25")],
)
def test_impossible_moment_hours_are_refused(start: str, end: str) -> None:
    message = _refusal(MOMENTIC_MOMENT_START_HOUR=start, MOMENTIC_MOMENT_END_HOUR=end)
    assert message.startswith("MOMENTIC_MOMENT_START_HOUR: moment hours")


def test_the_whole_day_is_a_possible_moment_window() -> None:
    settings = _load(MOMENTIC_MOMENT_START_HOUR="0", MOMENTIC_MOMENT_END_HOUR="24")
    assert (settings.moment_start_hour, settings.moment_end_hour) == (0, 24)


@pytest.mark.parametrize(
    ("name", "raw"),
    [("MOMENTIC_MAX_VIDEO_BYTES", "0"), ("MOMENTIC_MAX_BODY_BYTES", "-1"),
     ("MOMENTIC_MAX_VIDEO_SECONDS", "0"), ("MOMENTIC_DB_POOL_MAX", "0"),
     ("MOMENTIC_JOB_LEASE_SECONDS", "-5"), ("MOMENTIC_TRUSTED_PROXIES", "-1"),
     ("MOMENTIC_MEDIA_URL_TTL_SECONDS", "0"), ("MOMENTIC_RATE_LIMIT_MULTIPLIER", "0"),
     ("MOMENTIC_PORT", "0"), ("MOMENTIC_PORT", "70000"), ("MOMENTIC_SMTP_PORT", "0")],
)
def test_sizes_counts_and_durations_out_of_range_are_refused(name: str, raw: str) -> None:
    assert _refusal(**{name: raw}).startswith(f"{name}: {raw}")


def test_a_pool_smaller_than_its_minimum_is_refused() -> None:
    message = _refusal(MOMENTIC_DB_POOL_MIN="5", MOMENTIC_DB_POOL_MAX="4")
    assert message == "MOMENTIC_DB_POOL_MAX: 4 is below MOMENTIC_DB_POOL_MIN (5)"


def test_unreadable_numbers_and_booleans_are_refused() -> None:
    assert _refusal(MOMENTIC_PORT="eighty") == "MOMENTIC_PORT: cannot read 'eighty' as int"
    assert _refusal(MOMENTIC_MEMORY="maybe") == "MOMENTIC_MEMORY: cannot read 'maybe' as bool"


def test_several_problems_are_named_on_one_line() -> None:
    message = _refusal(MOMENTIC_MOMENT_END_HOUR="30", MOMENTIC_MAX_VIDEO_BYTES="0")
    assert message.startswith("MOMENTIC_MAX_VIDEO_BYTES: 0 is below 1; ")
    assert "; MOMENTIC_MOMENT_START_HOUR: moment hours 9..30" in message


# --- unknown variables ----------------------------------------------------------------


def test_a_misspelt_variable_is_refused_with_a_suggestion() -> None:
    message = _refusal(MOMENTIC_DATABSE_URL="postgresql://db/momentic")
    assert message == (
        "MOMENTIC_DATABSE_URL: no such setting (did you mean MOMENTIC_DATABASE_URL?)"
    )


def test_an_unknown_variable_is_refused_even_when_nothing_is_close() -> None:
    assert _refusal(MOMENTIC_ZZZ="1") == "MOMENTIC_ZZZ: no such setting"


def test_other_prefixes_and_the_tool_variables_are_left_alone() -> None:
    env = dict.fromkeys(TOOL_VARIABLES, "x") | {"MOMENTICX": "1", "POSTGRES_PASSWORD": "p"}
    assert _load(**env) == _load()
    # The tool variables are read by tests and benchmarks, so they cannot be settings.
    assert not TOOL_VARIABLES & {env for env, _d, _h in documented_settings()}


def test_the_standard_otel_variables_are_not_settings_and_are_accepted() -> None:
    # Tracing (adapters/tracing.py) reads them; the settings neither refuse nor read them.
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
           "OTEL_TRACES_EXPORTER": "otlp", "OTEL_SERVICE_NAME": "momentic-api",
           "OTEL_SDK_DISABLED": "false", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
           "OTEL_TRACES_SAMPLER_ARG": "0.1", "OTEL_RESOURCE_ATTRIBUTES": "env=prod"}
    assert _load(**env) == _load()


def test_every_setting_has_its_variable() -> None:
    for env, default, _help in documented_settings():
        raw = {True: "1", False: "0"}.get(default, str(default)) if default != "" else ""
        if env == "MOMENTIC_DATABASE_URL":
            continue
        assert _load(**{env: raw}) == _load(), env


# --- the embedded database ------------------------------------------------------------


def test_the_embedded_database_is_refused_in_the_container_image() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"MOMENTIC_CONTAINER": "1", "MOMENTIC_HOST": "0.0.0.0"})
    assert caught.value.message.startswith(
        "MOMENTIC_DATABASE_URL: not set, and the embedded database is refused in the "
        "container image"
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "momentic.example.com"])
def test_the_embedded_database_is_refused_on_a_public_address(host: str) -> None:
    with pytest.raises(ConfigError, match=r"^MOMENTIC_DATABASE_URL: .* \(not loopback\)"):
        Settings.from_env({"MOMENTIC_HOST": host})


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_the_embedded_database_serves_loopback(host: str) -> None:
    assert Settings.from_env({"MOMENTIC_HOST": host}).host == host


@pytest.mark.parametrize(
    "env",
    [{"MOMENTIC_CONTAINER": "1", "MOMENTIC_ALLOW_EMBEDDED_DATABASE": "1"},
     {"MOMENTIC_HOST": "0.0.0.0", "MOMENTIC_ALLOW_EMBEDDED_DATABASE": "true"},
     {"MOMENTIC_CONTAINER": "1", "MOMENTIC_HOST": "0.0.0.0", "MOMENTIC_MEMORY": "1"},
     {"MOMENTIC_CONTAINER": "1", "MOMENTIC_HOST": "0.0.0.0", **BASE}],
)
def test_allowed_explicitly_or_with_no_embedded_database_at_all(env: dict[str, str]) -> None:
    Settings.from_env(env)


def test_evolve_checks_again() -> None:
    settings: Any = _load()
    with pytest.raises(ConfigError, match="MOMENTIC_LOG_FORMAT"):
        attrs.evolve(settings, log_format="xml")
