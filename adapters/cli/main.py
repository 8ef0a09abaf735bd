"""``momentic``: serve the API, apply migrations, manage users.

Run ``momentic --help`` for the commands. Settings come from MOMENTIC_* variables.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import attrs
from aiohttp import web
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from adapters import logs
from adapters.config import Settings
from adapters.container import Backend, migrate
from adapters.http.app import HttpOptions, Services, create_app
from momentic_core.errors import MomenticError
from momentic_core.model.accounts import Role
from momentic_core.model.ranking import RankingWeights

log = logging.getLogger("momentic")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "memory", False):
        overrides["memory"] = True
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return Settings.from_env(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    backend = Backend(settings, workers=settings.inprocess_worker)
    app = create_app(
        backend,
        HttpOptions(
            max_body_bytes=settings.max_body_bytes, trusted_proxies=settings.trusted_proxies
        ),
    )
    base = f"http://{settings.host}:{settings.port}"

    async def announce(app: web.Application) -> None:
        mail = (
            f"SMTP {settings.smtp_host}:{settings.smtp_port}"
            if settings.smtp_host
            else "verification codes appear in this log (no SMTP configured)"
        )
        if settings.memory:
            store = "in memory (nothing is kept)"
        elif settings.database_url:
            store = "PostgreSQL at MOMENTIC_DATABASE_URL"
        else:
            store = f"embedded PostgreSQL in {settings.data_path}"
        print(
            f"\nMomentic is up.\n  API:   {base}/v1\n  Docs:  {base}/docs\n"
            f"  Data:  {store}\n  Mail:  {mail}\n",
            file=sys.stderr,
            flush=True,
        )

    app.on_startup.append(announce)
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run job workers alone (no HTTP) until SIGINT or SIGTERM."""

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with Backend(_settings(args), workers=True):
            log.info("worker started")
            await stop.wait()
        log.info("worker stopped")

    asyncio.run(run())
    return 0


def cmd_janitor(args: argparse.Namespace) -> int:
    """Sweep abandoned uploads and orphan blobs now."""

    async def run() -> dict[str, int]:
        backend = Backend(_settings(args))
        async with backend:
            return await (await backend.janitor()).run()

    counts = asyncio.run(run())
    print(
        f"removed {counts['uploads']} abandoned upload(s), {counts['blobs']} orphan blob(s), "
        f"{counts['snapshots']} expired ranking snapshot(s)"
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    applied = migrate(_settings(args))
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


def _with_services(args: argparse.Namespace, work: Callable[[Services], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with Backend(_settings(args)) as services:
            return await work(services)

    return asyncio.run(run())


def cmd_users_create(args: argparse.Namespace) -> int:
    password = args.password or getpass.getpass("Password: ")
    user = _with_services(
        args, lambda s: s.accounts.create_user(args.email, password, Role(args.role))
    )
    print(f"created user {user.id} <{user.email}> nickname={user.nickname} role={user.role}")
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    async def work(s: Services) -> Any:
        user = await s.accounts.find_by_email(args.email)
        return await s.accounts.set_role(user.id, Role(args.role))

    user = _with_services(args, work)
    print(f"user {user.id} <{user.email}> is now {user.role}")
    return 0


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def cmd_ranking_recompute(args: argparse.Namespace) -> int:
    """Rebuild every rating from the rows, with a progress bar."""

    async def work(s: Services) -> int:
        with Progress(
            TextColumn("recomputing ratings"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), console=Console(stderr=True), disable=args.json,
        ) as progress:
            task = progress.add_task("ratings", total=None)

            def step(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await s.ranking.recompute_all(step)

    done = _with_services(args, work)
    if args.json:
        _print_json({"recomputed": done})
    else:
        print(f"recomputed {done} rating(s)")
    return 0


def cmd_ranking_weights(args: argparse.Namespace) -> int:
    """Show the rating weights, or change some (a recompute job then applies them)."""
    changes: dict[str, Any] = {}
    for item in args.set or []:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().lstrip("-").isdigit():
            print(f"error: --set takes name=integer, not {item!r}", file=sys.stderr)
            return 2
        changes[name.strip()] = int(value)

    async def work(s: Services) -> RankingWeights:
        if changes:
            return await s.ranking.set_weights(None, changes)
        return await s.ranking.weights(None)

    weights = _with_services(args, work)
    values = attrs.asdict(weights)
    if args.json:
        _print_json(values)
        return 0
    table = Table("weight", "points", title="rating weights")
    for name, points in values.items():
        table.add_row(name, str(points))
    Console().print(table)
    if changes:
        print("changed; a recompute job applies the new weights to every rating")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """The admin time series as a terminal table."""
    start = date.fromisoformat(args.start) if args.start else None
    end = date.fromisoformat(args.end) if args.end else None
    points = _with_services(args, lambda s: s.stats.series(None, start, end, args.interval))
    rows = [attrs.asdict(p) for p in points]
    if args.json:
        _print_json(rows)
        return 0
    columns = list(attrs.fields_dict(type(points[0])) if points else [])
    table = Table(*columns, title=f"statistics by {args.interval}")
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    Console().print(table)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="momentic", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HTTP API (applies migrations first)")
    serve.add_argument("--memory", action="store_true", help="use in-memory adapters")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    work = sub.add_parser("worker", help="run background job workers (no HTTP)")
    work.set_defaults(func=cmd_worker)

    jan = sub.add_parser("janitor", help="remove abandoned uploads and orphan blobs now")
    jan.set_defaults(func=cmd_janitor)

    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.set_defaults(func=cmd_migrate)

    users = sub.add_parser("users", help="manage users").add_subparsers(
        dest="users_command", required=True
    )
    create = users.add_parser("create", help="create a verified user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prompted for when omitted")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.USER.value)
    create.set_defaults(func=cmd_users_create)
    set_role = users.add_parser("set-role", help="change a user's role")
    set_role.add_argument("--email", required=True)
    set_role.add_argument("--role", choices=[r.value for r in Role], required=True)
    set_role.set_defaults(func=cmd_users_set_role)

    ranking = sub.add_parser("ranking", help="ratings and their weights").add_subparsers(
        dest="ranking_command", required=True
    )
    recompute = ranking.add_parser("recompute", help="rebuild every rating from the rows")
    recompute.add_argument("--json", action="store_true", help="machine-readable output")
    recompute.set_defaults(func=cmd_ranking_recompute)
    weights = ranking.add_parser("weights", help="show or change the rating weights")
    weights.add_argument(
        "--set", action="append", metavar="NAME=POINTS",
        help="change one weight (repeatable), e.g. --set heart=3",
    )
    weights.add_argument("--json", action="store_true", help="machine-readable output")
    weights.set_defaults(func=cmd_ranking_weights)

    stats = sub.add_parser("stats", help="users, activity, uploads, reactions, comments")
    stats.add_argument("--from", dest="start", metavar="YYYY-MM-DD")
    stats.add_argument("--to", dest="end", metavar="YYYY-MM-DD")
    stats.add_argument("--interval", choices=["day", "week"], default="day")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(func=cmd_stats)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    try:
        return int(args.func(args))
    except MomenticError as exc:
        print(f"error: {exc.detail} ({exc.code})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

