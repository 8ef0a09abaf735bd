"""ModerationRepository, AuditRepository, ConfigRepository, UserRepository.search and
CommentRepository.set_hidden contract: memory and PostgreSQL behave alike."""

from __future__ import annotations

import asyncio
import random
from datetime import date, datetime, timedelta

import asyncpg
import attrs
import pytest
from config_support import runtime_config

from adapters.memory.clock import ManualClock
from momentic_core.errors import Conflict, Invalid, NotFound
from momentic_core.model.accounts import AccountStatus, Principal, Role
from momentic_core.model.engagement import Comment
from momentic_core.model.moderation import (
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
    TargetType,
    UserFilter,
)
from momentic_core.services.moderation import Moderation

from .engagement_support import assert_counters_match_rows, comment, notify
from .support import T0, Adapters, add_user, add_video

VIDEO, COMMENT, USER = TargetType.VIDEO, TargetType.COMMENT, TargetType.USER


async def open_case(
    backend: Adapters, target_type: TargetType, target_id: int, owner_id: int,
    at: datetime = T0,
) -> Case:
    async with backend.uow() as tx:
        return await tx.moderation.open_case(target_type, target_id, owner_id, at)


async def report(
    backend: Adapters,
    case_id: int,
    reporter_id: int,
    reason: ReportReason = ReportReason.SPAM,
    at: datetime = T0,
    note: str | None = None,
) -> Case:
    async with backend.uow() as tx:
        return await tx.moderation.add_report(
            Report(id=0, case_id=case_id, reporter_id=reporter_id, reason=reason,
                   created_at=at, note=note)
        )


async def resolve(
    backend: Adapters, case_id: int, by: int, at: datetime = T0, action: Action = Action.WARN
) -> Case:
    async with backend.uow() as tx:
        case = await tx.moderation.get_case(case_id, for_update=True)
        return await tx.moderation.update_case(attrs.evolve(
            case, status=CaseStatus.RESOLVED, action=action, decided_by=by, decided_at=at,
            decision_reason="because", held=False,
        ))


async def audit(backend: Adapters, **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "id": 0, "actor_id": None, "action": "case.resolve", "target_type": "video",
        "target_id": 1, "reason": None, "created_at": T0,
    }
    values.update(fields)
    async with backend.uow() as tx:
        return await tx.audit.add(AuditEntry(**values))  # type: ignore[arg-type]


# ---------------------------------------------------------------- cases and reports


async def test_open_case_is_one_per_open_target_and_a_new_one_after_resolution(
    backend: Adapters,
) -> None:
    owner, mod = await add_user(backend), await add_user(backend)
    first = await open_case(backend, VIDEO, 10, owner.id)
    assert (first.status, first.report_count, first.reasons, first.held) == (
        CaseStatus.OPEN, 0, (), False
    )
    assert (first.target_type, first.target_id, first.owner_id, first.opened_at) == (
        VIDEO, 10, owner.id, T0
    )
    again = await open_case(backend, VIDEO, 10, owner.id, T0 + timedelta(hours=1))
    assert again == first  # the same case, opened when it was first opened
    other_type = await open_case(backend, COMMENT, 10, owner.id)
    other_target = await open_case(backend, VIDEO, 11, owner.id)
    assert len({first.id, other_type.id, other_target.id}) == 3

    await resolve(backend, first.id, mod.id)
    fresh = await open_case(backend, VIDEO, 10, owner.id, T0 + timedelta(days=1))
    assert fresh.id != first.id and fresh.status is CaseStatus.OPEN
    assert fresh.opened_at == T0 + timedelta(days=1)
    async with backend.uow() as tx:
        assert (await tx.moderation.get_case(first.id)).status is CaseStatus.RESOLVED


async def test_open_case_for_an_unknown_owner_and_unknown_cases(backend: Adapters) -> None:
    with pytest.raises(NotFound) as missing_owner:
        await open_case(backend, USER, 999_999, 999_999)
    assert missing_owner.value.code == "user_not_found"
    async with backend.uow() as tx:
        with pytest.raises(NotFound) as missing_case:
            await tx.moderation.get_case(999_999)
    assert missing_case.value.code == "case_not_found"
    async with backend.uow() as tx:
        with pytest.raises(NotFound) as missing_update:
            await tx.moderation.update_case(
                Case(id=999_999, target_type=VIDEO, target_id=1, owner_id=1, opened_at=T0)
            )
    assert missing_update.value.code == "case_not_found"
    reporter = await add_user(backend)
    with pytest.raises(NotFound) as missing_report_case:
        await report(backend, 999_999, reporter.id)
    assert missing_report_case.value.code == "case_not_found"


async def test_reports_count_reporters_and_gather_each_reason_once(backend: Adapters) -> None:
    owner = await add_user(backend)
    a, b, c = [await add_user(backend) for _ in range(3)]
    case = await open_case(backend, VIDEO, 1, owner.id)
    after_a = await report(backend, case.id, a.id, ReportReason.SPAM, note="bot")
    assert (after_a.report_count, after_a.reasons) == (1, (ReportReason.SPAM,))
    after_b = await report(backend, case.id, b.id, ReportReason.HATE, T0 + timedelta(minutes=1))
    after_c = await report(backend, case.id, c.id, ReportReason.SPAM, T0 + timedelta(minutes=2))
    assert (after_b.report_count, after_c.report_count) == (2, 3)
    assert after_c.reasons == (ReportReason.SPAM, ReportReason.HATE)

    with pytest.raises(Conflict) as twice:
        await report(backend, case.id, a.id, ReportReason.OTHER)
    assert twice.value.code == "report_exists"

    async with backend.uow() as tx:
        stored = await tx.moderation.get_case(case.id)
        reports = await tx.moderation.reports([case.id, 999_999])
    assert (stored.report_count, stored.reasons) == (3, (ReportReason.SPAM, ReportReason.HATE))
    assert list(reports) == [case.id]
    assert [(r.reporter_id, r.reason, r.note) for r in reports[case.id]] == [
        (a.id, ReportReason.SPAM, "bot"), (b.id, ReportReason.HATE, None),
        (c.id, ReportReason.SPAM, None),
    ]
    assert all(r.case_id == case.id and r.id > 0 for r in reports[case.id])
    assert [r.created_at for r in reports[case.id]] == [
        T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    ]


