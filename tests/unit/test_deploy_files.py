"""The deploy files (docker-compose.yml, Dockerfile, README.md) agree with ``Settings``.

They are read as text and YAML only: nothing here needs a Docker engine.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from adapters.config import Settings, documented_settings

ROOT = Path(__file__).resolve().parents[2]
SETTING_NAMES = {env for env, _default, _help in documented_settings()}
PORT = Settings().port


# --- docker-compose.yml --------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def _container_ports(service: dict[str, Any]) -> set[int]:
    ports: set[int] = set()
    for item in service.get("ports") or []:
        if isinstance(item, dict):
            ports.add(int(item["target"]))
        else:
            ports.add(int(str(item).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _words(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(part) for part in value)
    return "" if value is None else str(value)


def test_compose_has_every_service(services: dict[str, dict[str, Any]]) -> None:
    assert {"app", "db", "s3", "createbuckets", "mailpit", "cloudflared"} <= set(services)


_PIN = re.compile(r"(?P<name>[a-z0-9][a-z0-9./_-]*):(?P<tag>[A-Za-z0-9._-]+)"
                  r"@(?P<digest>sha256:[0-9a-f]{64})")
# A version tag, never a floating one (latest, 16, stable, 3.11-slim).
_VERSION_TAG = re.compile(r"v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)*")


def _pinned(image: str) -> re.Match[str]:
    match = _PIN.fullmatch(image)
    assert match, f"{image}: not NAME:TAG@sha256:DIGEST"
    assert _VERSION_TAG.fullmatch(match["tag"]), f"{image}: not a version tag"
    return match


def test_every_image_is_pinned_by_tag_and_digest(services: dict[str, dict[str, Any]]) -> None:
    """Tag and index digest (README "Image pins"), so a re-pushed tag changes nothing."""
    for service in services.values():
        if "build" not in service:
            _pinned(service["image"])


def test_no_minio_image(services: dict[str, dict[str, Any]]) -> None:
    """MinIO's Docker Hub images are gone: the S3 server is a maintained one."""
    for service in services.values():
        assert "minio" not in str(service.get("image", "")), service


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        assert not check.get("disable", False), name
        assert _words(check.get("test")).strip(), f"{name} has no healthcheck test"


def test_app_sets_only_existing_settings(services: dict[str, dict[str, Any]]) -> None:
    names = {name for name in _environment(services["app"]) if name.startswith("MOMENTIC_")}
    assert names, "app sets no MOMENTIC_* variable"
    unknown = names - SETTING_NAMES
    assert not unknown, f"not in adapters/config.py Settings: {sorted(unknown)}"


def test_app_never_runs_the_embedded_database(services: dict[str, dict[str, Any]]) -> None:
    env = _environment(services["app"])
    assert urlsplit(env["MOMENTIC_DATABASE_URL"]).scheme == "postgresql"
    assert "MOMENTIC_ALLOW_EMBEDDED_DATABASE" not in env
    assert "MOMENTIC_MEMORY" not in env


def test_app_requires_its_secrets_from_the_environment(
    services: dict[str, dict[str, Any]],
) -> None:
    env = _environment(services["app"])
    for name in ("MOMENTIC_SECRET", "MOMENTIC_JWT_PRIVATE_KEY"):
        assert env.get(name, "").startswith("${" + name + ":?"), name


def _unless_set(value: str) -> str:
    """What compose puts for ``${NAME:-default}`` when .env does not set NAME."""
    match = re.fullmatch(r"\$\{[A-Z0-9_]+:-(.*)\}", value)
    return match.group(1) if match else value


def test_app_talks_to_the_compose_services(services: dict[str, dict[str, Any]]) -> None:
    env = _environment(services["app"])
    assert urlsplit(env["MOMENTIC_DATABASE_URL"]).hostname == "db"
    # Mailpit unless .env names a real SMTP server (README step 3).
    assert _unless_set(env["MOMENTIC_SMTP_HOST"]) == "mailpit"
    assert _unless_set(env["MOMENTIC_SMTP_PORT"]) == "1025"
    assert _unless_set(env["MOMENTIC_SMTP_SECURITY"]) == "none"
    for name in ("MOMENTIC_SMTP_HOST", "MOMENTIC_SMTP_PORT", "MOMENTIC_SMTP_SECURITY",
                 "MOMENTIC_SMTP_USERNAME", "MOMENTIC_SMTP_PASSWORD", "MOMENTIC_MAIL_FROM"):
        assert env[name].startswith("${" + name + ":-"), name
    defaults = {name: _unless_set(value) for name, value in env.items()
                if name.startswith("MOMENTIC_SMTP_") or name == "MOMENTIC_MAIL_FROM"}
    assert Settings.from_env(defaults).smtp_host == "mailpit"  # the defaults load
    assert urlsplit(env["MOMENTIC_S3_ENDPOINT_URL"]).hostname == "s3"


