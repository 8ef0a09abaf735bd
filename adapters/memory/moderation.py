"""In-memory cases, reports, appeals, strikes, the audit trail and runtime settings, with
the PostgreSQL adapters' semantics (see momentic_core.ports)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from momentic_core.errors import Conflict, NotFound
from momentic_core.model.accounts import User
from momentic_core.model.moderation import (
    Appeal,
    AppealStatus,
    AuditEntry,
    AuditFilter,
    Case,
    CaseFilter,
    CaseKey,
    CaseStatus,
    Report,
    RuntimeConfig,
    TargetContent,
    TargetType,
    UserFilter,
)

if TYPE_CHECKING:
    from .store import MemoryStore


def _case_key(case: Case) -> tuple[int, datetime, int]:
    return (-case.report_count, case.opened_at, case.id)


def _no_case() -> NotFound:
    return NotFound("No such case.", code="case_not_found")


def search_users(store: MemoryStore, where: UserFilter, after_id: int | None,
                 limit: int) -> list[User]:
    query = (where.query or "").strip().lower()
    found = [
        u for u in store.users.values()
        if (after_id is None or u.id > after_id)
        and (not query or (where.by_email and u.email.lower().startswith(query))
             or u.nickname.lower().startswith(query))
        and (where.role is None or u.role.value == where.role)
        and (where.status is None or u.status.value == where.status)
    ]
    found.sort(key=lambda u: u.id)
    return found[: max(0, limit)]


def forget_moderation_of(store: MemoryStore, user_id: int) -> None:
    """What ON DELETE CASCADE does when a user goes: cases about them (with their reports
    and appeals), their own reports, appeals and strikes; a case assigned to them is
    unassigned (ON DELETE SET NULL). A case's report_count follows its reports (the
    reports_count trigger); who decided keeps the bare id, and the audit trail stays."""
    gone = {k for k, c in store.cases.items() if c.owner_id == user_id}
    lost = Counter(r.case_id for r in store.reports.values() if r.reporter_id == user_id)
    store.cases = {
        k: attrs.evolve(
            c,
            assignee_id=None if c.assignee_id == user_id else c.assignee_id,
            report_count=c.report_count - lost[k],
        )
        for k, c in store.cases.items() if k not in gone
    }
    store.reports = {
        k: r for k, r in store.reports.items()
        if r.reporter_id != user_id and r.case_id not in gone
    }
    store.appeals = {
        k: a for k, a in store.appeals.items() if a.user_id != user_id and a.case_id not in gone
    }
    store.strikes = {
        k: v for k, v in store.strikes.items() if v[0] != user_id and k not in gone
    }


class InMemoryModerationRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def open_case(
        self, target_type: TargetType, target_id: int, owner_id: int, at: datetime
    ) -> Case:
        for case in self._s.cases.values():
            if (case.target_type, case.target_id, case.status) == (
                target_type, target_id, CaseStatus.OPEN
            ):
                return case
        if owner_id not in self._s.users:
            raise NotFound("No such user.", code="user_not_found")
        case = Case(id=next(self._s.ids), target_type=target_type, target_id=target_id,
                    owner_id=owner_id, opened_at=at)
        self._s.cases[case.id] = case
        return case

    async def get_case(self, case_id: int, *, for_update: bool = False) -> Case:
        try:
            return self._s.cases[case_id]
        except KeyError:
            raise _no_case() from None

    async def update_case(self, case: Case) -> Case:
        stored = await self.get_case(case.id)
        # report_count and reasons follow the reports, never the caller.
        case = attrs.evolve(case, report_count=stored.report_count, reasons=stored.reasons)
        self._s.cases[case.id] = case
        return case

    async def add_report(self, report: Report) -> Case:
        s = self._s
        case = await self.get_case(report.case_id)
        if report.reporter_id not in s.users:
            raise NotFound("No such user.", code="user_not_found")
        if any(r.case_id == case.id and r.reporter_id == report.reporter_id
               for r in s.reports.values()):
            raise Conflict("You reported this already.", code="report_exists")
        report = attrs.evolve(report, id=next(s.ids))
        s.reports[report.id] = report
        reasons = case.reasons if report.reason in case.reasons else (
            *case.reasons, report.reason
        )
        case = attrs.evolve(case, report_count=case.report_count + 1, reasons=reasons)
        s.cases[case.id] = case
        return case

    async def contents(self, cases: list[Case]) -> dict[int, TargetContent]:
        s, out = self._s, {}
        for case in cases:
            if case.target_type is TargetType.VIDEO and case.target_id in s.videos:
                v = s.videos[case.target_id]
                out[case.id] = TargetContent(
                    type=case.target_type, id=v.id, owner=s.users.get(v.author_id),
                    text=v.description, status=v.status.value, video_id=v.id,
                    thumbnail_key=v.thumbnail_key,
                )
            elif case.target_type is TargetType.COMMENT and case.target_id in s.comments:
                c = s.comments[case.target_id]
                out[case.id] = TargetContent(
                    type=case.target_type, id=c.id, owner=s.users.get(c.author_id),
                    text=c.body, status="hidden" if c.hidden else "visible",
                    video_id=c.video_id,
                )
            elif case.target_type is TargetType.USER and case.target_id in s.users:
                u = s.users[case.target_id]
                out[case.id] = TargetContent(
                    type=case.target_type, id=u.id, owner=u, text=u.bio,
                    status=u.status.value,
                )
        return out

    async def reports(self, case_ids: list[int]) -> dict[int, list[Report]]:
        wanted = set(case_ids)
        out: dict[int, list[Report]] = {}
        for r in sorted(self._s.reports.values(), key=lambda r: (r.created_at, r.id)):
            if r.case_id in wanted:
                out.setdefault(r.case_id, []).append(r)
        return out

    async def list_cases(
        self, where: CaseFilter, after: CaseKey | None, limit: int
    ) -> list[Case]:
        found = [
            c for c in self._s.cases.values()
            if (where.status is None or c.status is where.status)
            and (where.target_type is None or c.target_type is where.target_type)
            and (where.reason is None or where.reason in c.reasons)
            and (where.not_owner is None or c.owner_id != where.not_owner)
            and (after is None or _case_key(c) > (-after.report_count, after.opened_at,
                                                  after.id))
        ]
        found.sort(key=_case_key)
        return found[: max(0, limit)]

    async def reports_today(
        self, reporter_id: int, since: datetime, *, for_update: bool = False
    ) -> int:
        # (for_update: a unit of work holds the whole store already)
        return sum(1 for r in self._s.reports.values()
                   if r.reporter_id == reporter_id and r.created_at >= since)

    async def reports_by(
        self, reporter_id: int, after_id: int | None, limit: int
    ) -> list[tuple[Report, Case]]:
        s = self._s
        found = sorted(
            (r for r in s.reports.values()
             if r.reporter_id == reporter_id and (after_id is None or r.id > after_id)),
            key=lambda r: r.id,
        )
        return [(r, s.cases[r.case_id]) for r in found[: max(0, limit)]]

    async def add_appeal(self, appeal: Appeal) -> Appeal:
        s = self._s
        if any(a.case_id == appeal.case_id for a in s.appeals.values()):
            raise Conflict("This decision was appealed already.", code="appeal_exists")
        await self.get_case(appeal.case_id)
        appeal = attrs.evolve(appeal, id=next(s.ids))
        s.appeals[appeal.id] = appeal
        return appeal

    async def get_appeal(self, appeal_id: int, *, for_update: bool = False) -> Appeal:
        try:
            return self._s.appeals[appeal_id]
        except KeyError:
            raise NotFound("No such appeal.", code="appeal_not_found") from None

    async def update_appeal(self, appeal: Appeal) -> Appeal:
        await self.get_appeal(appeal.id)
        self._s.appeals[appeal.id] = appeal
        return appeal

    async def list_appeals(
        self, status: AppealStatus | None, after_id: int | None, limit: int
    ) -> list[Appeal]:
        found = sorted(
            (a for a in self._s.appeals.values()
             if (status is None or a.status is status)
             and (after_id is None or a.id > after_id)),
            key=lambda a: a.id,
        )
        return found[: max(0, limit)]

    async def appeals_by(self, user_id: int, after_id: int | None, limit: int) -> list[Appeal]:
        found = sorted(
            (a for a in self._s.appeals.values()
             if a.user_id == user_id and (after_id is None or a.id > after_id)),
            key=lambda a: a.id,
        )
        return found[: max(0, limit)]

    async def add_strike(self, user_id: int, case_id: int, at: datetime) -> None:
        self._s.strikes[case_id] = (user_id, at)

    async def remove_strike(self, case_id: int) -> None:
        self._s.strikes.pop(case_id, None)

    async def strikes(self, user_ids: list[int]) -> dict[int, int]:
        wanted = set(user_ids)
        out: dict[int, int] = {}
        for user_id, _ in self._s.strikes.values():
            if user_id in wanted:
                out[user_id] = out.get(user_id, 0) + 1
        return out


class InMemoryAuditRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def add(self, entry: AuditEntry) -> AuditEntry:
        entry = attrs.evolve(entry, id=next(self._s.ids))
        self._s.audit[entry.id] = entry
        return entry

    async def about_user(
        self, user_id: int, after_id: int | None, limit: int
    ) -> list[AuditEntry]:
        s = self._s
        owned = [c for c in s.cases.values() if c.owner_id == user_id]
        targets = {
            ("user", user_id),
            *(("video", v.id) for v in s.videos.values() if v.author_id == user_id),
            *(("comment", c.id) for c in s.comments.values() if c.author_id == user_id),
            *(("case", c.id) for c in owned),
            *((c.target_type.value, c.target_id) for c in owned),
        }
        found = sorted(
            (
                e for e in s.audit.values()
                if (after_id is None or e.id > after_id)
                and (e.actor_id == user_id or (e.target_type, e.target_id) in targets)
            ),
            key=lambda e: e.id,
        )
        return found[: max(0, limit)]

    async def list(
        self, where: AuditFilter, before_id: int | None, limit: int
    ) -> list[AuditEntry]:
        found = sorted(
            (
                e for e in self._s.audit.values()
                if (before_id is None or e.id < before_id)
                and (where.actor_id is None or e.actor_id == where.actor_id)
                and (where.action is None or e.action == where.action)
                and (where.target_type is None or e.target_type == where.target_type)
                and (where.target_id is None or e.target_id == where.target_id)
                and (where.since is None or e.created_at >= where.since)
                and (where.until is None or e.created_at < where.until)
            ),
            key=lambda e: e.id,
            reverse=True,
        )
        return found[: max(0, limit)]


class InMemoryConfigRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def lock(self) -> None:
        return None  # units of work are serial here

    async def load(self) -> RuntimeConfig:
        return self._s.config.get(1, RuntimeConfig())

    async def save(self, config: RuntimeConfig) -> None:
        self._s.config[1] = config