async def test_update_case_leaves_the_report_count_and_reasons_to_the_reports(
    backend: Adapters,
) -> None:
    owner, reporter, mod = (await add_user(backend), await add_user(backend),
                            await add_user(backend))
    case = await open_case(backend, COMMENT, 5, owner.id)
    stale = case
    await report(backend, case.id, reporter.id, ReportReason.NUDITY)
    until = T0 + timedelta(days=3)
    async with backend.uow() as tx:
        updated = await tx.moderation.update_case(attrs.evolve(
            stale, held=True, assignee_id=mod.id, status=CaseStatus.RESOLVED,
            action=Action.SUSPEND, decided_by=mod.id, decided_at=T0 + timedelta(hours=2),
            decision_reason="nope", suspended_until=until,
        ))
    assert (updated.report_count, updated.reasons) == (1, (ReportReason.NUDITY,))
    async with backend.uow() as tx:
        stored = await tx.moderation.get_case(case.id, for_update=True)
    assert stored == updated
    assert (stored.held, stored.assignee_id, stored.action, stored.decided_by) == (
        True, mod.id, Action.SUSPEND, mod.id
    )
    assert (stored.decided_at, stored.decision_reason, stored.suspended_until) == (
        T0 + timedelta(hours=2), "nope", until
    )


async def test_concurrent_reporters_of_one_target_make_one_case(backend: Adapters) -> None:
    """Every reporter at once, each in its own unit of work: open the target's case
    (held until the end), then report on it. One case, one report each."""
    owner = await add_user(backend)
    reporters = [await add_user(backend) for _ in range(12)]
    rng = random.Random(7)
    reasons = list(ReportReason)

    async def one(user_id: int) -> int:
        async with backend.uow() as tx:
            case = await tx.moderation.open_case(VIDEO, 77, owner.id, T0)
            await asyncio.sleep(rng.random() / 100)
            case = await tx.moderation.add_report(Report(
                id=0, case_id=case.id, reporter_id=user_id, reason=rng.choice(reasons),
                created_at=T0,
            ))
            return case.id

    ids = await asyncio.gather(*(one(r.id) for r in reporters))
    assert len(set(ids)) == 1
    async with backend.uow() as tx:
        case = await tx.moderation.get_case(ids[0])
        reports = (await tx.moderation.reports([case.id]))[case.id]
        open_cases = await tx.moderation.list_cases(CaseFilter(), None, 10)
    assert case.report_count == len(reports) == len(reporters)
    assert {r.reporter_id for r in reports} == {r.id for r in reporters}
    assert set(case.reasons) == {r.reason for r in reports}
    assert len(case.reasons) == len(set(case.reasons))
    assert [c.id for c in open_cases] == [case.id]


async def test_concurrent_reports_on_one_case_are_all_counted(backend: Adapters) -> None:
    """add_report alone (no open_case lock first) still counts every report."""
    owner = await add_user(backend)
    reporters = [await add_user(backend) for _ in range(10)]
    case = await open_case(backend, USER, owner.id, owner.id)
    await asyncio.gather(*(report(backend, case.id, r.id) for r in reporters))
    async with backend.uow() as tx:
        assert (await tx.moderation.get_case(case.id)).report_count == len(reporters)


async def test_reports_today_counts_the_reporters_reports_since(backend: Adapters) -> None:
    owner, someone, other = (await add_user(backend), await add_user(backend),
                             await add_user(backend))
    for n in range(3):
        case = await open_case(backend, VIDEO, 100 + n, owner.id)
        await report(backend, case.id, someone.id, at=T0 + timedelta(hours=n))
    case = await open_case(backend, VIDEO, 100, owner.id)
    await report(backend, case.id, other.id, at=T0)
    async with backend.uow() as tx:
        assert await tx.moderation.reports_today(someone.id, T0) == 3
        assert await tx.moderation.reports_today(someone.id, T0 + timedelta(hours=1)) == 2
        assert await tx.moderation.reports_today(someone.id, T0 + timedelta(hours=3)) == 0
        assert await tx.moderation.reports_today(other.id, T0 - timedelta(days=1)) == 1
        assert await tx.moderation.reports_today(owner.id, T0 - timedelta(days=1)) == 0


async def test_reports_today_for_update_counts_one_reporters_reports_one_by_one(
    backend: Adapters,
) -> None:
    """Under the reporter's lock, a count that is followed by an insert sees the insert
    of the unit of work that counted before it: a cap on the count holds at once."""
    owner, someone, other = (await add_user(backend), await add_user(backend),
                             await add_user(backend))
    cases = [await open_case(backend, VIDEO, 200 + n, owner.id) for n in range(4)]
    counted: list[int] = []

    async def count_then_report(case: Case, reporter: int) -> None:
        async with backend.uow() as tx:
            counted.append(await tx.moderation.reports_today(
                reporter, T0 - timedelta(days=1), for_update=True))
            await asyncio.sleep(0.05)  # hold the lock a while: the others are waiting
            await tx.moderation.add_report(Report(
                id=0, case_id=case.id, reporter_id=reporter, reason=ReportReason.SPAM,
                created_at=T0))

    await asyncio.gather(*(count_then_report(c, someone.id) for c in cases[:3]),
                         count_then_report(cases[3], other.id))
    assert sorted(counted) == [0, 0, 1, 2], "someone's three counted 0, 1, 2; other's 0"