def test_behind_a_tunnel_the_urls_and_proxies_come_from_the_environment(
    services: dict[str, dict[str, Any]],
) -> None:
    """PUBLIC_URL, the media URL phones get and the proxy count are the operator's."""
    env = _environment(services["app"])
    for name in ("MOMENTIC_PUBLIC_URL", "MOMENTIC_S3_PUBLIC_ENDPOINT_URL",
                 "MOMENTIC_TRUSTED_PROXIES"):
        assert env[name].startswith("${" + name + ":-"), name


def test_tracing_is_off_until_the_operator_names_an_endpoint(
    services: dict[str, dict[str, Any]],
) -> None:
    from adapters import tracing

    env = _environment(services["app"])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"
    unset = {name: "" if value.startswith("${") and value.endswith(":-}") else value
             for name, value in env.items() if name.startswith("OTEL_")}
    assert tracing.exporters(unset) == ()
    runtime = (ROOT / "requirements" / "runtime.txt").read_text(encoding="utf-8")
    assert "\nopentelemetry-sdk==" in runtime, "the image lacks the tracing extra"


def test_app_publishes_the_settings_port(services: dict[str, dict[str, Any]]) -> None:
    assert PORT == 8080
    assert PORT in _container_ports(services["app"])


def test_app_waits_for_a_healthy_database(services: dict[str, dict[str, Any]]) -> None:
    assert _depends_on(services["app"]).get("db") == "service_healthy"


def _seconds(value: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)([hms])", value))


def test_app_stops_gracefully_after_a_transcode(services: dict[str, dict[str, Any]]) -> None:
    """Longer than the longest job: a 60 s video's transcode, about a minute here."""
    assert _seconds(services["app"]["stop_grace_period"]) >= 2 * Settings().max_video_seconds


def test_the_tunnel_profile_runs_cloudflared_with_a_token(
    services: dict[str, dict[str, Any]],
) -> None:
    tunnel = services["cloudflared"]
    assert tunnel["image"].startswith("cloudflare/cloudflared:")
    assert tunnel["profiles"] == ["tunnel"]
    assert "run" in _words(tunnel["command"]).split()
    assert _environment(tunnel)["TUNNEL_TOKEN"].startswith("${CLOUDFLARE_TUNNEL_TOKEN:?")
    assert _depends_on(tunnel).get("app") == "service_healthy"
    assert _depends_on(tunnel).get("s3") == "service_healthy"
    assert "ports" not in tunnel  # outbound only
    # Everything else runs without the profile.
    assert [n for n, s in services.items() if s.get("profiles")] == ["cloudflared"]


@pytest.mark.parametrize(("name", "mount"), [("db", "/var/lib/postgresql/data"),
                                              ("s3", "/data"), ("mailpit", "/data"),
                                              ("app", "/var/lib/momentic")])
def test_state_lives_on_named_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]], name: str, mount: str
) -> None:
    volumes = dict(str(v).split(":", 1) for v in services[name].get("volumes") or [])
    assert mount in volumes.values(), name
    named = {source for source, target in volumes.items() if target == mount}
    assert named & set(compose.get("volumes") or {}), f"{name} keeps no named volume"


