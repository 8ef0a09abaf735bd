"""``momentic``: serve the API, apply migrations, manage users.

Run ``momentic --help`` for the commands. Settings come from MOMENTIC_* variables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import getpass
import json
import logging
import math
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

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

from adapters import logs, tracing
from adapters.config import Settings
from adapters.container import Composition, database_url, migrate, prepare_workers
from adapters.http.admin.views import AdminUserOut, SettingsOut
from adapters.http.app import create_app
from adapters.http.converter import unstructure
from adapters.http.keys import HttpOptions, Services
from adapters.http.metrics import forget_process, use_multiprocess
from adapters.http.moderation.views import CaseDetailOut, CaseOut
from adapters.http.views import AppealOut, AuditOut
from momentic_core.errors import MomenticError
from momentic_core.model.accounts import AccountStatus, Role, User
from momentic_core.model.moderation import (
    Action,
    AppealStatus,
    AuditFilter,
    Case,
    CaseFilter,
    CaseStatus,
    ReportReason,
    TargetType,
    UserFilter,
)
from momentic_core.model.ranking import RankingWeights
from momentic_core.model.videos import Backfill
from momentic_core.services.backfill import BATCH as BACKFILL_BATCH
from momentic_core.services.backfill import BackfillReport

log = logging.getLogger("momentic")

N = TypeVar("N", int, float)


def _number(parse: Callable[[str], N], what: str, ok: Callable[[N], bool]) -> Callable[[str], N]:
    """An argparse ``type``: ``parse`` the text and refuse what ``ok`` does not take (or a
    NaN or infinity) with "argument --x: '0' is not <what>" (argparse exits 2)."""

    def convert(text: str) -> N:
        value: N | None
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not ok(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return convert


positive_int = _number(int, "a whole number of at least 1", lambda n: n >= 1)
non_negative_int = _number(int, "a whole number of at least 0", lambda n: n >= 0)
positive_float = _number(float, "a number above 0", lambda n: n > 0)
non_negative_float = _number(float, "a number of at least 0", lambda n: n >= 0)
port_number = _number(int, "a port (1-65535)", lambda n: 1 <= n <= 65535)


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
    if getattr(args, "workers", None) is not None:
        settings = attrs.evolve(settings, http_workers=args.workers)
    count = settings.http_workers or os.cpu_count() or 1
    if settings.memory or count == 1:
        _serve(settings, job_worker=settings.inprocess_worker, announce=True, reuse_port=False)
        return 0
    return _supervise(prepare_workers(settings), count)


def _supervise(settings: Settings, count: int) -> int:
    """Fork ``count`` HTTP workers on one port (SO_REUSEPORT: the kernel spreads the
    connections), restart one that dies, and stop them all on SIGINT or SIGTERM. Only
    the first runs the in-process job worker."""
    stopping = False

    supervisor = os.getpid()

    def start(index: int) -> int:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                _die_with(supervisor)
                _serve(
                    settings,
                    job_worker=settings.inprocess_worker and index == 0,
                    announce=index == 0,
                    reuse_port=True,
                )
                code = 0
            except BaseException:
                log.exception("HTTP worker %d failed", index)
            finally:
                os._exit(code)
        return pid

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    # Every worker writes its metrics here; whichever answers a scrape adds them all up.
    metrics_dir = Path(tempfile.mkdtemp(prefix="momentic-metrics-"))
    use_multiprocess(metrics_dir)
    children = {start(index): index for index in range(count)}
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    log.info("HTTP workers started", extra={"workers": count, "pids": list(children)})
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        index = children.pop(pid, None)
        forget_process(pid)
        if index is None or stopping:
            continue
        log.error(
            "HTTP worker %d exited (status %d); starting another",
            index,
            os.waitstatus_to_exitcode(status),
        )
        time.sleep(1.0)
        if not stopping:
            children[start(index)] = index
    shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _die_with(parent: int) -> None:
    """Linux: SIGTERM this process when ``parent`` dies, even by SIGKILL, so no worker
    outlives its supervisor (PR_SET_PDEATHSIG; elsewhere nothing happens)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _serve(settings: Settings, *, job_worker: bool, announce: bool, reuse_port: bool) -> None:
    traced = tracing.start()  # per process (after the fork), before the app and its pool
    try:
        _serve_app(settings, job_worker=job_worker, announce=announce, reuse_port=reuse_port)
    finally:
        if traced is not None:
            traced.stop()  # what is left goes out