async def test_the_queue_orders_by_reports_then_age_then_id_and_pages_by_keyset(
    backend: Adapters,
) -> None:
    owner, mod = await add_user(backend), await add_user(backend)
    reporters = [await add_user(backend) for _ in range(3)]
    # (target type, target id, opened, reasons given)
    plan = [
        (VIDEO, 1, T0, [ReportReason.SPAM]),
        (VIDEO, 2, T0 - timedelta(hours=1), [ReportReason.SPAM]),
        (COMMENT, 3, T0, [ReportReason.HATE, ReportReason.SPAM, ReportReason.HATE]),
        (USER, owner.id, T0, [ReportReason.HARASSMENT, ReportReason.OTHER]),
        (VIDEO, 4, T0, [ReportReason.SPAM]),  # same count and age as 1: by id
        (VIDEO, 5, T0 - timedelta(days=1), []),
    ]
    cases: list[Case] = []
    for kind, target, opened, given in plan:
        case = await open_case(backend, kind, target, owner.id, opened)
        for who, why in zip(reporters, given, strict=False):
            case = await report(backend, case.id, who.id, why)
        cases.append(case)
    v1, v2, c3, u, v4, v5 = cases
    closed = await resolve(backend, v5.id, mod.id)

    async def ids(where: CaseFilter, after: CaseKey | None = None, limit: int = 50) -> list[int]:
        async with backend.uow() as tx:
            return [c.id for c in await tx.moderation.list_cases(where, after, limit)]

    assert await ids(CaseFilter()) == [c3.id, u.id, v2.id, v1.id, v4.id]
    assert await ids(CaseFilter(target_type=VIDEO)) == [v2.id, v1.id, v4.id]
    assert await ids(CaseFilter(reason=ReportReason.SPAM)) == [c3.id, v2.id, v1.id, v4.id]
    assert await ids(CaseFilter(reason=ReportReason.OTHER)) == [u.id]
    assert await ids(CaseFilter(status=CaseStatus.RESOLVED)) == [closed.id]
    assert await ids(CaseFilter(status=None)) == [c3.id, u.id, v2.id, v1.id, v4.id, v5.id]
    assert await ids(CaseFilter(status=None, target_type=USER)) == [u.id]
    assert await ids(CaseFilter(), limit=0) == []

    # Pages of 2, each strictly after the last case of the one before.
    seen: list[int] = []
    after: CaseKey | None = None
    async with backend.uow() as tx:
        while True:
            page = await tx.moderation.list_cases(CaseFilter(), after, 2)
            if not page:
                break
            seen += [c.id for c in page]
            last = page[-1]
            after = CaseKey(last.report_count, last.opened_at, last.id)
    assert seen == [c3.id, u.id, v2.id, v1.id, v4.id]
    # A key between cases: v1's count and age with a smaller id than v4.
    assert await ids(CaseFilter(), CaseKey(1, T0, v1.id)) == [v4.id]
    assert await ids(CaseFilter(), CaseKey(2, T0 + timedelta(days=9), 0)) == [
        v2.id, v1.id, v4.id
    ]


# ---------------------------------------------------------------- appeals and strikes


async def test_one_appeal_per_case_then_decided_and_listed(backend: Adapters) -> None:
    owner, mod = await add_user(backend), await add_user(backend)
    cases = [await open_case(backend, VIDEO, n, owner.id) for n in range(1, 5)]
    appeals: list[Appeal] = []
    for n, case in enumerate(cases):
        async with backend.uow() as tx:
            appeals.append(await tx.moderation.add_appeal(Appeal(
                id=0, case_id=case.id, user_id=owner.id, body=f"sorry {n}",
                created_at=T0 + timedelta(minutes=n),
            )))
    first = appeals[0]
    assert (first.case_id, first.user_id, first.body, first.status) == (
        cases[0].id, owner.id, "sorry 0", AppealStatus.PENDING
    )
    assert first.id > 0 and first.decided_by is None
    async with backend.uow() as tx:
        with pytest.raises(Conflict) as twice:
            await tx.moderation.add_appeal(attrs.evolve(first, body="again"))
    assert twice.value.code == "appeal_exists"
    async with backend.uow() as tx:
        with pytest.raises(NotFound) as no_case:
            await tx.moderation.add_appeal(attrs.evolve(first, case_id=999_999))
    assert no_case.value.code == "case_not_found"

    decided = attrs.evolve(
        appeals[1], status=AppealStatus.ACCEPTED, decided_by=mod.id,
        decided_at=T0 + timedelta(hours=1), decision_reason="fair",
    )
    async with backend.uow() as tx:
        locked = await tx.moderation.get_appeal(appeals[1].id, for_update=True)
        assert locked == appeals[1]
        assert await tx.moderation.update_appeal(decided) == decided
    async with backend.uow() as tx:
        assert await tx.moderation.get_appeal(decided.id) == decided
        with pytest.raises(NotFound) as gone:
            await tx.moderation.get_appeal(999_999)
        assert gone.value.code == "appeal_not_found"
        with pytest.raises(NotFound):
            await tx.moderation.update_appeal(attrs.evolve(decided, id=999_999))

    async with backend.uow() as tx:
        every = await tx.moderation.list_appeals(None, None, 10)
        pending = await tx.moderation.list_appeals(AppealStatus.PENDING, None, 10)
        page_one = await tx.moderation.list_appeals(AppealStatus.PENDING, None, 2)
        page_two = await tx.moderation.list_appeals(
            AppealStatus.PENDING, page_one[-1].id, 2
        )
        accepted = await tx.moderation.list_appeals(AppealStatus.ACCEPTED, None, 10)
        rejected = await tx.moderation.list_appeals(AppealStatus.REJECTED, None, 10)
    assert [a.id for a in every] == [a.id for a in appeals]
    assert [a.id for a in pending] == [appeals[0].id, appeals[2].id, appeals[3].id]
    assert [a.id for a in page_one + page_two] == [a.id for a in pending]
    assert accepted == [decided] and rejected == []