def test_only_loopback_ports_are_published(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for item in service.get("ports") or []:
            assert str(item).startswith("127.0.0.1:"), f"{name}: {item}"


def test_db_is_postgres_16_checked_with_pg_isready(services: dict[str, dict[str, Any]]) -> None:
    assert services["db"]["image"].startswith("postgres:16")
    assert "pg_isready" in _words(services["db"]["healthcheck"]["test"])


def test_bucket_service_creates_the_media_bucket(services: dict[str, dict[str, Any]]) -> None:
    job = services["createbuckets"]
    assert job["image"] == services["s3"]["image"]
    assert _depends_on(job).get("s3") == "service_healthy"
    script = _words(job.get("entrypoint")) + " " + _words(job.get("command"))
    assert re.search(r"s3\.bucket\.create -name momentic-media\b", script), script
    assert _depends_on(services["app"]).get("createbuckets") == (
        "service_completed_successfully"
    )


def test_the_s3_credentials_agree(compose: dict[str, Any], services: dict[str, dict[str, Any]]
                                  ) -> None:
    env = _environment(services["app"])
    identities = compose["configs"]["s3-identities"]["content"]
    assert env["MOMENTIC_S3_ACCESS_KEY_ID"] in identities
    assert env["MOMENTIC_S3_SECRET_ACCESS_KEY"] in identities


def test_mailpit_serves_its_ui(services: dict[str, dict[str, Any]]) -> None:
    assert services["mailpit"]["image"].split(":")[0] == "axllent/mailpit"
    assert 8025 in _container_ports(services["mailpit"])


# --- Dockerfile -----------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with comments dropped and continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            result.append((keyword.upper(), args.strip()))
    return result


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return _instructions()


def _args(dockerfile: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for kw, args in dockerfile if kw == keyword]


def _exec_form(args: str) -> list[str]:
    if args.startswith("["):
        parsed = json.loads(args)
        assert isinstance(parsed, list)
        return [str(part) for part in parsed]
    return args.split()


def _base_images(dockerfile: list[tuple[str, str]]) -> list[str]:
    """Each stage's FROM image, with the ARGs declared before the first FROM put in."""
    first_from = next(i for i, (kw, _) in enumerate(dockerfile) if kw == "FROM")
    defaults = dict(args.split("=", 1) for kw, args in dockerfile[:first_from] if kw == "ARG")
    return [re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], args.split()[0])
            for args in _args(dockerfile, "FROM")]


def test_dockerfile_is_multi_stage_on_one_pinned_slim_base(
    dockerfile: list[tuple[str, str]],
) -> None:
    images = _base_images(dockerfile)
    assert len(images) >= 2, "expected a builder and a runtime stage"
    assert len(set(images)) == 1, images
    pin = _pinned(images[-1])
    assert pin["name"] == "python", images
    assert re.fullmatch(r"3\.11\.\d+-slim-bookworm", pin["tag"]), images


# --- scripts/pin_images.sh ---------------------------------------------------------------


def _image_pins(services: dict[str, dict[str, Any]]) -> set[str]:
    images = {s["image"] for s in services.values() if "build" not in s}
    return images | set(_base_images(_instructions()))


_FAKE_DOCKER = """#!/usr/bin/env bash
# `docker buildx imagetools inspect REF` from $FAKE_REGISTRY's lines
# "REF MEDIATYPE DIGEST PLATFORM...", printed as imagetools prints them.
[[ "$1 $2 $3" == "buildx imagetools inspect" ]] || exit 1
[[ $4 == --help ]] && exit 0
line=$(grep -F -- "$4 " "$FAKE_REGISTRY") || { echo "$4: not found" >&2; exit 1; }
set -- $line
printf 'Name:      %s\\nMediaType: %s\\nDigest:    %s\\n\\nManifests:\\n' "$1" "$2" "$3"
shift 3
for platform in "$@"; do
  printf '  Name:      x\\n  MediaType: m\\n  Platform:  %s\\n\\n' "$platform"
done
"""
_INDEX = "application/vnd.oci.image.index.v1+json"
_OTHER = "sha256:" + "e" * 64