def _serve_app(
    settings: Settings, *, job_worker: bool, announce: bool, reuse_port: bool
) -> None:
    backend = Composition(settings, workers=job_worker)
    app = create_app(
        backend,
        HttpOptions(
            max_body_bytes=settings.max_body_bytes,
            trusted_proxies=settings.trusted_proxies,
            cors_origins=Settings.split(settings.cors_origins),
            hsts_seconds=settings.hsts_seconds,
            body_timeout_seconds=settings.body_timeout_seconds,
            body_min_rate=settings.body_min_rate,
            docs=settings.docs,
            metrics_token=settings.metrics_token,
        ),
    )
    base = f"http://{settings.host}:{settings.port}"

    async def say_up(app: web.Application) -> None:
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
        docs = f"{base}/docs" if settings.docs else "off (MOMENTIC_DOCS)"
        print(
            f"\nMomentic is up.\n  API:   {base}/v1\n  Docs:  {docs}\n"
            f"  Data:  {store}\n  Mail:  {mail}\n",
            file=sys.stderr,
            flush=True,
        )

    async def freeze(app: web.Application) -> None:
        # What start-up made (modules, the OpenAPI document, pools) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise stall the
        # event loop for ~100 ms every few seconds under load (bench/social.py).
        gc.freeze()

    if announce:
        app.on_startup.append(say_up)
    app.on_startup.append(freeze)
    _raise_open_files_limit()
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        keepalive_timeout=settings.keepalive_timeout_seconds,
        backlog=settings.listen_backlog,
        reuse_port=reuse_port,
        print=None,
        access_log=None,
        loop=_new_loop(),
    )