async def test_strikes_are_one_per_case_and_counted_per_user(backend: Adapters) -> None:
    one, two, three = (await add_user(backend), await add_user(backend),
                       await add_user(backend))
    c1, c2, c3 = [await open_case(backend, USER, u.id, u.id) for u in (one, one, two)]
    assert c1.id == c2.id  # one open case per target
    c2 = await open_case(backend, VIDEO, 9, one.id)
    async with backend.uow() as tx:
        await tx.moderation.add_strike(one.id, c1.id, T0)
        await tx.moderation.add_strike(one.id, c1.id, T0 + timedelta(hours=1))  # again
        await tx.moderation.add_strike(one.id, c2.id, T0)
        await tx.moderation.add_strike(two.id, c3.id, T0)
    async with backend.uow() as tx:
        assert await tx.moderation.strikes([one.id, two.id, three.id]) == {one.id: 2, two.id: 1}
        assert await tx.moderation.strikes([]) == {}
        await tx.moderation.remove_strike(c1.id)
        await tx.moderation.remove_strike(c1.id)  # idempotent
        await tx.moderation.remove_strike(999_999)
    async with backend.uow() as tx:
        assert await tx.moderation.strikes([one.id, two.id]) == {one.id: 1, two.id: 1}


# ---------------------------------------------------------------- the audit trail


async def test_the_audit_trail_lists_newest_first_with_filters_and_pages(
    backend: Adapters,
) -> None:
    admin, mod = await add_user(backend), await add_user(backend)
    entries = [
        await audit(backend, actor_id=admin.id, action="settings.update", target_type="settings",
                    target_id=None, reason="tuning", data={"changes": {"bereal_lock": False}},
                    created_at=T0),
        await audit(backend, actor_id=mod.id, action="case.resolve", target_type="video",
                    target_id=7, reason="spam", data={"case_id": 1, "decision": "remove"},
                    created_at=T0 + timedelta(hours=1)),
        await audit(backend, actor_id=mod.id, action="user.ban", target_type="user",
                    target_id=admin.id + 100, created_at=T0 + timedelta(hours=2)),
        await audit(backend, actor_id=None, action="settings.update", target_type="settings",
                    created_at=T0 + timedelta(days=1),
                    data={"nested": {"list": [1, "two", None], "ok": True}}),
        await audit(backend, actor_id=mod.id, action="case.resolve", target_type="comment",
                    target_id=7, created_at=T0 + timedelta(days=2)),
    ]
    settings, resolved, banned, operator, comment = entries
    assert settings.id > 0 and settings.data == {"changes": {"bereal_lock": False}}
    assert operator.actor_id is None
    assert operator.data == {"nested": {"list": [1, "two", None], "ok": True}}

    async def ids(where: AuditFilter, before: int | None = None, limit: int = 50) -> list[int]:
        async with backend.uow() as tx:
            return [e.id for e in await tx.audit.list(where, before, limit)]

    newest_first = [e.id for e in reversed(entries)]
    assert await ids(AuditFilter()) == newest_first
    async with backend.uow() as tx:
        assert await tx.audit.list(AuditFilter(), None, 50) == list(reversed(entries))
    assert await ids(AuditFilter(actor_id=mod.id)) == [comment.id, banned.id, resolved.id]
    assert await ids(AuditFilter(action="settings.update")) == [operator.id, settings.id]
    assert await ids(AuditFilter(target_type="video", target_id=7)) == [resolved.id]
    assert await ids(AuditFilter(target_id=7)) == [comment.id, resolved.id]
    assert await ids(AuditFilter(since=T0 + timedelta(hours=1))) == newest_first[:4]
    assert await ids(AuditFilter(until=T0 + timedelta(hours=2))) == [resolved.id, settings.id]
    assert await ids(AuditFilter(since=T0 + timedelta(hours=1), until=T0 + timedelta(days=1),
                                 actor_id=mod.id)) == [banned.id, resolved.id]
    assert await ids(AuditFilter(), limit=0) == []
    pages: list[int] = []
    before: int | None = None
    while page := await ids(AuditFilter(), before, 2):
        pages += page
        before = page[-1]
    assert pages == newest_first
    assert await ids(AuditFilter(actor_id=mod.id), comment.id, 1) == [banned.id]


