"""Moderation: reports, the case queue, decisions, appeals, bans and the audit trail.

- Reports on one target form one open case. Once ``report_threshold`` distinct users have
  reported a video or a comment, it is held: hidden from everyone until a moderator
  decides (a held video's status is ``held``; a held comment is hidden).
- A decision closes the case: dismiss (the hold is lifted), remove (the content is
  hidden for good, restorable on appeal), warn (a strike; the hold is lifted), suspend or
  ban (the owner, at once; the content goes too). The owner is notified with the reason,
  the reporters learn the outcome.
- The owner may appeal a decision once; a moderator other than the one who decided
  judges it, and an accepted appeal restores the content and the account.
- A ban or suspension revokes every session, bumps the token version (access tokens are
  refused on their next request) and closes the user's live sockets. A suspension ends by
  itself. Staff act only on accounts of a lower role than their own.
- The operator (the CLI, ``actor`` None) may list and decide cases, ban, suspend and unban
  as any admin could, without the role checks; the audit trail records a null actor.
- Every staff action goes into the append-only audit trail, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from momentic_core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from momentic_core.model.accounts import AccountStatus, Principal, Role, User
from momentic_core.model.engagement import (
    Notification,
    NotificationKind,
    NotificationView,
)
from momentic_core.model.events import AccessChanged, AccountClosed, CommentHidden, VideoHidden
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
    CaseView,
    Report,
    ReportReason,
    StaffUserView,
    TargetType,
    UserFilter,
)
from momentic_core.model.videos import VideoStatus
from momentic_core.policies import permissions, rules
from momentic_core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from momentic_core.services import visibility
from momentic_core.services.accounts import announce_revoked
from momentic_core.services.config import Config
from momentic_core.services.engagement import Notifier
from momentic_core.services.ranking import Scorer

REASON_MAX = 500
NOTE_MAX = 500
APPEAL_MAX = 1000
REPORTS_PER_DAY = 20
MAX_SUSPENSION = timedelta(days=365)
_RANK = {Role.USER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}


def check_reason(reason: str | None) -> str:
    text = rules.check_text(reason, "reason", REASON_MAX)
    if not text:
        raise Invalid("Give a reason.", code="reason_required", field="reason")
    return text


def parse_enum(kind: type[Any], value: str, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(k.value for k in kind)
        raise Invalid(f"{field} is one of {choices}.", code="validation_failed",
                      field=field) from None


def _no_case() -> NotFound:
    return NotFound("No such case.", code="case_not_found")


def _not_own(actor: Principal, case: Case) -> None:
    """Nobody judges a case about themselves."""
    if case.owner_id == actor.user_id:
        raise Forbidden("Another moderator handles cases about you.", code="own_case")


class Moderation:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        config: Config,
        notifier: Notifier | None = None,
        scorer: Scorer | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier or Notifier()
        self._scorer = scorer or Scorer(clock=clock)
        self._config = config

    async def _threshold(self) -> int:
        return (await self._config.current()).report_threshold

    async def _audit(
        self,
        tx: UnitOfWork,
        actor: Principal | None,
        action: str,
        target_type: str | None,
        target_id: int | None,
        reason: str | None,
        **data: Any,
    ) -> None:
        await tx.audit.add(AuditEntry(
            id=0, actor_id=actor.user_id if actor else None, action=action,
            target_type=target_type, target_id=target_id, reason=reason,
            created_at=self._clock.now(), data=data,
        ))

    async def _notify(
        self, tx: UnitOfWork, user_id: int, text: str, *, video_id: int | None = None,
        comment_id: int | None = None,
    ) -> NotificationView | None:
        return await self._notifier.add(
            tx,
            Notification(id=0, user_id=user_id, kind=NotificationKind.MODERATION,
                         created_at=self._clock.now(), video_id=video_id,
                         comment_id=comment_id, text=text[:300]),
            None,
        )

    # ------------------------------------------------------------------ reports

    async def _reportable(
        self, tx: UnitOfWork, who: Principal, target_type: TargetType, target_id: int
    ) -> int:
        """The owner of a target the reporter can see. Raises NotFound, Invalid."""
        now = self._clock.now()
        if target_type is TargetType.VIDEO:
            video = await tx.videos.get(target_id)
            author = await tx.users.get(video.author_id)
            if video.status is not VideoStatus.READY or not await visibility.may_see(
                tx, now, who, video, author
            ):
                raise visibility.no_video()
            owner = video.author_id
        elif target_type is TargetType.COMMENT:
            comment = await tx.comments.get(target_id)
            video = await tx.videos.get(comment.video_id)
            author = await tx.users.get(video.author_id)
            commenter = await tx.users.get(comment.author_id)
            if (
                comment.hidden
                or video.status is not VideoStatus.READY
                or not await visibility.may_see(tx, now, who, video, author)
                or commenter.hidden_at(now)
                or await tx.social.blocked_either_way(who.user_id, comment.author_id)
            ):
                raise NotFound("No such comment.", code="comment_not_found")
            owner = comment.author_id
        else:
            user = await tx.users.get(target_id)
            if user.hidden_at(now) or await tx.social.blocked_either_way(
                who.user_id, target_id
            ):
                raise NotFound("No such user.", code="user_not_found")
            owner = target_id
        if owner == who.user_id:
            raise Invalid("You cannot report yourself.", code="cannot_report_self")
        return owner

    async def report(
        self,
        who: Principal,
        target_type: str,
        target_id: int,
        reason: str,
        note: str | None = None,
    ) -> Report:
        """Report a video, a comment or a user. Raises Invalid, NotFound,
        Conflict(code="report_exists"), RateLimited(code="too_many_reports").

        A user makes at most REPORTS_PER_DAY reports in 24 hours. Staff are not capped:
        reporting is how they open a case on someone else's content (they never delete
        it outright, see Videos.delete)."""
        kind = parse_enum(TargetType, target_type, "target_type")
        why = parse_enum(ReportReason, reason, "reason")
        text = rules.check_text(note, "note", NOTE_MAX)
        now = self._clock.now()
        threshold = await self._threshold()
        capped = not permissions.at_least(who.role, Role.MODERATOR)
        async with self._uow() as tx:
            # Counted under the reporter's lock: reports made at once count one by one.
            if capped and await tx.moderation.reports_today(
                who.user_id, now - timedelta(days=1), for_update=True
            ) >= REPORTS_PER_DAY:
                raise RateLimited(
                    "You reported a lot today; try again tomorrow.",
                    code="too_many_reports", retry_after=3600, limit=REPORTS_PER_DAY,
                )
            owner = await self._reportable(tx, who, kind, target_id)
            case = await tx.moderation.open_case(kind, target_id, owner, now)
            case = await tx.moderation.add_report(
                Report(id=0, case_id=case.id, reporter_id=who.user_id, reason=why,
                       created_at=now, note=text)
            )
            if not case.held and case.report_count >= threshold and kind is not TargetType.USER:
                await self._hide(tx, case, VideoStatus.HELD)
                case = await tx.moderation.update_case(attrs.evolve(case, held=True))
            reports = await tx.moderation.reports([case.id])
        return next(r for r in reports[case.id] if r.reporter_id == who.user_id)

    # ------------------------------------------------------------------ content

    async def _hide(self, tx: UnitOfWork, case: Case, status: VideoStatus) -> bool:
        """Hold (``held``) or remove (``removed``) the target's content. False when the
        content is gone (its author deleted it after the report): nothing to hide, and
        the case is still decided (the conduct is the point)."""
        if case.target_type is TargetType.VIDEO:
            try:
                video = await tx.videos.get_for_update(case.target_id)
            except NotFound:
                return False
            if video.status in (VideoStatus.READY, VideoStatus.HELD):
                await tx.videos.update(attrs.evolve(video, status=status))
                await self._scorer.recompute(tx, [video.author_id])
                # Live subscribers who may no longer see it are dropped.
                await tx.events.emit(VideoHidden(video.id))
                if video.status is VideoStatus.READY:  # it may have opened friends' moments
                    await tx.events.emit(AccessChanged(video.author_id))
        elif case.target_type is TargetType.COMMENT:
            try:
                comment = await tx.comments.get_for_update(case.target_id)
            except NotFound:
                return False
            if not comment.hidden:
                await tx.comments.set_hidden(comment.id, True)
                video = await tx.videos.get(comment.video_id)
                await self._scorer.recompute(tx, [video.author_id])  # it earns no more
                count = (await tx.videos.get(comment.video_id)).comment_count
                await tx.events.emit(
                    CommentHidden(comment.id, comment.video_id, comment.parent_id, count)
                )
        return True

    async def _show(self, tx: UnitOfWork, case: Case) -> bool:
        """Lift a hold, or restore removed content. False when the content is gone."""
        if case.target_type is TargetType.VIDEO:
            try:
                video = await tx.videos.get_for_update(case.target_id)
            except NotFound:
                return False
            if video.status in (VideoStatus.HELD, VideoStatus.REMOVED):
                await tx.videos.update(attrs.evolve(video, status=VideoStatus.READY))
                await self._scorer.recompute(tx, [video.author_id])
        elif case.target_type is TargetType.COMMENT:
            try:
                comment = await tx.comments.get_for_update(case.target_id)
            except NotFound:
                return False
            if comment.hidden:
                await tx.comments.set_hidden(comment.id, False)
                video = await tx.videos.get(comment.video_id)
                await self._scorer.recompute(tx, [video.author_id])
        return True

    # ------------------------------------------------------------------ the queue

    async def cases(
        self, actor: Principal | None, where: CaseFilter, after: CaseKey | None, limit: int
    ) -> list[CaseView]:
        """The queue (``actor`` None: the operator): most reports first, then the oldest."""
        if actor is not None:
            permissions.require_role(actor.role, Role.MODERATOR)
            # Nobody sees (or judges) the reports about themselves.
            where = attrs.evolve(where, not_owner=actor.user_id)
        async with self._uow() as tx:
            cases = await tx.moderation.list_cases(where, after, limit)
            contents = await tx.moderation.contents(cases)
            reports = await tx.moderation.reports([c.id for c in cases])
            return [CaseView(c, contents.get(c.id), reports.get(c.id, [])) for c in cases]

    async def case(self, actor: Principal | None, case_id: int) -> CaseView:
        """One case with its content and reports (``actor`` None: the operator)."""
        if actor is not None:
            permissions.require_role(actor.role, Role.MODERATOR)
        async with self._uow() as tx:
            case = await tx.moderation.get_case(case_id)
            if actor is not None and case.owner_id == actor.user_id:
                raise _no_case()  # the reports about me (and who made them) stay hidden
            contents = await tx.moderation.contents([case])
            reports = await tx.moderation.reports([case_id])
            return CaseView(case, contents.get(case_id), reports.get(case_id, []))

    async def assign(self, actor: Principal, case_id: int) -> Case:
        """Take an open case. Raises Conflict(code="case_closed" | "case_assigned")."""
        permissions.require_role(actor.role, Role.MODERATOR)
        async with self._uow() as tx:
            case = await tx.moderation.get_case(case_id, for_update=True)
            if case.status is not CaseStatus.OPEN:
                raise Conflict("The case is closed.", code="case_closed")
            _not_own(actor, case)
            if case.assignee_id not in (None, actor.user_id) and actor.role is not Role.ADMIN:
                raise Conflict("Another moderator has the case.", code="case_assigned")
            case = await tx.moderation.update_case(attrs.evolve(case, assignee_id=actor.user_id))
            await self._audit(tx, actor, "case.assign", "case", case_id, None)
            return case

    async def resolve(
        self,
        actor: Principal | None,
        case_id: int,
        action: str,
        reason: str,
        duration: timedelta | None = None,
    ) -> Case:
        """Decide an open case (``actor`` None: the operator). Raises Invalid(code=
        "invalid_action" | "invalid_duration" | "reason_required"), Conflict(code=
        "case_closed" | "case_assigned"), Forbidden(code="insufficient_role")."""
        if actor is not None:
            permissions.require_role(actor.role, Role.MODERATOR)
        actor_id = actor.user_id if actor is not None else None
        decision = parse_enum(Action, action, "action")
        why = check_reason(reason)
        until = None
        if decision is Action.SUSPEND:
            if duration is None or not timedelta(minutes=1) <= duration <= MAX_SUSPENSION:
                raise Invalid("A suspension lasts 1 minute to 365 days.",
                              code="invalid_duration", field="duration_seconds")
            until = self._clock.now() + duration
        now = self._clock.now()
        sent: list[NotificationView | None] = []
        async with self._uow() as tx:
            case = await tx.moderation.get_case(case_id, for_update=True)
            if case.status is not CaseStatus.OPEN:
                raise Conflict("The case is closed.", code="case_closed")
            if actor is not None and case.assignee_id not in (None, actor.user_id) and (
                actor.role is not Role.ADMIN
            ):
                raise Conflict("Another moderator has the case.", code="case_assigned")
            if decision is Action.REMOVE and case.target_type is TargetType.USER:
                raise Invalid("A user is warned, suspended or banned, not removed.",
                              code="invalid_action", field="action")
            if actor is not None:
                _not_own(actor, case)
            owner = await tx.users.get(case.owner_id)
            if actor is not None and decision is not Action.DISMISS and (
                _RANK[owner.role] >= _RANK[actor.role]
            ):
                raise Forbidden("Only accounts of a lower role.", code="insufficient_role")
            # Content first, then the owner's row: the order reactions and comments lock
            # in (video, then its author), so the two never deadlock.
            if decision in (Action.DISMISS, Action.WARN):
                present = await self._show(tx, case)
            else:
                present = await self._hide(tx, case, VideoStatus.REMOVED)
            if decision is Action.WARN:
                await tx.moderation.add_strike(owner.id, case.id, now)
            if decision in (Action.SUSPEND, Action.BAN):
                owner = await tx.users.get_for_update(case.owner_id)
                await self._close_account(tx, owner, until, why)
            case = await tx.moderation.update_case(attrs.evolve(
                case, status=CaseStatus.RESOLVED, action=decision, decided_by=actor_id,
                decided_at=now, decision_reason=why, suspended_until=until, held=False,
                assignee_id=case.assignee_id or actor_id,
            ))
            await self._audit(
                tx, actor, "case.resolve", case.target_type.value, case.target_id, why,
                case_id=case.id, decision=decision.value,
                suspended_until=until.isoformat() if until else None,
            )
            # The notice links the content while it is there; one the author deleted
            # after the report is named by the text alone (a link to nothing would be
            # refused: notifications reference their video and comment).
            target = {} if not present else (
                {"video_id": case.target_id} if case.target_type is TargetType.VIDEO else (
                    {"comment_id": case.target_id}
                    if case.target_type is TargetType.COMMENT else {}
                )
            )
            if decision is not Action.DISMISS:
                sent.append(await self._notify(
                    tx, owner.id, f"{decision.value}: {why}", **target
                ))
            outcome = "no action" if decision is Action.DISMISS else "action taken"
            for report in (await tx.moderation.reports([case.id])).get(case.id, []):
                sent.append(
                    await self._notify(tx, report.reporter_id, f"report reviewed: {outcome}")
                )
        await self._notifier.push(sent)
        return case

    # ------------------------------------------------------------------ appeals

    async def appeal(self, who: Principal, case_id: int, body: str) -> Appeal:
        """Appeal a decision about me, once. Raises NotFound(code="case_not_found"),
        Conflict(code="not_appealable" | "appeal_exists"), Invalid."""
        text = rules.check_text(body, "body", APPEAL_MAX)
        if not text:
            raise Invalid("Say why the decision was wrong.", code="body_required", field="body")
        async with self._uow() as tx:
            case = await tx.moderation.get_case(case_id)
            if case.owner_id != who.user_id:
                raise _no_case()
            if case.status is not CaseStatus.RESOLVED or case.action in (None, Action.DISMISS):
                raise Conflict("There is no decision against you to appeal.",
                               code="not_appealable")
            return await tx.moderation.add_appeal(Appeal(
                id=0, case_id=case_id, user_id=who.user_id, body=text,
                created_at=self._clock.now(),
            ))

    async def appeals(
        self, actor: Principal | None, status: AppealStatus | None, after_id: int | None,
        limit: int,
    ) -> list[Appeal]:
        """Appeals by id (``actor`` None: the operator)."""
        if actor is not None:
            permissions.require_role(actor.role, Role.MODERATOR)
        async with self._uow() as tx:
            return await tx.moderation.list_appeals(status, after_id, limit)

    async def decide_appeal(
        self, actor: Principal | None, appeal_id: int, accept: bool, reason: str
    ) -> Appeal:
        """A moderator other than the one who decided judges the appeal (``actor`` None:
        the operator, who may judge any); accepting restores the content and the account.
        Raises Forbidden(code="same_moderator"), Conflict(code="appeal_decided")."""
        if actor is not None:
            permissions.require_role(actor.role, Role.MODERATOR)
        actor_id = actor.user_id if actor is not None else None
        why = check_reason(reason)
        now = self._clock.now()
        async with self._uow() as tx:
            appeal = await tx.moderation.get_appeal(appeal_id, for_update=True)
            if appeal.status is not AppealStatus.PENDING:
                raise Conflict("The appeal was decided already.", code="appeal_decided")
            case = await tx.moderation.get_case(appeal.case_id, for_update=True)
            if actor_id is not None and actor_id in (appeal.user_id, case.owner_id):
                raise Forbidden("Another moderator decides your appeal.", code="own_case")
            if actor_id is not None and case.decided_by == actor_id:
                raise Forbidden("Another moderator decides appeals of your decisions.",
                                code="same_moderator")
            if accept:
                await self._show(tx, case)
                if case.action is Action.WARN:
                    await tx.moderation.remove_strike(case.id)
                if case.action in (Action.SUSPEND, Action.BAN):
                    user = await tx.users.get_for_update(case.owner_id)
                    if user.status is not AccountStatus.ACTIVE:
                        await tx.users.update(attrs.evolve(
                            user, status=AccountStatus.ACTIVE, suspended_until=None
                        ))
            appeal = await tx.moderation.update_appeal(attrs.evolve(
                appeal, status=AppealStatus.ACCEPTED if accept else AppealStatus.REJECTED,
                decided_by=actor_id, decided_at=now, decision_reason=why,
            ))
            await self._audit(
                tx, actor, "appeal.accept" if accept else "appeal.reject",
                case.target_type.value, case.target_id, why,
                case_id=case.id, appeal_id=appeal.id,
            )
            sent = await self._notify(
                tx, appeal.user_id,
                f"appeal {'accepted' if accept else 'rejected'}: {why}",
            )
        await self._notifier.push([sent])
        return appeal

    # ------------------------------------------------------------------ accounts

    async def _target_user(
        self, tx: UnitOfWork, actor: Principal | None, user_id: int
    ) -> User:
        if actor is None:  # the operator
            return await tx.users.get_for_update(user_id)
        permissions.require_role(actor.role, Role.MODERATOR)
        if user_id == actor.user_id:
            raise Invalid("That is you.", code="cannot_target_self")
        user = await tx.users.get_for_update(user_id)
        if _RANK[user.role] >= _RANK[actor.role]:
            raise Forbidden("Only accounts of a lower role.", code="insufficient_role")
        return user

    async def _close_account(
        self, tx: UnitOfWork, user: User, until: datetime | None, reason: str
    ) -> User:
        """Ban (``until`` None) or suspend: at once, everywhere."""
        status = AccountStatus.BANNED if until is None else AccountStatus.SUSPENDED
        user = await tx.users.update(attrs.evolve(
            user, status=status, suspended_until=until, token_version=user.token_version + 1
        ))
        await tx.sessions.revoke_all(user.id, self._clock.now())
        await tx.events.emit(AccountClosed(user.id, status.value, until))
        await announce_revoked(tx, user.id)
        return user

    async def ban(self, actor: Principal | None, user_id: int, reason: str) -> User:
        """Ban until an unban (``actor`` None: the operator). Raises Forbidden(code=
        "insufficient_role"), NotFound."""
        return await self._close(actor, user_id, check_reason(reason), None)

    async def suspend(
        self, actor: Principal | None, user_id: int, reason: str, duration: timedelta
    ) -> User:
        """Suspend for ``duration`` (1 minute to 365 days)."""
        if not timedelta(minutes=1) <= duration <= MAX_SUSPENSION:
            raise Invalid("A suspension lasts 1 minute to 365 days.", code="invalid_duration",
                          field="duration_seconds")
        until = self._clock.now() + duration
        return await self._close(actor, user_id, check_reason(reason), until)

    async def _close(
        self, actor: Principal | None, user_id: int, reason: str, until: datetime | None
    ) -> User:
        async with self._uow() as tx:
            user = await self._target_user(tx, actor, user_id)
            user = await self._close_account(tx, user, until, reason)
            action = "user.ban" if until is None else "user.suspend"
            await self._audit(tx, actor, action, "user", user_id, reason,
                              until=until.isoformat() if until else None)
            sent = await self._notify(tx, user_id, f"{action.split('.')[1]}: {reason}")
        await self._notifier.push([sent])
        return user

    async def unban(
        self, actor: Principal | None, user_id: int, reason: str | None = None
    ) -> User:
        """Lift a ban or suspension. Raises Conflict(code="not_banned"), Invalid."""
        reason = rules.check_text(reason, "reason", REASON_MAX)
        async with self._uow() as tx:
            user = await self._target_user(tx, actor, user_id)
            if user.status is AccountStatus.ACTIVE:
                raise Conflict("The account is not banned or suspended.", code="not_banned")
            user = await tx.users.update(
                attrs.evolve(user, status=AccountStatus.ACTIVE, suspended_until=None)
            )
            await self._audit(tx, actor, "user.unban", "user", user_id, reason)
            sent = await self._notify(tx, user_id, "restored")
        await self._notifier.push([sent])
        return user

    # ------------------------------------------------------------------ administration

    async def users(
        self, actor: Principal | None, where: UserFilter, after_id: int | None, limit: int
    ) -> list[StaffUserView]:
        """Users (with their strike count) by id; staff only (``actor`` None: the operator,
        who sees what an admin sees). Only admins see emails and search by them: a
        moderator's query matches nicknames, and their rows carry no email (judging
        content and conduct needs no one's address)."""
        if actor is not None:
            permissions.require_role(actor.role, Role.MODERATOR)
        emails = actor is None or permissions.can_see_emails(actor.role)
        where = attrs.evolve(where, by_email=emails)
        if where.query is not None and not 1 <= len(where.query.strip()) <= 254:
            raise Invalid("q has 1 to 254 characters.", code="invalid_query", field="q")
        if where.role is not None:
            parse_enum(Role, where.role, "role")
        if where.status is not None:
            parse_enum(AccountStatus, where.status, "status")
        async with self._uow() as tx:
            found = await tx.users.search(where, after_id, limit)
            strikes = await tx.moderation.strikes([u.id for u in found])
        return [StaffUserView(u, strikes.get(u.id, 0), u.email if emails else None)
                for u in found]

    async def audit(
        self, actor: Principal | None, where: AuditFilter, before_id: int | None, limit: int
    ) -> list[AuditEntry]:
        """The audit trail, newest first (``actor`` None: the operator)."""
        if actor is not None:
            permissions.require_role(actor.role, Role.ADMIN)
        async with self._uow() as tx:
            return await tx.audit.list(where, before_id, limit)