def _raise_open_files_limit() -> None:
    """Every connection, idle ones too, holds a file descriptor: raise the soft limit on
    open files (often 1024, e.g. under systemd) to the hard one, so a few thousand idle
    clients cannot make accept() fail (EMFILE) for everyone else."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):  # e.g. an unlimited hard limit the kernel will not take
        log.warning("could not raise the open files limit", extra={"soft": soft, "hard": hard})


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # Windows: the standard loop
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def cmd_worker(args: argparse.Namespace) -> int:
    """Run job workers alone (no HTTP) until SIGINT or SIGTERM."""

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with Composition(_settings(args), workers=True):
            log.info("worker started")
            await stop.wait()
        log.info("worker stopped")

    traced = tracing.start()
    try:
        asyncio.run(run())
    finally:
        if traced is not None:
            traced.stop()
    return 0


def cmd_janitor(args: argparse.Namespace) -> int:
    """Sweep abandoned uploads and orphan blobs now."""

    async def run() -> dict[str, int]:
        backend = Composition(_settings(args))
        async with backend:
            janitor = await backend.janitor()
            if args.min_age_seconds is not None:
                janitor.min_age = timedelta(seconds=args.min_age_seconds)
            return await janitor.run()

    counts = asyncio.run(run())
    print(
        f"removed {counts['uploads']} abandoned upload(s), {counts['blobs']} orphan blob(s), "
        f"{counts['snapshots']} expired ranking snapshot(s)"
    )
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    """Fill in what videos stored before a migration lack, in batches, with a progress
    bar (services.backfill); stopped and run again, it goes on where it was."""
    what = Backfill(args.what)

    async def run() -> BackfillReport:
        backend = Composition(_settings(args))
        async with backend:
            backfills = await backend.backfills()
            with Progress(
                TextColumn(_BACKFILL_LABELS[what]), BarColumn(), MofNCompleteColumn(),
                TimeRemainingColumn(), console=Console(stderr=True), disable=args.json,
            ) as progress:
                task = progress.add_task(what.value, total=None)

                def step(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                return await backfills.run(what, step, args.batch)

    report = asyncio.run(run())
    if args.json:
        _print_json(unstructure(report))
        return 0
    if what is Backfill.SEARCH:
        print(f"indexed {report.done} video(s) for search")
    elif what is Backfill.HLS:
        print(f"queued HLS packaging for {report.done} video(s)"
              + (f"; {report.already} already queued" if report.already else "")
              + ("; the job workers (momentic worker) package them" if report.done else ""))
        if report.failed:
            print(f"  skipped {report.failed} video(s) whose MP4 would not package "
                  "(videos.hls_error): they keep playing as MP4")
    else:
        print(f"hashed {report.done} video(s)")
        for dup in report.duplicates:
            print(f"  video {dup.video_id} left unhashed: the same file as video "
                  f"{dup.kept_video_id} (author {dup.author_id})")
        if report.missing:
            print("  no stored file (left unhashed): video(s) "
                  + ", ".join(map(str, report.missing)))
    return 0


_BACKFILL_LABELS = {
    Backfill.SEARCH: "indexing descriptions",
    Backfill.HLS: "queueing HLS packaging",
    Backfill.HASHES: "hashing stored originals",
}


def cmd_migrate(args: argparse.Namespace) -> int:
    action = getattr(args, "migrate_command", None) or "up"
    if action == "up":
        applied = migrate(_settings(args))
        print(f"applied {len(applied)} migration(s)"
              + (": " + ", ".join(applied) if applied else ""))
        return 0
    from adapters.postgres.migrate import migration_status, rollback_latest

    url = database_url(_settings(args))
    if action == "status":
        rows = migration_status(url)
        if args.json:
            _print_json([{"id": mid, "applied": done} for mid, done in rows])
        else:
            for mid, done in rows:
                print(f"{'applied' if done else 'pending'}  {mid}")
            print(f"{sum(a for _m, a in rows)} applied, {sum(not a for _m, a in rows)} pending")
        return 0
    if not args.yes:
        print("error: rollback drops what those migrations made (tables, columns, their "
              "data); run it again with --yes", file=sys.stderr)
        return 2
    undone = rollback_latest(url, args.count)
    print(f"rolled back {len(undone)} migration(s)" + (": " + ", ".join(undone) if undone else ""))
    return 0


def _with_services(args: argparse.Namespace, work: Callable[[Services], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with Composition(_settings(args)) as services:
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
    async def work(s: Services) -> tuple[User, User]:
        user = await s.accounts.find_by_email(args.email)
        return user, await s.accounts.set_role(user.id, Role(args.role))

    before, user = _with_services(args, work)
    print(f"user {user.id} <{user.email}> is now {user.role}")
    if user.token_version != before.token_version:
        print(f"a demotion from {before.role}: signed out of every device")
    elif user.role is not before.role:
        print("their sessions go on; their next request has the new role")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """Users by id, as the operator (emails included), with the filters of
    GET /v1/admin/users; --after pages on from a user id."""
    where = UserFilter(query=args.query, role=args.role, status=args.status)

    async def work(s: Services) -> list[AdminUserOut]:
        rows = await s.moderation.users(None, where, args.after, args.limit)
        return [AdminUserOut.of(row, s.media_url) for row in rows]

    users = _with_services(args, work)
    if args.json:
        _print_json(unstructure(users))
        return 0
    table = Table("id", "email", "nickname", "role", "status", "verified", "strikes",
                  "created", title="users")
    for u in users:
        status = u.status + (f" until {u.suspended_until.isoformat()}"
                             if u.suspended_until else "")
        table.add_row(str(u.id), u.email or "", u.nickname, u.role, status,
                      "yes" if u.email_verified else "no", str(u.strikes),
                      u.created_at.isoformat(timespec="seconds"))
    Console().print(table)
    return 0


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _account_line(user: User) -> str:
    until = f" until {user.suspended_until.isoformat()}" if user.suspended_until else ""
    return f"user {user.id} <{user.email}> is now {user.status}{until}"


def cmd_users_ban(args: argparse.Namespace) -> int:
    """Ban (or with --days, suspend) an account at once, as the operator (audited)."""

    async def work(s: Services) -> User:
        user = await s.accounts.find_by_email(args.email)
        if args.days is None:
            return await s.moderation.ban(None, user.id, args.reason)
        return await s.moderation.suspend(None, user.id, args.reason, timedelta(days=args.days))

    print(_account_line(_with_services(args, work)))
    return 0


def cmd_users_unban(args: argparse.Namespace) -> int:
    async def work(s: Services) -> User:
        user = await s.accounts.find_by_email(args.email)
        return await s.moderation.unban(None, user.id, args.reason)

    print(_account_line(_with_services(args, work)))
    return 0


def cmd_cases_list(args: argparse.Namespace) -> int:
    """The moderation queue: most reports first, then the oldest."""
    where = CaseFilter(
        status=None if args.status == "all" else CaseStatus(args.status),
        reason=ReportReason(args.reason) if args.reason else None,
        target_type=TargetType(args.target_type) if args.target_type else None,
    )

    async def work(s: Services) -> list[CaseDetailOut]:
        views = await s.moderation.cases(None, where, None, args.limit)
        return [CaseDetailOut.of(v, s.media_url) for v in views]

    cases = _with_services(args, work)
    if args.json:
        _print_json(unstructure(cases))
        return 0
    table = Table("case", "target", "owner", "reports", "reasons", "held", "status",
                  "assignee", "opened", title=f"cases ({args.status})")
    for c in cases:
        owner = c.target.owner.nickname if c.target and c.target.owner else str(c.owner_id)
        status = c.status if c.action is None else f"{c.status}: {c.action}"
        table.add_row(
            str(c.id), f"{c.target_type} {c.target_id}", owner, str(c.report_count),
            ", ".join(c.reasons), "yes" if c.held else "", status,
            str(c.assignee_id or ""), c.opened_at.isoformat(timespec="seconds"),
        )
    Console().print(table)
    return 0


def cmd_cases_resolve(args: argparse.Namespace) -> int:
    """Decide a case as the operator: the audit trail shows no actor (null)."""
    duration = None
    if args.duration_seconds is not None:
        duration = timedelta(seconds=args.duration_seconds)

    async def work(s: Services) -> Case:
        return await s.moderation.resolve(None, args.id, args.action, args.reason, duration)

    case = _with_services(args, work)
    if args.json:
        _print_json(unstructure(CaseOut.of(case)))
    else:
        print(f"case {case.id} resolved: {case.action} ({case.decision_reason})")
    return 0


def cmd_cases_show(args: argparse.Namespace) -> int:
    """One case as GET /v1/mod/cases/{id} shows it: the content and every report."""

    async def work(s: Services) -> CaseDetailOut:
        return CaseDetailOut.of(await s.moderation.case(None, args.id), s.media_url)

    _print_json(unstructure(_with_services(args, work)))
    return 0


def cmd_appeals_list(args: argparse.Namespace) -> int:
    """Appeals by id, as GET /v1/mod/appeals."""
    status = None if args.status == "all" else AppealStatus(args.status)

    async def work(s: Services) -> list[AppealOut]:
        found = await s.moderation.appeals(None, status, args.after, args.limit)
        return [AppealOut.of(a) for a in found]

    appeals = _with_services(args, work)
    if args.json:
        _print_json(unstructure(appeals))
        return 0
    table = Table("appeal", "case", "user", "status", "body", "created",
                  title=f"appeals ({args.status})")
    for a in appeals:
        table.add_row(str(a.id), str(a.case_id), str(a.user_id), a.status, a.body,
                      a.created_at.isoformat(timespec="seconds"))
    Console().print(table)
    return 0


def cmd_appeals_decide(args: argparse.Namespace) -> int:
    """Accept or reject an appeal as the operator (the audit shows no actor)."""

    async def work(s: Services) -> AppealOut:
        return AppealOut.of(await s.moderation.decide_appeal(
            None, args.id, args.decision == "accept", args.reason))

    appeal = _with_services(args, work)
    if args.json:
        _print_json(unstructure(appeal))
    else:
        print(f"appeal {appeal.id} {appeal.status} ({appeal.decision_reason})")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """The audit trail, newest first, with the filters of GET /v1/admin/audit; --before
    pages on from an entry id."""
    where = AuditFilter(actor_id=args.actor, action=args.action,
                        target_type=args.target_type, target_id=args.target_id)

    async def work(s: Services) -> list[AuditOut]:
        found = await s.moderation.audit(None, where, args.before, args.limit)
        return [AuditOut.of(e) for e in found]

    entries = _with_services(args, work)
    if args.json:
        _print_json(unstructure(entries))
        return 0
    table = Table("entry", "when", "actor", "action", "target", "reason", title="audit")
    for e in entries:
        target = f"{e.target_type} {e.target_id}" if e.target_type else ""
        table.add_row(str(e.id), e.created_at.isoformat(timespec="seconds"),
                      "operator" if e.actor_id is None else str(e.actor_id), e.action, target,
                      e.reason or "")
    Console().print(table)
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    """Show the runtime settings, or change some (NAME=JSON; null resets one)."""
    changes: dict[str, Any] = {}
    for item in getattr(args, "assignments", None) or []:
        name, sep, raw = item.partition("=")
        try:
            if not sep:
                raise ValueError
            changes[name.strip()] = json.loads(raw)
        except ValueError:
            print(f"error: settings set takes NAME=JSON, not {item!r} "
                  '(e.g. report_threshold=5, bereal_lock=false, '
                  'allowed_email_domains=\'["bsu.by"]\')', file=sys.stderr)
            return 2

    async def work(s: Services) -> SettingsOut:
        if changes:
            await s.config.update(None, changes, args.reason)
        stored = await s.config.stored(None)
        return SettingsOut.of(await s.config.current(), stored)

    view = _with_services(args, work)
    if args.json:
        _print_json(unstructure(view))
        return 0
    table = Table("setting", "in force", "stored", title="runtime settings")
    for name, value in view.effective.items():
        table.add_row(name, json.dumps(value), json.dumps(view.stored.get(name)))
    Console().print(table)
    if changes:
        print("changed; in force at once here, within seconds on running servers")
    return 0


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
    serve.add_argument("--port", type=port_number)
    serve.add_argument(
        "--workers", type=non_negative_int,
        help="HTTP worker processes (0: one per core); MOMENTIC_HTTP_WORKERS",
    )
    serve.set_defaults(func=cmd_serve)

    work = sub.add_parser("worker", help="run background job workers (no HTTP)")
    work.set_defaults(func=cmd_worker)

    jan = sub.add_parser("janitor", help="remove abandoned uploads and orphan blobs now")
    jan.add_argument(
        "--min-age-seconds", type=non_negative_float, metavar="SECONDS",
        help="sweep what is older than this (default: a day; 0 once nothing is in flight)",
    )
    jan.set_defaults(func=cmd_janitor)

    back = sub.add_parser(
        "backfill",
        help="fill in what videos from before a migration lack: search (words and hashtags,"
        " _73), hls (queues packaging jobs, _75), hashes (content SHA-256, _79)",
    )
    back.add_argument("what", choices=[b.value for b in Backfill])
    back.add_argument("--batch", type=positive_int, default=BACKFILL_BATCH,
                      help=f"videos per batch (default {BACKFILL_BATCH})")
    back.add_argument("--json", action="store_true", help="machine-readable output")
    back.set_defaults(func=cmd_backfill)

    mig = sub.add_parser("migrate", help="database migrations: up (the default), status, rollback")
    mig.set_defaults(func=cmd_migrate)
    mig_sub = mig.add_subparsers(dest="migrate_command")
    mig_sub.add_parser("up", help="apply every pending migration").set_defaults(func=cmd_migrate)
    mig_status = mig_sub.add_parser("status", help="every migration, applied or pending")
    mig_status.add_argument("--json", action="store_true", help="machine-readable output")
    mig_status.set_defaults(func=cmd_migrate)
    mig_back = mig_sub.add_parser("rollback", help="undo the newest applied migration(s)")
    mig_back.add_argument("--count", type=positive_int, default=1, help="how many (default 1)")
    mig_back.add_argument("--yes", action="store_true", help="yes, drop what they made")
    mig_back.set_defaults(func=cmd_migrate)

    users = sub.add_parser("users", help="manage users").add_subparsers(
        dest="users_command", required=True
    )
    create = users.add_parser("create", help="create a verified user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prompted for when omitted")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.USER.value)
    create.set_defaults(func=cmd_users_create)
    listing = users.add_parser("list", help="users by id, with their strikes")
    listing.add_argument("--role", choices=[r.value for r in Role])
    listing.add_argument("--status", choices=[s.value for s in AccountStatus])
    listing.add_argument("--query", help="a prefix of the email or the nickname")
    listing.add_argument("--after", type=int, help="list users after this id")
    listing.add_argument("--limit", type=positive_int, default=50)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_users_list)
    set_role = users.add_parser(
        "set-role",
        help="change a user's role (a promotion keeps their sessions; a demotion signs "
        "them out of every device)",
    )
    set_role.add_argument("--email", required=True)
    set_role.add_argument("--role", choices=[r.value for r in Role], required=True)
    set_role.set_defaults(func=cmd_users_set_role)
    ban = users.add_parser("ban", help="ban an account (or suspend it, with --days) at once")
    ban.add_argument("--email", required=True)
    ban.add_argument("--reason", required=True, help="told to the user, kept in the audit")
    ban.add_argument("--days", type=positive_float, help="suspend for this many days instead")
    ban.set_defaults(func=cmd_users_ban)
    unban = users.add_parser("unban", help="lift a ban or suspension")
    unban.add_argument("--email", required=True)
    unban.add_argument("--reason")
    unban.set_defaults(func=cmd_users_unban)

    cases = sub.add_parser("cases", help="the moderation queue").add_subparsers(
        dest="cases_command", required=True
    )
    listing = cases.add_parser("list", help="cases, most reports first")
    listing.add_argument("--status", choices=["open", "resolved", "all"], default="open")
    listing.add_argument("--reason", choices=[r.value for r in ReportReason])
    listing.add_argument("--target-type", choices=[t.value for t in TargetType])
    listing.add_argument("--limit", type=positive_int, default=50)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_cases_list)
    resolve = cases.add_parser(
        "resolve", help="decide a case as the operator (the owner and reporters are told)"
    )
    resolve.add_argument("id", type=int)
    resolve.add_argument("--action", choices=[a.value for a in Action], required=True)
    resolve.add_argument("--reason", required=True)
    resolve.add_argument("--duration-seconds", type=positive_int, help="how long a suspend lasts")
    resolve.add_argument("--json", action="store_true", help="machine-readable output")
    resolve.set_defaults(func=cmd_cases_resolve)
    show = cases.add_parser("show", help="one case: its content and every report (JSON)")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_cases_show)

    appeals = sub.add_parser("appeals", help="appeals against decisions").add_subparsers(
        dest="appeals_command", required=True
    )
    listing = appeals.add_parser("list", help="appeals by id")
    listing.add_argument("--status", choices=[*(s.value for s in AppealStatus), "all"],
                         default=AppealStatus.PENDING.value)
    listing.add_argument("--after", type=int, help="list appeals after this id")
    listing.add_argument("--limit", type=positive_int, default=50)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_appeals_list)
    decide = appeals.add_parser(
        "decide", help="accept (restores the content and account) or reject an appeal"
    )
    decide.add_argument("id", type=int)
    decide.add_argument("decision", choices=["accept", "reject"])
    decide.add_argument("--reason", required=True, help="told to the user, kept in the audit")
    decide.add_argument("--json", action="store_true", help="machine-readable output")
    decide.set_defaults(func=cmd_appeals_decide)

    audit = sub.add_parser("audit", help="the audit trail, newest first")
    audit.add_argument("--actor", type=int, help="entries by this staff user id")
    audit.add_argument("--action", help="e.g. case.resolve, user.set_role")
    audit.add_argument("--target-type", choices=["video", "comment", "user", "case",
                                                 "settings"])
    audit.add_argument("--target-id", type=int)
    audit.add_argument("--before", type=int, help="entries before this id")
    audit.add_argument("--limit", type=positive_int, default=50)
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.set_defaults(func=cmd_audit)

    config = sub.add_parser("settings", help="runtime settings (applied without a restart)")
    config_sub = config.add_subparsers(dest="settings_command", required=True)
    get = config_sub.add_parser("get", help="what is in force and what is stored")
    get.add_argument("--json", action="store_true", help="machine-readable output")
    get.set_defaults(func=cmd_settings)
    put = config_sub.add_parser("set", help="change settings: NAME=JSON (null resets)")
    put.add_argument("assignments", nargs="+", metavar="NAME=JSON")
    put.add_argument("--reason", help="kept in the audit trail")
    put.add_argument("--json", action="store_true", help="machine-readable output")
    put.set_defaults(func=cmd_settings)

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
    tracing.exporters()  # a bad OTEL_* setting is refused now, as a MOMENTIC_* one is
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

