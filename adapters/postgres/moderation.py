# ruff: noqa: S608 -- queries interpolate only this module's column lists and the fixed
# conditions list_cases / list / list_appeals pick; every value travels as a $n parameter.
"""PostgreSQL cases, reports, appeals, strikes, the audit trail and runtime settings
(migration 20261127_06), bound to the connection of a ``PostgresUnitOfWork``.

- ``open_case`` is race-free: the partial unique index ``cases_open_target_key`` (one
  open case per target) makes concurrent first reports meet. The INSERT ... ON CONFLICT
  DO NOTHING either opens the case (and so holds its row) or waits for the transaction
  that opened it and does nothing; then SELECT ... FOR UPDATE takes the open case's row,
  so the reporters of one target queue on it until their units of work end.
- ``add_report`` stores the report and moves the case's report_count and reasons in one
  statement (the UPDATE adds to the newest committed row). A second report of one
  reporter on a case hits reports_case_reporter_key: Conflict(code="report_exists").
- The queue (``list_cases``) orders by one ascending key (-report_count, opened_at, id):
  for open cases, a keyset page is a range scan of cases_queue_idx.
- The audit trail is append-only: the database refuses UPDATE, DELETE and TRUNCATE of
  audit_log (a trigger), so this module only inserts and reads.
- Runtime settings are one JSON object in app_settings (row 1).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import asyncpg

from momentic_core.errors import NotFound
from momentic_core.model.moderation import (
    CONFIG_KEYS,
    Action,
    Appeal,
    AppealStatus,
    AuditEntry,
    AuditFilter,
    Case,
    CaseFilter,
    CaseKey,
    CaseStatus,
    Report,
    ReportReason,
    RuntimeConfig,
    TargetContent,
    TargetType,
)

from .repositories import _USER_COLUMNS, Repository, _user, aliased
from .social import _Prefixed

_CASE_COLUMNS = (
    "id, target_type, target_id, owner_id, status, report_count, reasons, held, "
    "assignee_id, action, decided_by, decided_at, decision_reason, suspended_until, opened_at"
)
_REPORT_COLUMNS = "id, case_id, reporter_id, reason, note, created_at"
_APPEAL_COLUMNS = (
    "id, case_id, user_id, body, status, created_at, decided_by, decided_at, decision_reason"
)
_AUDIT_COLUMNS = "id, actor_id, action, target_type, target_id, reason, data, created_at"

# open_case tries again when the open case it met was resolved before it could lock it.
_OPEN_TRIES = 5


def _case(row: asyncpg.Record) -> Case:
    return Case(
        id=row["id"],
        target_type=TargetType(row["target_type"]),
        target_id=row["target_id"],
        owner_id=row["owner_id"],
        opened_at=row["opened_at"],
        status=CaseStatus(row["status"]),
        report_count=row["report_count"],
        reasons=tuple(ReportReason(r) for r in row["reasons"]),
        held=row["held"],
        assignee_id=row["assignee_id"],
        action=None if row["action"] is None else Action(row["action"]),
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        decision_reason=row["decision_reason"],
        suspended_until=row["suspended_until"],
    )


def _report(row: asyncpg.Record) -> Report:
    return Report(
        id=row["id"],
        case_id=row["case_id"],
        reporter_id=row["reporter_id"],
        reason=ReportReason(row["reason"]),
        created_at=row["created_at"],
        note=row["note"],
    )


def _appeal(row: asyncpg.Record) -> Appeal:
    return Appeal(
        id=row["id"],
        case_id=row["case_id"],
        user_id=row["user_id"],
        body=row["body"],
        created_at=row["created_at"],
        status=AppealStatus(row["status"]),
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        decision_reason=row["decision_reason"],
    )


def _audit(row: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        actor_id=row["actor_id"],
        action=row["action"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        reason=row["reason"],
        created_at=row["created_at"],
        data=json.loads(row["data"]),
    )


def _no_case() -> NotFound:
    return NotFound("No such case.", code="case_not_found")


def _no_appeal() -> NotFound:
    return NotFound("No such appeal.", code="appeal_not_found")


class _Conditions:
    """WHERE conditions built from fixed fragments, their values as $n parameters."""

    def __init__(self, *args: Any) -> None:
        self.args: list[Any] = list(args)
        self._parts: list[str] = []

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, condition: str) -> None:
        self._parts.append(condition)

    def sql(self) -> str:
        return " AND ".join(self._parts) or "true"


class PostgresModerationRepository(Repository):
    async def open_case(
        self, target_type: TargetType, target_id: int, owner_id: int, at: datetime
    ) -> Case:
        """Raises NotFound(code="user_not_found") when a case must be opened for an
        owner who does not exist."""
        for _ in range(_OPEN_TRIES):
            row = await self._fetchrow(
                f"""
                INSERT INTO cases (target_type, target_id, owner_id, opened_at)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (target_type, target_id) WHERE status = 'open' DO NOTHING
                RETURNING {_CASE_COLUMNS}
                """,
                target_type.value,
                target_id,
                owner_id,
                at,
            )
            if row is None:
                # Another transaction has the open case (it waited for that one to
                # commit). Lock it; after the wait the row is re-read, and a case that
                # was resolved meanwhile no longer matches: then open a new one.
                row = await self._fetchrow(
                    f"""
                    SELECT {_CASE_COLUMNS} FROM cases
                    WHERE target_type = $1 AND target_id = $2 AND status = 'open'
                    FOR UPDATE
                    """,
                    target_type.value,
                    target_id,
                )
            if row is not None:
                return _case(row)
        raise RuntimeError("open_case: the target's open case kept changing")

    async def get_case(self, case_id: int, *, for_update: bool = False) -> Case:
        lock = "FOR UPDATE" if for_update else ""
        row = await self._fetchrow(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = $1 {lock}", case_id
        )
        if row is None:
            raise _no_case()
        return _case(row)

    async def update_case(self, case: Case) -> Case:
        """Write every field but report_count and reasons, which follow the reports."""
        row = await self._fetchrow(
            f"""
            UPDATE cases SET target_type = $2, target_id = $3, owner_id = $4, status = $5,
                held = $6, assignee_id = $7, action = $8, decided_by = $9, decided_at = $10,
                decision_reason = $11, suspended_until = $12, opened_at = $13
            WHERE id = $1
            RETURNING {_CASE_COLUMNS}
            """,
            case.id,
            case.target_type.value,
            case.target_id,
            case.owner_id,
            case.status.value,
            case.held,
            case.assignee_id,
            None if case.action is None else case.action.value,
            case.decided_by,
            case.decided_at,
            case.decision_reason,
            case.suspended_until,
            case.opened_at,
        )
        if row is None:
            raise _no_case()
        return _case(row)

    async def add_report(self, report: Report) -> Case:
        """Raises Conflict(code="report_exists"), NotFound(code="case_not_found" |
        "user_not_found")."""
        # The UPDATE reads the case row after the INSERT's foreign-key check; under READ
        # COMMITTED it waits for a concurrent writer of the case and adds to its result.
        row = await self._fetchrow(
            f"""
            WITH r AS (
                INSERT INTO reports (case_id, reporter_id, reason, note, created_at)
                VALUES ($1, $2, $3, $4, $5)
                RETURNING case_id, reason
            )
            UPDATE cases c SET
                report_count = c.report_count + 1,
                reasons = CASE WHEN r.reason = ANY (c.reasons) THEN c.reasons
                               ELSE array_append(c.reasons, r.reason) END
            FROM r WHERE c.id = r.case_id
            RETURNING {", ".join(f"c.{col}" for col in _CASE_COLUMNS.split(", "))}
            """,
            report.case_id,
            report.reporter_id,
            report.reason.value,
            report.note,
            report.created_at,
        )
        if row is None:  # the case went between the insert's check and the update
            raise _no_case()
        return _case(row)

    async def contents(self, cases: list[Case]) -> dict[int, TargetContent]:
        rows = await self._fetch(
            f"""
            SELECT t.case_id, t.kind, v.id AS v_id, v.description, v.status AS v_status,
                   v.thumbnail_key, c.id AS c_id, c.body, c.hidden, c.video_id AS c_video_id,
                   {aliased(_USER_COLUMNS, "u", "")}
            FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS t(case_id, kind, target_id)
            LEFT JOIN videos v ON t.kind = 'video' AND v.id = t.target_id
            LEFT JOIN comments c ON t.kind = 'comment' AND c.id = t.target_id
            JOIN users u ON u.id = CASE t.kind WHEN 'video' THEN v.author_id
                                               WHEN 'comment' THEN c.author_id
                                               ELSE t.target_id END
            """,
            [c.id for c in cases],
            [c.target_type.value for c in cases],
            [c.target_id for c in cases],
        )
        out: dict[int, TargetContent] = {}
        for row in rows:
            owner = _user(row)
            kind = TargetType(row["kind"])
            if kind is TargetType.VIDEO:
                content = TargetContent(
                    type=kind, id=row["v_id"], owner=owner, text=row["description"],
                    status=row["v_status"], video_id=row["v_id"],
                    thumbnail_key=row["thumbnail_key"],
                )
            elif kind is TargetType.COMMENT:
                content = TargetContent(
                    type=kind, id=row["c_id"], owner=owner, text=row["body"],
                    status="hidden" if row["hidden"] else "visible",
                    video_id=row["c_video_id"],
                )
            else:
                content = TargetContent(
                    type=kind, id=owner.id, owner=owner, text=owner.bio,
                    status=owner.status.value,
                )
            out[row["case_id"]] = content
        return out

    async def reports(self, case_ids: list[int]) -> dict[int, list[Report]]:
        rows = await self._fetch(
            f"""
            SELECT {_REPORT_COLUMNS} FROM reports
            WHERE case_id = ANY ($1::bigint[])
            ORDER BY created_at, id
            """,
            sorted(set(case_ids)),
        )
        out: dict[int, list[Report]] = {}
        for row in rows:
            out.setdefault(row["case_id"], []).append(_report(row))
        return out

    async def list_cases(
        self, where: CaseFilter, after: CaseKey | None, limit: int
    ) -> list[Case]:
        q = _Conditions(max(0, limit))
        if where.status is not None:
            q.add(f"status = {q.param(where.status.value)}")
        if where.target_type is not None:
            q.add(f"target_type = {q.param(where.target_type.value)}")
        if where.reason is not None:
            q.add(f"{q.param(where.reason.value)} = ANY (reasons)")
        if where.not_owner is not None:
            q.add(f"owner_id <> {q.param(where.not_owner)}::bigint")
        if after is not None:
            q.add(
                f"(-report_count, opened_at, id) > (-{q.param(after.report_count)}::int, "
                f"{q.param(after.opened_at)}::timestamptz, {q.param(after.id)}::bigint)"
            )
        rows = await self._fetch(
            f"""
            SELECT {_CASE_COLUMNS} FROM cases
            WHERE {q.sql()}
            ORDER BY -report_count, opened_at, id
            LIMIT $1
            """,
            *q.args,
        )
        return [_case(row) for row in rows]

    async def reports_today(
        self, reporter_id: int, since: datetime, *, for_update: bool = False
    ) -> int:
        if for_update:
            # An advisory lock on the reporter (a row lock on users would also queue behind
            # every update of their row): a second report of theirs waits here for the
            # first to commit, then counts it.
            await self._execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('reports:' || $1::bigint, 0))",
                reporter_id,
            )
        count = await self._fetchval(
            "SELECT count(*) FROM reports WHERE reporter_id = $1 AND created_at >= $2",
            reporter_id,
            since,
        )
        return int(count)

    async def reports_by(
        self, reporter_id: int, after_id: int | None, limit: int
    ) -> list[tuple[Report, Case]]:
        rows = await self._keyset_page(
            f"""
            SELECT {aliased(_REPORT_COLUMNS, "r", "")}, {aliased(_CASE_COLUMNS, "k", "k_")}
            FROM reports r
            JOIN cases k ON k.id = r.case_id
            WHERE r.reporter_id = $1 AND r.id > $2
            ORDER BY r.id
            LIMIT $3
            """,
            reporter_id,
            after_id,
            limit,
        )
        return [
            (_report(row), _case(cast(asyncpg.Record, _Prefixed(row, "k")))) for row in rows
        ]

    async def add_appeal(self, appeal: Appeal) -> Appeal:
        """Raises Conflict(code="appeal_exists"), NotFound(code="case_not_found" |
        "user_not_found")."""
        row = await self._fetchrow(
            f"""
            INSERT INTO appeals (case_id, user_id, body, status, created_at, decided_by,
                                 decided_at, decision_reason)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            RETURNING {_APPEAL_COLUMNS}
            """,
            *_appeal_values(appeal),
        )
        assert row is not None
        return _appeal(row)

    async def get_appeal(self, appeal_id: int, *, for_update: bool = False) -> Appeal:
        lock = "FOR UPDATE" if for_update else ""
        row = await self._fetchrow(
            f"SELECT {_APPEAL_COLUMNS} FROM appeals WHERE id = $1 {lock}", appeal_id
        )
        if row is None:
            raise _no_appeal()
        return _appeal(row)

    async def update_appeal(self, appeal: Appeal) -> Appeal:
        row = await self._fetchrow(
            f"""
            UPDATE appeals SET case_id = $2, user_id = $3, body = $4, status = $5,
                created_at = $6, decided_by = $7, decided_at = $8, decision_reason = $9
            WHERE id = $1
            RETURNING {_APPEAL_COLUMNS}
            """,
            appeal.id,
            *_appeal_values(appeal),
        )
        if row is None:
            raise _no_appeal()
        return _appeal(row)

    async def list_appeals(
        self, status: AppealStatus | None, after_id: int | None, limit: int
    ) -> list[Appeal]:
        q = _Conditions(max(0, limit))
        if status is not None:
            q.add(f"status = {q.param(status.value)}")
        if after_id is not None:
            q.add(f"id > {q.param(after_id)}")
        rows = await self._fetch(
            f"SELECT {_APPEAL_COLUMNS} FROM appeals WHERE {q.sql()} ORDER BY id LIMIT $1",
            *q.args,
        )
        return [_appeal(row) for row in rows]

    async def appeals_by(self, user_id: int, after_id: int | None, limit: int) -> list[Appeal]:
        rows = await self._keyset_page(
            f"""
            SELECT {_APPEAL_COLUMNS} FROM appeals
            WHERE user_id = $1 AND id > $2
            ORDER BY id
            LIMIT $3
            """,
            user_id,
            after_id,
            limit,
        )
        return [_appeal(row) for row in rows]

    async def add_strike(self, user_id: int, case_id: int, at: datetime) -> None:
        """One strike per case: adding it again replaces it."""
        await self._execute(
            """
            INSERT INTO strikes (case_id, user_id, created_at) VALUES ($1, $2, $3)
            ON CONFLICT (case_id) DO UPDATE
                SET user_id = EXCLUDED.user_id, created_at = EXCLUDED.created_at
            """,
            case_id,
            user_id,
            at,
        )

    async def remove_strike(self, case_id: int) -> None:
        await self._execute("DELETE FROM strikes WHERE case_id = $1", case_id)

    async def strikes(self, user_ids: list[int]) -> dict[int, int]:
        rows = await self._fetch(
            """
            SELECT user_id, count(*)::int AS n FROM strikes
            WHERE user_id = ANY ($1::bigint[])
            GROUP BY user_id
            """,
            sorted(set(user_ids)),
        )
        return {row["user_id"]: row["n"] for row in rows}


def _appeal_values(appeal: Appeal) -> Sequence[Any]:
    """Every column but id, in ``_APPEAL_COLUMNS`` order."""
    return (
        appeal.case_id,
        appeal.user_id,
        appeal.body,
        appeal.status.value,
        appeal.created_at,
        appeal.decided_by,
        appeal.decided_at,
        appeal.decision_reason,
    )


class PostgresAuditRepository(Repository):
    async def add(self, entry: AuditEntry) -> AuditEntry:
        row = await self._fetchrow(
            f"""
            INSERT INTO audit_log (actor_id, action, target_type, target_id, reason, data,
                                   created_at)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
            RETURNING {_AUDIT_COLUMNS}
            """,
            entry.actor_id,
            entry.action,
            entry.target_type,
            entry.target_id,
            entry.reason,
            json.dumps(entry.data),
            entry.created_at,
        )
        assert row is not None
        return _audit(row)

    async def about_user(
        self, user_id: int, after_id: int | None, limit: int
    ) -> list[AuditEntry]:
        # One branch per way an entry is about the user, each a range of an audit_log
        # index (actor_id, id) or (target_type, target_id, id) cut to the page; UNION
        # drops an entry that several branches find (a decision on my video is about my
        # video and about my case's target).
        rows = await self._keyset_page(
            f"""
            WITH mine AS (
                SELECT 'user'::text AS target_type, $1::bigint AS target_id
                UNION SELECT 'video', id FROM videos WHERE author_id = $1
                UNION SELECT 'comment', id FROM comments WHERE author_id = $1
                UNION SELECT 'case', id FROM cases WHERE owner_id = $1
                UNION SELECT target_type, target_id FROM cases WHERE owner_id = $1
            ), page AS (
                (SELECT id FROM audit_log
                 WHERE actor_id = $1 AND id > $2 ORDER BY id LIMIT $3)
                UNION
                SELECT a.id FROM mine m CROSS JOIN LATERAL (
                    SELECT id FROM audit_log
                    WHERE target_type = m.target_type AND target_id = m.target_id
                      AND id > $2
                    ORDER BY id LIMIT $3
                ) a
            )
            SELECT {_AUDIT_COLUMNS} FROM audit_log
            WHERE id IN (SELECT id FROM page)
            ORDER BY id
            LIMIT $3
            """,
            user_id,
            after_id,
            limit,
        )
        return [_audit(row) for row in rows]

    async def list(
        self, where: AuditFilter, before_id: int | None, limit: int
    ) -> list[AuditEntry]:
        q = _Conditions(max(0, limit))
        if before_id is not None:
            q.add(f"id < {q.param(before_id)}")
        if where.actor_id is not None:
            q.add(f"actor_id = {q.param(where.actor_id)}")
        if where.action is not None:
            q.add(f"action = {q.param(where.action)}")
        if where.target_type is not None:
            q.add(f"target_type = {q.param(where.target_type)}")
        if where.target_id is not None:
            q.add(f"target_id = {q.param(where.target_id)}")
        if where.since is not None:
            q.add(f"created_at >= {q.param(where.since)}")
        if where.until is not None:
            q.add(f"created_at < {q.param(where.until)}")
        rows = await self._fetch(
            f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE {q.sql()} ORDER BY id DESC LIMIT $1",
            *q.args,
        )
        return [_audit(row) for row in rows]


def _config(settings: dict[str, Any]) -> RuntimeConfig:
    """The stored JSON object as a RuntimeConfig; keys it does not know are ignored."""
    values = {k: v for k, v in settings.items() if k in CONFIG_KEYS and v is not None}
    if "allowed_email_domains" in values:
        values["allowed_email_domains"] = tuple(values["allowed_email_domains"])
    if "max_video_seconds" in values:
        values["max_video_seconds"] = float(values["max_video_seconds"])
    values["rate_limits"] = {
        name: (int(count), int(seconds))
        for name, (count, seconds) in values.get("rate_limits", {}).items()
    }
    return RuntimeConfig(**values)


def _settings(config: RuntimeConfig) -> dict[str, Any]:
    """RuntimeConfig as the stored JSON object (JSON writes tuples as lists)."""
    return {name: getattr(config, name) for name in CONFIG_KEYS}


class PostgresConfigRepository(Repository):
    async def lock(self) -> None:
        # An advisory lock: it works before the one row exists.
        await self._execute("SELECT pg_advisory_xact_lock(hashtext('app_settings'))")

    async def load(self) -> RuntimeConfig:
        settings = await self._fetchval("SELECT settings FROM app_settings WHERE id = 1")
        return RuntimeConfig() if settings is None else _config(json.loads(settings))

    async def save(self, config: RuntimeConfig) -> None:
        await self._execute(
            """
            INSERT INTO app_settings (id, settings) VALUES (1, $1::jsonb)
            ON CONFLICT (id) DO UPDATE SET settings = EXCLUDED.settings
            """,
            json.dumps(_settings(config)),
        )