async def test_the_database_refuses_to_change_the_audit_trail(
    clean_pg_pool: asyncpg.Pool,
) -> None:
    """Append-only in PostgreSQL itself: UPDATE, DELETE and TRUNCATE fail, even for the
    superuser the tests connect as (only a disabled trigger would let them through)."""
    async with clean_pg_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO audit_log (action, created_at) VALUES ('user.ban', $1)", T0
        )
        for statement in (
            "UPDATE audit_log SET reason = 'rewritten'",
            "DELETE FROM audit_log",
            "DELETE FROM audit_log WHERE false",  # refused even when it matches nothing
            "TRUNCATE audit_log",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE reason IS NULL") == 1


# ---------------------------------------------------------------- runtime settings


async def test_runtime_settings_start_empty_and_round_trip(backend: Adapters) -> None:
    async with backend.uow() as tx:
        assert await tx.config.load() == RuntimeConfig()
    chosen = RuntimeConfig(
        allowed_email_domains=("bsu.by", "*.edu"),
        max_video_bytes=5_000_000,
        max_video_seconds=30.0,
        bereal_lock=False,
        report_threshold=5,
        rate_limits={"login": (5, 60), "upload": (100, 86_400)},
    )
    async with backend.uow() as tx:
        await tx.config.save(chosen)
    async with backend.uow() as tx:
        loaded = await tx.config.load()
    assert loaded == chosen
    assert isinstance(loaded.allowed_email_domains, tuple)
    assert isinstance(loaded.max_video_seconds, float)
    partial = RuntimeConfig(max_video_seconds=12.5, allowed_email_domains=())
    async with backend.uow() as tx:
        await tx.config.save(partial)
    async with backend.uow() as tx:
        assert await tx.config.load() == partial
        await tx.config.save(RuntimeConfig())
    async with backend.uow() as tx:
        assert await tx.config.load() == RuntimeConfig()


async def test_settings_saved_in_a_rolled_back_unit_of_work_are_not_kept(
    backend: Adapters,
) -> None:
    with pytest.raises(RuntimeError):
        async with backend.uow() as tx:
            await tx.config.save(RuntimeConfig(report_threshold=9))
            raise RuntimeError("boom")
    async with backend.uow() as tx:
        assert await tx.config.load() == RuntimeConfig()


# ---------------------------------------------------------------- user search


async def test_user_search_without_emails_matches_nicknames_only(backend: Adapters) -> None:
    """What moderators search with: an email's prefix finds no one (no oracle for
    addresses), a nickname's still does."""
    alice = await add_user(backend, email="alice@example.com", nickname="wonder")
    alfred = await add_user(backend, email="fred@example.org", nickname="alfred")

    async def ids(where: UserFilter) -> list[int]:
        async with backend.uow() as tx:
            return [u.id for u in await tx.users.search(where, None, 50)]

    assert await ids(UserFilter(query="al")) == [alice.id, alfred.id]
    assert await ids(UserFilter(query="al", by_email=False)) == [alfred.id]
    assert await ids(UserFilter(query="alice@", by_email=False)) == []
    assert await ids(UserFilter(query="fred", by_email=False)) == []
    assert await ids(UserFilter(query="WON", by_email=False)) == [alice.id]
    assert await ids(UserFilter(by_email=False)) == [alice.id, alfred.id]


async def test_user_search_by_prefix_role_and_status_pages_by_id(backend: Adapters) -> None:
    alice = await add_user(backend, email="Alice@Example.com", nickname="wonder")
    alfred = await add_user(backend, email="fred@example.org", nickname="AlFred")
    underscore = await add_user(backend, email="al_x@example.net", nickname="under")
    percent = await add_user(backend, email="al%y@example.net", nickname="percent")
    mod = await add_user(backend, email="mod@example.com", nickname="alma", role=Role.MODERATOR)
    banned = await add_user(backend, email="alb@example.com", nickname="gone",
                            status=AccountStatus.BANNED)
    bob = await add_user(backend, email="bob@al.com", nickname="bob")

    async def ids(where: UserFilter, after: int | None = None, limit: int = 50) -> list[int]:
        async with backend.uow() as tx:
            return [u.id for u in await tx.users.search(where, after, limit)]

    everyone = [alice.id, alfred.id, underscore.id, percent.id, mod.id, banned.id, bob.id]
    assert await ids(UserFilter()) == everyone
    assert await ids(UserFilter(query="  ")) == everyone
    al = [alice.id, alfred.id, underscore.id, percent.id, mod.id, banned.id]
    assert await ids(UserFilter(query="al")) == al
    assert await ids(UserFilter(query="  AL ")) == al  # trimmed, any case
    assert await ids(UserFilter(query="alice@example.COM")) == [alice.id]
    assert await ids(UserFilter(query="alf")) == [alfred.id]  # the nickname
    assert await ids(UserFilter(query="al_")) == [underscore.id]  # "_" is a character
    assert await ids(UserFilter(query="al%")) == [percent.id]  # and so is "%"
    assert await ids(UserFilter(query="example")) == []  # a prefix, not a substring
    assert await ids(UserFilter(query="bob@al.com")) == [bob.id]
    assert await ids(UserFilter(query="bob@al.comx")) == []
    assert await ids(UserFilter(query="zz\U0010ffff")) == []
    assert await ids(UserFilter(query="al\x00")) == []
    assert await ids(UserFilter(role="moderator")) == [mod.id]
    assert await ids(UserFilter(query="al", role="user", status="active")) == [
        alice.id, alfred.id, underscore.id, percent.id
    ]
    assert await ids(UserFilter(status="banned")) == [banned.id]
    assert await ids(UserFilter(query="bo", status="banned")) == []
    assert await ids(UserFilter(query="al"), after=underscore.id) == [
        percent.id, mod.id, banned.id
    ]
    pages: list[int] = []
    after: int | None = None
    while page := await ids(UserFilter(query="al"), after, 4):
        pages += page
        after = page[-1]
    assert pages == al
    assert await ids(UserFilter(), limit=0) == []
    async with backend.uow() as tx:
        found = await tx.users.search(UserFilter(query="wonder"), None, 5)
        assert found == [await tx.users.get(alice.id)]


# ---------------------------------------------------------------- hidden comments


async def test_hidden_comments_leave_the_lists_and_come_back(backend: Adapters) -> None:
    author, fan = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id)

    async def add(parent: int | None, minute: int) -> Comment:
        async with backend.uow() as tx:
            return await tx.comments.add(Comment(
                id=0, video_id=video.id, author_id=fan.id, body=f"c{minute}",
                created_at=T0 + timedelta(minutes=minute), parent_id=parent,
            ))

    first, second = await add(None, 1), await add(None, 2)
    reply = await add(first.id, 3)
    assert not first.hidden

    async def listed(parent: int | None) -> list[int]:
        async with backend.uow() as tx:
            views = await tx.comments.list(video.id, parent, author.id, None, 10)
            return [v.comment.id for v in views]

    async with backend.uow() as tx:
        await tx.comments.set_hidden(second.id, True)
        await tx.comments.set_hidden(reply.id, True)
    assert await listed(None) == [first.id]
    assert await listed(first.id) == []
    async with backend.uow() as tx:
        assert (await tx.comments.get(second.id)).hidden
        assert (await tx.comments.get_for_update(reply.id)).hidden
        assert (await tx.videos.get(video.id)).comment_count == 1  # what a reader reaches
        assert (await tx.comments.get(first.id)).reply_count == 0
        await tx.comments.set_hidden(second.id, True)  # again: no change
        await tx.comments.set_hidden(reply.id, False)
    assert await listed(None) == [first.id]
    assert await listed(first.id) == [reply.id]
    async with backend.uow() as tx:
        assert (await tx.videos.get(video.id)).comment_count == 2
        assert (await tx.comments.get(first.id)).reply_count == 1
        await tx.comments.set_hidden(second.id, False)
    assert await listed(None) == [first.id, second.id]
    async with backend.uow() as tx:
        assert (await tx.videos.get(video.id)).comment_count == 3
    async with backend.uow() as tx:
        with pytest.raises(NotFound) as gone:
            await tx.comments.set_hidden(999_999, True)
    assert gone.value.code == "comment_not_found"