def _run_pin_images(tmp_path: Path, registry: list[str], *args: str
                    ) -> subprocess.CompletedProcess[str]:
    """scripts/pin_images.sh on a copy of the deploy files, against a fake registry."""
    for name in ("docker-compose.yml", "Dockerfile", "scripts/pin_images.sh"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(_FAKE_DOCKER, encoding="utf-8")
    (bin_dir / "docker").chmod(0o755)
    (tmp_path / "registry").write_text("\n".join(registry) + "\n", encoding="utf-8")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_REGISTRY": str(tmp_path / "registry")}
    return subprocess.run(["bash", str(tmp_path / "scripts" / "pin_images.sh"), *args],
                          capture_output=True, text=True, env=env, check=False)


def _registry(pins: set[str], moved: str = "", digest: str = _OTHER) -> list[str]:
    lines = []
    for pin in sorted(pins):
        match = _pinned(pin)
        tagged, by_digest = f"{match['name']}:{match['tag']}", f"{match['name']}@{match['digest']}"
        now = digest if pin == moved else match["digest"]
        lines += [f"{by_digest} {_INDEX} {match['digest']} linux/amd64 linux/arm64",
                  f"{tagged} {_INDEX} {now} linux/amd64 linux/arm64"]
    return lines


def test_pin_images_checks_every_pin(services: dict[str, dict[str, Any]], tmp_path: Path
                                     ) -> None:
    pins = _image_pins(services)
    done = _run_pin_images(tmp_path, _registry(pins))
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(line.split()[1] for line in done.stdout.splitlines()) == sorted(pins)
    assert all(line.startswith("OK ") for line in done.stdout.splitlines()), done.stdout


def test_pin_images_reports_a_moved_tag_and_updates_it(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    pins = _image_pins(services)
    moved = services["db"]["image"]
    done = _run_pin_images(tmp_path, _registry(pins, moved))
    assert done.returncode == 1
    assert f"MOVED  {moved.split('@')[0]} now points at {_OTHER}" in done.stdout
    assert moved in (tmp_path / "docker-compose.yml").read_text(encoding="utf-8")

    done = subprocess.run(["bash", str(tmp_path / "scripts" / "pin_images.sh"), "--update"],
                          capture_output=True, text=True, check=False,
                          env={"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
                               "FAKE_REGISTRY": str(tmp_path / "registry")})
    assert done.returncode == 0, done.stdout + done.stderr
    compose = (tmp_path / "docker-compose.yml").read_text(encoding="utf-8")
    assert moved not in compose
    assert f"{moved.split('@')[0]}@{_OTHER}" in compose


def test_pin_images_refuses_a_single_platform_digest(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    pins = _image_pins(services)
    single = services["mailpit"]["image"]
    name, digest = single.split(":")[0], single.split("@")[1]
    registry = [line for line in _registry(pins) if not line.startswith(f"{name}@")]
    registry.append(f"{name}@{digest} application/vnd.oci.image.manifest.v1+json {digest}")
    done = _run_pin_images(tmp_path, registry)
    assert done.returncode == 1
    assert f"SINGLE {single}" in done.stdout


def test_dockerfile_runs_momentic_serve_as_non_root(dockerfile: list[tuple[str, str]]) -> None:
    keywords = [kw for kw, _ in dockerfile]
    cmd_at = len(keywords) - 1 - keywords[::-1].index("CMD")
    users = [args for kw, args in dockerfile[:cmd_at] if kw == "USER"]
    assert users, "no USER before CMD"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert _exec_form(dockerfile[cmd_at][1]) == ["momentic", "serve"]


def test_dockerfile_health_checks_healthz(dockerfile: list[tuple[str, str]]) -> None:
    (check,) = _args(dockerfile, "HEALTHCHECK")
    assert "/healthz" in check
    assert "urllib" in check


def test_dockerfile_exposes_the_settings_port(dockerfile: list[tuple[str, str]]) -> None:
    exposed = {
        int(port.split("/")[0]) for args in _args(dockerfile, "EXPOSE") for port in args.split()
    }
    assert exposed == {PORT}


def test_dockerfile_binds_all_interfaces_and_sets_only_settings(
    dockerfile: list[tuple[str, str]],
) -> None:
    env = dict(
        pair.split("=", 1)
        for args in _args(dockerfile, "ENV")
        for pair in args.split()
        if "=" in pair
    )
    assert env.get("MOMENTIC_HOST") == "0.0.0.0"
    unknown = {name for name in env if name.startswith("MOMENTIC_")} - SETTING_NAMES
    assert not unknown, f"not in adapters/config.py Settings: {sorted(unknown)}"


def test_dockerfile_ships_the_migrations(dockerfile: list[tuple[str, str]]) -> None:
    assert any(re.search(r"\bmigrations\b", args) for args in _args(dockerfile, "COPY"))


def test_dockerfile_installs_the_locked_runtime_and_the_wheel(
    dockerfile: list[tuple[str, str]],
) -> None:
    runs = " ".join(_args(dockerfile, "RUN"))
    assert "--require-hashes -r requirements/runtime.txt" in runs
    assert "pip wheel --no-deps --no-build-isolation" in runs
    assert "pip install --no-deps /wheels/" in runs
    assert " -e " not in runs, "an editable install in the image"
    copied = " ".join(_args(dockerfile, "COPY"))
    assert "--from=builder /opt/venv /opt/venv" in copied
    assert "--from=builder /app" not in copied and "/src" not in copied.split("--from")[-1]


def _pip_installs(command: str) -> list[str]:
    parts = re.split(r"&&|;|\n", command)
    return [part for part in parts if re.search(r"\bpip install\b", part)]


def _recipe(target: str = "$(STAMP)") -> str:
    """The recipe of a make target; `$(STAMP)`: what `make run` and `make test` install,
    `$(BENCH_STAMP)`: what make bench and soak add, `$(MUTATION_STAMP)`: make mutation."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(target + ":"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line)
    return "\n".join(recipe)


_LOCKS = {"$(LOCK)": "dev.txt", "$(BUILD_LOCK)": "build.txt", "$(BENCH_LOCK)": "bench.txt",
          "$(MUTATION_LOCK)": "mutation.txt"}


@pytest.mark.parametrize("where", ["Dockerfile", "$(STAMP)", "$(BENCH_STAMP)",
                                   "$(MUTATION_STAMP)"],
                         ids=["image", "make bootstrap", "make bench", "make mutation"])
def test_every_install_is_pinned_by_hash(where: str) -> None:
    # pip, setuptools and the project's build tools included: nothing unpinned is fetched,
    # so a new upstream release cannot change a build (requirements/build.txt pins them).
    if where != "Dockerfile":
        text = _recipe(where)
    else:
        text = re.sub(r"\\\n", " ", (ROOT / where).read_text(encoding="utf-8"))
    installs = _pip_installs(text)
    assert installs, f"no pip install in {where}"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for install in installs:
        pinned = "--require-hashes -r requirements/" in install
        for variable, lock in _LOCKS.items():
            if f"--require-hashes -r {variable}" in install:
                assert re.search(rf"^{re.escape(variable[2:-1])} := requirements/{lock}$",
                                 makefile, re.M), variable
                pinned = True
        local = "--no-deps" in install and ("/wheels/" in install or "-e ." in install)
        assert pinned or local, f"unpinned install in {where}: {install.strip()}"
        if "-e ." in install:
            assert "--no-build-isolation" in install, "an isolated build fetches setuptools"
    assert "--upgrade pip" not in text


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.M))


@pytest.mark.parametrize(("lock", "extra"), [("bench.txt", "k6"), ("mutation.txt", "mutmut")])
def test_the_bench_and_mutation_locks_add_to_the_dev_lock(lock: str, extra: str) -> None:
    """make bench and make mutation install their lock over .venv's: every package the
    dev lock has, at its version, so they change nothing that make test runs on."""
    dev, pins = _pins("dev.txt"), _pins(lock)
    assert extra in pins
    changed = {name: (version, pins.get(name)) for name, version in dev.items()
               if pins.get(name) != version}
    assert not changed, f"{lock} and dev.txt disagree: {changed}; run make lock"


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "var", ".git"} <= ignored


# --- README.md ------------------------------------------------------------------------


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_settings_table_matches_settings() -> None:
    printed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_table.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    text = _readme()
    assert text.count("<!-- settings:start -->") == 1
    assert text.count("<!-- settings:end -->") == 1
    block = text.split("<!-- settings:start -->\n", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert block == printed, "README table is stale: run python scripts/settings_table.py --update"
    for name in SETTING_NAMES:
        assert f"`{name}`" in block


def test_readme_starts_with_make_run_and_make_test() -> None:
    text = _readme()
    configuration = text.index("## Configuration")
    assert -1 < text.find("make run") < configuration
    assert -1 < text.find("make test") < configuration
    assert text.find("make run") < text.find("make test")


def test_readme_links_nothing_outside_the_repository() -> None:
    text = _readme()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith("#"):
            continue
        assert "://" not in target, target
        resolved = (ROOT / target.split("#", 1)[0]).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), target
    for url in re.findall(r"<(https?://[^>]+)>", text):
        assert urlsplit(url).hostname in ("localhost", "127.0.0.1"), url


def test_readme_says_each_thing_once() -> None:
    assert _readme().count("- **Mail.**") == 1


def test_readme_says_where_each_pin_was_read(services: dict[str, dict[str, Any]]) -> None:
    section = _readme().split("### Image pins", 1)[1].split("\n#", 1)[0]
    table = {row.split("|")[1].strip().split()[0].strip("`")
             for row in section.splitlines() if row.startswith("| `")}
    pinned = {pin.split("@")[0] for pin in _image_pins(services)}
    assert table == pinned, "README Image pins rows and the pinned NAME:TAGs differ"
    assert "scripts/pin_images.sh" in section


def test_readme_walks_from_a_fresh_server_to_the_tunnel() -> None:
    text = _readme()
    section = text[text.index("## Production with docker-compose"):]
    section = section[: section.index("\n## ", 5)]
    for needle in ("CLOUDFLARE_TUNNEL_TOKEN", "MOMENTIC_PUBLIC_URL=https://",
                   "MOMENTIC_S3_PUBLIC_ENDPOINT_URL=https://", "MOMENTIC_TRUSTED_PROXIES=1",
                   "--profile tunnel up", "momentic users create", "/readyz"):
        assert needle in section, needle