async def test_hidden_comments_count_nowhere_whatever_happens_next(
    backend: Adapters, request: pytest.FixtureRequest
) -> None:
    """A hidden top-level comment takes its visible replies out of the video's count and
    brings them back when shown; replies added, hidden or deleted meanwhile, and the
    deletion of the hidden comment itself, keep every counter equal to its rows."""
    author, fan = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id)

    async def add(parent: int | None) -> Comment:
        async with backend.uow() as tx:
            return await tx.comments.add(Comment(
                id=0, video_id=video.id, author_id=fan.id, body="c",
                created_at=T0, parent_id=parent,
            ))

    async def counts(*ids: int) -> tuple[int, ...]:
        async with backend.uow() as tx:
            video_count = (await tx.videos.get(video.id)).comment_count
            return (video_count, *[(await tx.comments.get(i)).reply_count for i in ids])

    top, other = await add(None), await add(None)
    r1, r2, r3 = await add(top.id), await add(top.id), await add(top.id)
    assert await counts(top.id) == (5, 3)
    async with backend.uow() as tx:
        await tx.comments.set_hidden(r1.id, True)
    assert await counts(top.id) == (4, 2)
    async with backend.uow() as tx:
        await tx.comments.set_hidden(top.id, True)
    assert await counts(top.id) == (1, 2)  # the thread left with its head
    r4 = await add(top.id)  # a reply that lands meanwhile counts on its parent only
    assert await counts(top.id) == (1, 3)
    async with backend.uow() as tx:
        assert await tx.comments.delete(r2.id) == 1
    assert await counts(top.id) == (1, 2)
    async with backend.uow() as tx:
        await tx.comments.set_hidden(top.id, False)
    assert await counts(top.id) == (4, 2)  # top, r3, r4 and other; r1 stays hidden
    async with backend.uow() as tx:
        await tx.comments.set_hidden(top.id, True)
    async with backend.uow() as tx:
        assert await tx.comments.delete(top.id) == 4  # itself, r1, r3 and r4
    assert await counts(other.id) == (1, 0)
    async with backend.uow() as tx:
        await tx.comments.set_hidden(other.id, True)
        assert await tx.comments.delete(other.id) == 1
    assert await counts() == (0,)
    await assert_counters_match_rows(
        backend, [author.id, fan.id], [video.id],
        [top.id, other.id, r1.id, r2.id, r3.id, r4.id],
        request.getfixturevalue("clean_pg_pool") if backend.name == "postgres" else None,
    )


# ---------------------------------------------------------------- deleting users


async def test_deleting_users_takes_their_moderation_rows_but_not_the_audit_trail(
    backend: Adapters,
) -> None:
    owner, reporter, mod, bystander = (
        await add_user(backend), await add_user(backend), await add_user(backend),
        await add_user(backend),
    )
    about_owner = await open_case(backend, USER, owner.id, owner.id)
    await report(backend, about_owner.id, reporter.id)
    about_bystander = await open_case(backend, VIDEO, 5, bystander.id)
    await report(backend, about_bystander.id, reporter.id, ReportReason.HATE)
    await report(backend, about_bystander.id, owner.id, ReportReason.SPAM)
    decided = await resolve(backend, about_owner.id, mod.id)
    async with backend.uow() as tx:
        await tx.moderation.update_case(attrs.evolve(
            await tx.moderation.get_case(about_bystander.id), assignee_id=mod.id
        ))
        appeal = await tx.moderation.add_appeal(Appeal(
            id=0, case_id=decided.id, user_id=owner.id, body="unfair", created_at=T0
        ))
        bystander_appeal = await tx.moderation.add_appeal(Appeal(
            id=0, case_id=about_bystander.id, user_id=bystander.id, body="hm", created_at=T0
        ))
        await tx.moderation.add_strike(owner.id, decided.id, T0)
        await tx.moderation.add_strike(bystander.id, about_bystander.id, T0)
    trail = [
        await audit(backend, actor_id=mod.id, action="case.resolve", target_type="user",
                    target_id=owner.id),
        await audit(backend, actor_id=owner.id, action="settings.update"),
    ]

    async with backend.uow() as tx:
        await tx.users.delete(owner.id)
    async with backend.uow() as tx:
        with pytest.raises(NotFound):
            await tx.moderation.get_case(decided.id)  # the case about them went
        with pytest.raises(NotFound):
            await tx.moderation.get_appeal(appeal.id)
        assert await tx.moderation.reports([decided.id]) == {}
        assert await tx.moderation.strikes([owner.id, bystander.id]) == {bystander.id: 1}
        remaining = (await tx.moderation.reports([about_bystander.id]))[about_bystander.id]
        assert [r.reporter_id for r in remaining] == [reporter.id]  # their report went
        kept = await tx.moderation.get_case(about_bystander.id)
        # The count follows the reports (the queue says "1 report" and shows one).
        assert (kept.report_count, kept.assignee_id) == (1, mod.id)
        assert kept.reasons == (ReportReason.HATE, ReportReason.SPAM)  # what was said
        assert await tx.moderation.get_appeal(bystander_appeal.id) == bystander_appeal
        assert await tx.moderation.reports_today(owner.id, T0) == 0
        assert await tx.audit.list(AuditFilter(), None, 10) == list(reversed(trail))

    async with backend.uow() as tx:
        await tx.users.delete(mod.id)
        await tx.users.delete(reporter.id)
    async with backend.uow() as tx:
        kept = await tx.moderation.get_case(about_bystander.id)
        assert (kept.assignee_id, kept.report_count) == (None, 0)  # unassigned, not gone
        assert await tx.moderation.reports([about_bystander.id]) == {}
        assert await tx.moderation.list_cases(CaseFilter(), None, 10) == [kept]
        assert await tx.audit.list(AuditFilter(actor_id=mod.id), None, 10) == [trail[0]]


async def test_a_decision_keeps_who_decided_after_they_are_gone(backend: Adapters) -> None:
    owner, mod = await add_user(backend), await add_user(backend)
    case = await open_case(backend, USER, owner.id, owner.id)
    decided = await resolve(backend, case.id, mod.id)
    async with backend.uow() as tx:
        appeal = await tx.moderation.add_appeal(Appeal(
            id=0, case_id=case.id, user_id=owner.id, body="x", created_at=T0,
        ))
        appeal = await tx.moderation.update_appeal(attrs.evolve(
            appeal, status=AppealStatus.REJECTED, decided_by=mod.id, decided_at=T0,
            decision_reason="no",
        ))
        await tx.users.delete(mod.id)
    async with backend.uow() as tx:
        assert (await tx.moderation.get_case(case.id)).decided_by == decided.decided_by
        assert (await tx.moderation.get_appeal(appeal.id)).decided_by == mod.id


# ---------------------------------------------------------------- statistics


async def test_the_stats_series_counts_cases_opened_and_resolved_and_the_median(
    backend: Adapters,
) -> None:
    owner, mod = await add_user(backend), await add_user(backend)
    day1, day2 = T0, T0 + timedelta(days=1)  # 2026-01-05 and -06, 12:00 UTC
    a = await open_case(backend, VIDEO, 1, owner.id, day1)
    b = await open_case(backend, VIDEO, 2, owner.id, day1)
    c = await open_case(backend, VIDEO, 3, owner.id, day2)
    await open_case(backend, VIDEO, 4, owner.id, day2)  # still open
    d = await open_case(backend, VIDEO, 5, owner.id, day1 - timedelta(days=3))
    await resolve(backend, a.id, mod.id, day1 + timedelta(seconds=100))
    await resolve(backend, b.id, mod.id, day1 + timedelta(seconds=201, microseconds=500_001))
    await resolve(backend, c.id, mod.id, day2 + timedelta(seconds=30, microseconds=999_999))
    # Opened before the series, resolved in its second day, near midnight.
    d_at = datetime(2026, 1, 6, 23, 59, 59, tzinfo=day1.tzinfo)
    await resolve(backend, d.id, mod.id, d_at)
    d_micros = (d_at - d.opened_at) // timedelta(microseconds=1)
    async with backend.uow() as tx:
        days = await tx.stats.series(date(2026, 1, 5), date(2026, 1, 7), 1)
        week = await tx.stats.series(date(2026, 1, 5), date(2026, 1, 7), 7)
        before = await tx.stats.series(date(2025, 12, 1), date(2025, 12, 1), 1)
    assert [(p.reports_opened, p.reports_resolved, p.median_resolve_seconds) for p in days] == [
        (2, 2, 150),  # 100 s and 201.500001 s: 150.75 s, rounded down
        # 30.999999 s and 4 days 11:59:59 (d): the mean of the two, rounded down
        (2, 2, (30_999_999 + d_micros) // 2 // 1_000_000),
        (0, 0, None),
    ]
    assert len(week) == 1
    # Four durations: the mean of the middle two (100 s and 201.500001 s).
    assert (week[0].reports_opened, week[0].reports_resolved) == (4, 4)
    assert week[0].median_resolve_seconds == 150
    assert [(p.reports_opened, p.reports_resolved, p.median_resolve_seconds)
            for p in before] == [(0, 0, None)]


async def test_case_contents_come_for_a_whole_page_at_once(backend: Adapters) -> None:
    author, fan = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id, description="look")
    async with backend.uow() as tx:
        comment = await tx.comments.add(Comment(
            id=0, video_id=video.id, author_id=fan.id, body="rude", created_at=T0,
        ))
        await tx.comments.set_hidden(comment.id, True)
    cases = [
        await open_case(backend, VIDEO, video.id, author.id),
        await open_case(backend, COMMENT, comment.id, fan.id),
        await open_case(backend, USER, fan.id, fan.id),
        await open_case(backend, VIDEO, 10_000, author.id),  # its target is gone
    ]
    async with backend.uow() as tx:
        contents = await tx.moderation.contents(cases)
        owners = {k: v.owner.id if v.owner else None for k, v in contents.items()}
        assert sorted(contents) == sorted(c.id for c in cases[:3])
        assert owners == {cases[0].id: author.id, cases[1].id: fan.id, cases[2].id: fan.id}
        on_video, on_comment, on_user = (contents[c.id] for c in cases[:3])
        assert (on_video.type, on_video.id, on_video.text, on_video.status,
                on_video.video_id) == (VIDEO, video.id, "look", video.status.value, video.id)
        assert (on_comment.type, on_comment.id, on_comment.text, on_comment.status,
                on_comment.video_id) == (COMMENT, comment.id, "rude", "hidden", video.id)
        assert (on_user.type, on_user.id, on_user.status) == (USER, fan.id, "active")
        assert await tx.moderation.contents([]) == {}


# ---------------------------------------------------------------- deciding what went


def _moderation(backend: Adapters, clock: ManualClock) -> Moderation:
    return Moderation(uow=backend.uow, clock=clock, config=runtime_config(backend.uow, clock))


async def _reported_and_gone(
    backend: Adapters, clock: ManualClock, kind: str
) -> tuple[Moderation, Principal, int, int]:
    """A video or comment reported, then deleted by its author: (service, the admin,
    the case id, the author's id)."""
    moderation = _moderation(backend, clock)
    author, reporter = await add_user(backend), await add_user(backend)
    admin = await add_user(backend, role=Role.ADMIN)
    video = await add_video(backend, author.id)
    target = video.id if kind == "video" else (await comment(backend, author.id, video.id)).id
    who = Principal(user_id=reporter.id, role=Role.USER, session_id=1)
    case_id = (await moderation.report(who, kind, target, "spam")).case_id
    async with backend.uow() as tx:
        if kind == "video":
            await tx.videos.delete(video.id)
        else:
            await tx.comments.delete(target)
    staff = Principal(user_id=admin.id, role=Role.ADMIN, session_id=2)
    return moderation, staff, case_id, author.id


@pytest.mark.parametrize("kind", ["video", "comment"])
@pytest.mark.parametrize("action", ["ban", "suspend", "remove", "warn", "dismiss"])
async def test_a_case_about_content_its_author_deleted_is_still_decided(
    backend: Adapters, clock: ManualClock, kind: str, action: str
) -> None:
    moderation, admin, case_id, author_id = await _reported_and_gone(backend, clock, kind)
    duration = timedelta(days=1) if action == "suspend" else None
    case = await moderation.resolve(admin, case_id, action, "spam", duration)
    assert (case.status, case.action) == (CaseStatus.RESOLVED, Action(action))
    async with backend.uow() as tx:
        owner = await tx.users.get(author_id)
        notices = await tx.notifications.list(author_id, None, 10)
        strikes = await tx.moderation.strikes([author_id])
    expected = {"ban": AccountStatus.BANNED, "suspend": AccountStatus.SUSPENDED}
    assert owner.status is expected.get(action, AccountStatus.ACTIVE)  # the conduct counts
    assert strikes == ({author_id: 1} if action == "warn" else {})
    # The author hears the decision; the notice links nothing (the content is gone).
    assert [(n.notification.text, n.notification.video_id, n.notification.comment_id)
            for n in notices] == ([] if action == "dismiss" else [(f"{action}: spam", None, None)])


async def test_a_case_about_an_account_deleted_since_goes_with_it(
    backend: Adapters, clock: ManualClock
) -> None:
    moderation, admin, case_id, author_id = await _reported_and_gone(backend, clock, "video")
    user_case = (await moderation.report(
        Principal(user_id=admin.user_id, role=Role.ADMIN, session_id=2), "user", author_id,
        "spam",
    )).case_id
    async with backend.uow() as tx:
        await tx.users.delete(author_id)
    for gone in (case_id, user_case):
        with pytest.raises(NotFound) as raised:
            await moderation.resolve(admin, gone, "ban", "spam")
        assert raised.value.code == "case_not_found"


async def test_a_case_about_a_user_is_decided_and_links_no_content(
    backend: Adapters, clock: ManualClock
) -> None:
    moderation = _moderation(backend, clock)
    user, reporter = await add_user(backend), await add_user(backend)
    admin = Principal(user_id=(await add_user(backend, role=Role.ADMIN)).id, role=Role.ADMIN,
                      session_id=2)
    who = Principal(user_id=reporter.id, role=Role.USER, session_id=1)
    case_id = (await moderation.report(who, "user", user.id, "spam")).case_id
    with pytest.raises(Invalid):
        await moderation.resolve(admin, case_id, "remove", "spam")
    await moderation.resolve(admin, case_id, "ban", "spam")
    async with backend.uow() as tx:
        assert (await tx.users.get(user.id)).status is AccountStatus.BANNED
        notices = await tx.notifications.list(user.id, None, 10)
    assert [(n.notification.video_id, n.notification.comment_id) for n in notices] == [
        (None, None)
    ]


async def test_a_notification_about_a_video_or_comment_that_is_gone_is_refused(
    backend: Adapters,
) -> None:
    user = await add_user(backend)
    for fields, code in (({"video_id": 10**9}, "video_not_found"),
                         ({"comment_id": 10**9}, "comment_not_found"),
                         ({"actor_id": 10**9}, "user_not_found")):
        with pytest.raises(NotFound) as raised:
            await notify(backend, user.id, **fields)
        assert raised.value.code == code
