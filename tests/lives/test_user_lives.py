"""Whole user lives, on both adapters at once (ARCHITECTURE.md, convention 11).

A hypothesis state machine signs people up and lets them post (on time and late, public
and friends-only), react, comment, reply, like, edit and delete, befriend, unfriend and
block, change time zones, report, and be moderated (hold, remove, warn, suspend, ban,
appeal), mute and unmute, change a video's visibility, while admins change ranking
weights and the clock runs across days. Every step runs the same use case, through the
composition root as the HTTP layer does, on the in-memory adapters and on PostgreSQL, and
after every step:

- the step answered alike in both worlds, and with no error but the domain errors the
  rules allow for it (a 409 from a delete is a failure);
- both worlds hold the same rows (users, videos, comments, reactions, likes, friends,
  requests, blocks, points by day, notifications, cases, reports), in logical ids;
- every counter equals the rows it counts (visible reactions by kind, comments, replies,
  likes);
- every rating, streak and day's points equal a full recompute from the rows, and every
  rating is what the rules of the game give, counted here from the rows (one comment's
  points per video and commenter, one on-time bonus per UTC day);
- feeds, comment lists, reactors, leaderboards and notifications answer alike in both
  worlds and never show what the viewer may not see (blocked either way, deleted, held
  or removed, banned or suspended authors, friends-only videos of strangers, in feeds
  the authors they muted), and the friends feed locks exactly what the BeReal lock says
  from stamped times alone, so a change of time zone (at most two a day) unlocks nothing;
- paged a few at a time (``pages_add_up`` every tenth check, ``page_through`` at random
  steps), the feeds, a hashtag, a search, comments, replies and notifications add up,
  forwards and back, to what the rows say the viewer may see, each item once, and no
  cursor names an item its pages left out (search and hashtags leave out the moments
  behind the lock);
- a role change (``set_role``) ends every session of a demoted user (their access and
  refresh tokens are refused) and keeps a promoted one's, who holds the new role at once;
- two sign-ups of one new address at once (``sign_up_twice_at_once``) answer alike, make
  one account, and the last mail to it holds the code that verifies it.

``make test`` runs a bounded number of examples (the ``default`` profile); ``make
test-deep`` runs the ``deep`` profile for as long as it is given (``LIVES_MINUTES``).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clip_support import unique
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from adapters.memory.clock import ManualClock
from momentic_core.errors import MomenticError, Unauthenticated
from momentic_core.model.accounts import Principal, Role
from momentic_core.model.engagement import CommentView
from momentic_core.model.moderation import CaseFilter, CaseStatus
from momentic_core.model.ranking import Period, Scope
from momentic_core.model.social import FeedPage, Keyset
from momentic_core.services.accounts import DeviceInfo
from momentic_core.services.profiles import ProfileChanges

from .worlds import World, Worlds

PASSWORD = "correct horse battery"
DEVICE = DeviceInfo(ip="198.51.100.9", name="lives")
ZONES = ("UTC", "Europe/Minsk", "America/Bogota", "Asia/Tokyo", "Pacific/Kiritimati")
REACTIONS = ("heart", "flame", "funny", "angry")
# Errors any step by a user may meet: their account was deleted, banned or suspended.
GONE = {"token_revoked", "invalid_credentials", "account_banned", "account_suspended"}
TAGS = ("Sun", "rain")  # a post's hashtag (a video's logical number picks one)
RANK = {Role.USER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}  # a lower rank is a demotion
PAGE_TAGS = ("sun", "#RAIN")  # the hashtags paged (any case, with or without #)
PAGE_QUERIES = ("video", "vid", "sun", "edited")  # the searches paged
PAGE_EVERY = 10  # checks between two pages_add_up walks
PROFILES = {
    # (examples, steps): make test stays within a minute or two on a 2-core machine
    "default": (12, 30),
    "deep": (100_000, 60),
}


class LivesMachine(RuleBasedStateMachine):
    worlds_: Worlds  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.clock: ManualClock
        self.clock, self.worlds = self.worlds_.run(self.worlds_.fresh())
        self.users: list[int] = []  # logical ids of the users who are not staff
        self.people_made = 0
        self.gone: list[int] = []  # deleted: they only fail from now on
        self.rows: dict[str, Any] = {"videos": []}  # as of the last check
        self.videos: list[int] = []
        self.files: dict[int, tuple[int, bytes]] = {}  # logical video: (author, bytes)
        self.comments: list[int] = []
        self.admin = self.moderator = -1
        self.weights = dict(DEFAULT_WEIGHTS)  # as the admin last set them
        self.roles: dict[int, Role] = {}  # users the admin gave a role (else USER)
        self.checks = 0  # invariant checks so far (pages_add_up pages at some)
        self.page_turn = 0  # drawn by people: whose turn to page first

    def teardown(self) -> None:
        for world in self.worlds:
            self.worlds_.run(world.stop())

    # ------------------------------------------------------------------ plumbing

    def both(
        self,
        op: Callable[[World], Awaitable[Any]],
        allowed: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> Any:
        """Run ``op`` in each world; both must answer alike (a value in logical terms, or
        the same error code), and an error must be one the step allows. Then every due
        job runs, as the worker would."""
        answers = []
        for world in self.worlds:
            try:
                answers.append(("ok", self.worlds_.run(op(world))))
            except MomenticError as exc:
                answers.append(("error", exc.code))
            self.worlds_.run(world.run_jobs())
        memory, postgres = answers
        step = op.__qualname__.split(".")[1]
        LivesMachine.outcomes[(step, memory[1] if memory[0] == "error" else "ok")] += 1
        assert memory == postgres, f"memory answered {memory}, postgres {postgres}"
        if memory[0] == "error":
            assert memory[1] in allowed, f"unexpected error {memory[1]!r}"
            return None
        LivesMachine.total_steps += 1
        return memory[1]

    @staticmethod
    async def who(world: World, user: int) -> Principal:
        """The user's principal from their token; one revoked (a ban, a restore) makes
        them sign in again, as the app does."""
        accounts = world.services.accounts
        try:
            return await accounts.authenticate(world.tokens[user])
        except Unauthenticated as exc:
            if exc.code != "token_revoked":
                raise
        pair = await accounts.login(f"user{user}@bsu.by", PASSWORD, DEVICE)
        world.tokens[user] = pair.access_token
        return await accounts.authenticate(pair.access_token)

    def pick(self, items: list[int], i: int) -> int:
        return items[i % len(items)]

    # ------------------------------------------------------------------ people

    @initialize(public=st.lists(st.booleans(), min_size=2, max_size=4), turn=st.integers(0, 11))
    def people(self, public: list[bool], turn: int) -> None:
        """An admin and a moderator (staff, who never leave), and three users, friends
        with each other; the second and third post 2-4 videos in turn (``public`` says
        which are public), two at one time, the rest a minute later. From the first
        check on, the first user's friends feed holds them all and the others' the
        other poster's, the global feed the public ones, so the paged lists run over
        pages. ``turn`` picks who pages first (``pages_add_up``)."""
        self.admin = self._sign_up(Role.ADMIN)
        self.moderator = self._sign_up(Role.MODERATOR)
        for _ in range(3):
            self.users.append(self._sign_up())
        for a, b in ((0, 1), (0, 2), (1, 2)):
            self.befriend(a, b, accept=True)
        for k, shown in enumerate(public):
            if k == 2:
                self.clock.advance(timedelta(minutes=1))
            self.post(1 + k % 2, shown)
        self.page_turn = turn

    def _sign_up(self, role: Role = Role.USER) -> int:
        logical = self.people_made
        self.people_made += 1
        email = f"user{logical}@bsu.by"

        async def op(w: World) -> int:
            await w.services.accounts.register(email, PASSWORD, DEVICE)
            await w.backend.deliver_mail()
            pair = await w.services.accounts.verify_email(
                email, await w.mailer.wait_code(email), PASSWORD, DEVICE
            )
            w.tokens[logical] = pair.access_token
            user = await w.services.accounts.find_by_email(email)
            w.bind("user", logical, user.id)
            if role is not Role.USER:
                await w.services.accounts.set_role(user.id, role)
                w.tokens[logical] = (
                    await w.services.accounts.login(email, PASSWORD, DEVICE)
                ).access_token
            return logical

        made: int = self.both(op)
        return made

    @precondition(lambda self: len(self.users) < 6)
    @rule()
    def sign_up(self) -> None:
        self.users.append(self._sign_up())

    @precondition(lambda self: len(self.users) < 6)
    @rule(stagger=st.integers(0, 3))
    def sign_up_twice_at_once(self, stagger: int) -> None:
        """A double tap: two sign-ups of one new address at once (the second ``stagger``
        loop turns later). Both answer alike (nothing tells whether the address had an
        account), one account holds the address, and the last mail it received holds
        the code that verifies it."""
        logical = self.people_made
        self.people_made += 1
        email = f"user{logical}@bsu.by"

        async def op(w: World) -> Any:
            accounts = w.services.accounts

            async def register(turns: int) -> Any:
                for _ in range(turns):
                    await asyncio.sleep(0)
                try:
                    return ("ok", await accounts.register(email, PASSWORD, DEVICE))
                except MomenticError as exc:
                    return ("error", exc.code)

            answers = await asyncio.gather(register(0), register(stagger))
            assert answers[0] == answers[1], f"the two sign-ups answered {answers}"
            await w.mail_settled()
            held = await w.accounts_with(email)
            assert held == 1, f"{held} accounts hold {email}"
            pair = await accounts.verify_email(
                email, w.mailer.last_code(email), PASSWORD, DEVICE
            )  # the last mail's code works (invalid_code otherwise)
            w.tokens[logical] = pair.access_token
            w.bind("user", logical, (await accounts.find_by_email(email)).id)
            return answers[0], held

        if self.both(op) is not None:
            self.users.append(logical)

    @rule(u=st.integers(0, 50), zone=st.sampled_from(ZONES))
    def change_time_zone(self, u: int, zone: str) -> None:
        user = self.pick(self.users, u)

        async def op(w: World) -> str:
            me = await w.services.profiles.update_me(
                await self.who(w, user), ProfileChanges(time_zone=zone)
            )
            return me.time_zone

        self.both(op, GONE | {"time_zone_change_limited"})

    @precondition(lambda self: len(self.users) > 2)
    @rule(u=st.integers(0, 50))
    def delete_account(self, u: int) -> None:
        user = self.pick(self.users, u)

        async def op(w: World) -> bool:
            await w.services.profiles.delete_me(await self.who(w, user), PASSWORD)
            return True

        if self.both(op, GONE):
            self.users.remove(user)
            self.gone.append(user)

    @rule(a=st.integers(0, 50), b=st.integers(0, 50), accept=st.booleans())
    def befriend(self, a: int, b: int, accept: bool) -> None:
        one, other = self.pick(self.users, a), self.pick(self.users, b)

        async def op(w: World) -> str:
            relation = await w.services.friends.request(
                await self.who(w, one), w.real("user", other)
            )
            if accept:
                await w.services.friends.accept(await self.who(w, other), w.real("user", one))
            return relation.value

        self.both(
            op,
            GONE
            | {
                "cannot_target_self",
                "user_not_found",
                "already_friends",
                "request_exists",
                "user_blocked",
                "request_not_found",
            },
        )

    @rule(a=st.integers(0, 50), b=st.integers(0, 50))
    def unfriend(self, a: int, b: int) -> None:
        one, other = self.pick(self.users, a), self.pick(self.users, b)

        async def op(w: World) -> None:
            await w.services.friends.unfriend(await self.who(w, one), w.real("user", other))

        self.both(op, GONE | {"not_friends", "cannot_target_self", "user_not_found"})

    @rule(a=st.integers(0, 50), b=st.integers(0, 50), unblock=st.booleans())
    def block(self, a: int, b: int, unblock: bool) -> None:
        one, other = self.pick(self.users, a), self.pick(self.users, b)

        async def op(w: World) -> None:
            who = await self.who(w, one)
            if unblock:
                await w.services.friends.unblock(who, w.real("user", other))
            else:
                await w.services.friends.block(who, w.real("user", other))

        self.both(op, GONE | {"cannot_target_self", "user_not_found", "not_blocked"})

    @rule(a=st.integers(0, 50), b=st.integers(0, 50), unmute=st.booleans())
    def mute(self, a: int, b: int, unmute: bool) -> None:
        one, other = self.pick(self.users, a), self.pick(self.users, b)

        async def op(w: World) -> None:
            who = await self.who(w, one)
            if unmute:
                await w.services.friends.unmute(who, w.real("user", other))
            else:
                await w.services.friends.mute(who, w.real("user", other))

        self.both(op, GONE | {"cannot_target_self", "user_not_found"})

    # ------------------------------------------------------------------ time

    @rule(hours=st.integers(1, 30), minutes=st.integers(0, 59))
    def time_passes(self, hours: int, minutes: int) -> None:
        self.clock.advance(timedelta(hours=hours, minutes=minutes))
        for world in self.worlds:
            self.worlds_.run(world.hourly())

    @rule(u=st.integers(0, 50), late=st.booleans())
    def wait_for_the_moment(self, u: int, late: bool) -> None:
        """Move the clock to a user's moment of today (within its window, or just after)."""
        user = self.pick(self.users, u)

        async def op(w: World) -> tuple[Any, str]:
            moment, state = await w.services.ranking.moment_today(await self.who(w, user))
            return moment.at, state

        answer = self.both(op, GONE)
        if answer is not None and answer[1] == "upcoming":
            after = timedelta(minutes=5) if late else timedelta(seconds=30)
            self.clock.advance(answer[0] + after - self.clock.now())
            for world in self.worlds:
                self.worlds_.run(world.hourly())

    # ------------------------------------------------------------------ videos

    @precondition(lambda self: len(self.videos) < 14)
    @rule(u=st.integers(0, 50), public=st.booleans())
    def post(self, u: int, public: bool) -> None:
        author = self.pick(self.users, u)
        logical = len(self.videos)
        clip = unique(self.clip)  # each post a new file (the same one again is a duplicate)

        async def op(w: World) -> int:
            who = await self.who(w, author)

            async def chunks() -> Any:
                yield clip

            staged = await w.services.videos.stage(who, chunks())
            posted = await w.services.videos.publish(
                who, staged, f"video {logical} #{TAGS[logical % 2]}",
                "public" if public else "friends",
            )
            assert not posted.duplicate
            w.bind("video", logical, posted.video.id)
            return logical

        if self.both(op, GONE) is not None:
            self.videos.append(logical)
            self.files[logical] = (author, clip)

    @precondition(lambda self: self.videos and len(self.videos) < 14)
    @rule(u=st.integers(0, 50), v=st.integers(0, 50))
    def upload_same_file(self, u: int, v: int) -> None:
        """Someone uploads the file of a video again: its author gets that video back
        while it holds the content (deleted, rejected: a new one; removed: refused), anyone
        else a video of their own."""
        user, video = self.pick(self.users, u), self.pick(self.videos, v)
        logical = len(self.videos)
        clip = self.files[video][1]

        async def op(w: World) -> tuple[bool, Any]:
            who = await self.who(w, user)

            async def chunks() -> Any:
                yield clip

            staged = await w.services.videos.stage(who, chunks())
            posted = await w.services.videos.publish(who, staged, "again", "public")
            if posted.duplicate:
                return True, w.logical("video", posted.video.id)
            w.bind("video", logical, posted.video.id)
            return False, logical

        answer = self.both(op, GONE | {"content_removed"})
        if answer is None:
            return
        duplicate, got = answer
        if duplicate:  # the user's own video of these bytes
            assert self.files[got] == (user, clip), f"video {video}'s file answered {got}"
        else:
            self.videos.append(logical)
            self.files[logical] = (user, clip)

    @precondition(lambda self: self.videos)
    @rule(u=st.integers(0, 50), v=st.integers(0, 50),
          visibility=st.sampled_from((None, "public", "friends")))
    def edit_video(self, u: int, v: int, visibility: str | None) -> None:
        user, video = self.pick(self.users, u), self.pick(self.videos, v)

        async def op(w: World) -> tuple[str, str]:
            done = await w.services.videos.edit(
                await self.who(w, user), w.real("video", video),
                description=f"edited by {user} #{TAGS[1]}", visibility=visibility,
            )
            return done.description, done.visibility.value

        if self.both(op, GONE | {"video_not_found", "not_author", "video_moderated"}):
            status = {r[0]: r[3] for r in self.rows["videos"]}.get(video)
            assert status not in ("held", "removed"), f"a {status} video was edited"

    @precondition(lambda self: self.videos)
    @rule(u=st.integers(0, 50), v=st.integers(0, 50))
    def delete_video(self, u: int, v: int) -> None:
        user, video = self.pick(self.users, u), self.pick(self.videos, v)

        async def op(w: World) -> None:
            await w.services.videos.delete(await self.who(w, user), w.real("video", video))

        self.both(
            op,
            GONE | {"video_not_found", "not_author", "insufficient_role", "moderation_required"},
        )

    # ------------------------------------------------------------------ engagement

    ENGAGE = GONE | {"video_not_found", "video_not_ready", "moment_locked"}

    @precondition(lambda self: self.videos)
    @rule(u=st.integers(0, 50), v=st.integers(0, 50), kind=st.sampled_from((*REACTIONS, None)))
    def react(self, u: int, v: int, kind: str | None) -> None:
        user, video = self.pick(self.users, u), self.pick(self.videos, v)

        async def op(w: World) -> dict[str, int]:
            who = await self.who(w, user)
            if kind is None:
                return await w.services.engagement.unreact(who, w.real("video", video))
            return await w.services.engagement.react(who, w.real("video", video), kind)

        self.both(op, self.ENGAGE)

    @precondition(lambda self: self.videos and len(self.comments) < 30)
    @rule(u=st.integers(0, 50), v=st.integers(0, 50), reply_to=st.none() | st.integers(0, 50))
    def comment(self, u: int, v: int, reply_to: int | None) -> None:
        user, video = self.pick(self.users, u), self.pick(self.videos, v)
        parent = (
            None if reply_to is None or not self.comments else self.pick(self.comments, reply_to)
        )
        logical = len(self.comments)

        async def op(w: World) -> int:
            view = await w.services.engagement.comment(
                await self.who(w, user),
                w.real("video", video),
                f"comment {logical}",
                None if parent is None else w.real("comment", parent),
            )
            w.bind("comment", logical, view.comment.id)
            return logical

        made = self.both(op, self.ENGAGE | {"comment_not_found", "reply_depth", "comment_held"})
        if made is not None:
            self.comments.append(made)

    @precondition(lambda self: self.comments)
    @rule(u=st.integers(0, 50), c=st.integers(0, 50), liked=st.booleans())
    def like(self, u: int, c: int, liked: bool) -> None:
        user, comment = self.pick(self.users, u), self.pick(self.comments, c)

        async def op(w: World) -> int:
            return await w.services.engagement.like(
                await self.who(w, user), w.real("comment", comment), liked
            )

        self.both(op, self.ENGAGE | {"comment_not_found"})

    @precondition(lambda self: self.comments)
    @rule(u=st.integers(0, 50), c=st.integers(0, 50))
    def edit_comment(self, u: int, c: int) -> None:
        user, comment = self.pick(self.users, u), self.pick(self.comments, c)

        async def op(w: World) -> str:
            view = await w.services.engagement.edit_comment(
                await self.who(w, user), w.real("comment", comment), f"edited {comment}"
            )
            return view.comment.body

        self.both(op, self.ENGAGE | {"comment_not_found", "not_author"})

    @precondition(lambda self: self.comments)
    @rule(u=st.integers(0, 50), c=st.integers(0, 50))
    def delete_comment(self, u: int, c: int) -> None:
        user, comment = self.pick(self.users, u), self.pick(self.comments, c)

        async def op(w: World) -> None:
            await w.services.engagement.delete_comment(
                await self.who(w, user), w.real("comment", comment)
            )

        # A user the admin made staff removes others' comments through a case only.
        self.both(op, self.ENGAGE | {"comment_not_found", "not_author", "moderation_required"})

    @precondition(lambda self: self.gone)
    @rule(u=st.integers(0, 50), v=st.integers(0, 50))
    def the_deleted_try_again(self, u: int, v: int) -> None:
        user = self.pick(self.gone, u)

        async def op(w: World) -> None:
            await self.who(w, user)

        self.both(op, {"invalid_credentials"})

    @rule(u=st.integers(0, 50))
    def read_notifications(self, u: int) -> None:
        user = self.pick(self.users, u)

        async def op(w: World) -> int:
            return await w.services.notifications.mark_all_read(await self.who(w, user))

        self.both(op, GONE)

    # ------------------------------------------------------------------ moderation

    @rule(
        u=st.integers(0, 50),
        kind=st.sampled_from(("video", "comment", "user")),
        t=st.integers(0, 50),
        reason=st.sampled_from(("spam", "harassment")),
    )
    def report(self, u: int, kind: str, t: int, reason: str) -> None:
        target = kind
        user = self.pick(self.users, u)
        pool = {"video": self.videos, "comment": self.comments, "user": self.users}[target]
        if not pool:
            return
        item = self.pick(pool, t)

        async def op(w: World) -> str:
            report = await w.services.moderation.report(
                await self.who(w, user), target, w.real(target, item), reason
            )
            return report.reason.value

        self.both(
            op,
            GONE
            | {
                "video_not_found",
                "comment_not_found",
                "user_not_found",
                "report_exists",
                "cannot_report_self",
                "moment_locked",
                "video_not_ready",
            },
        )

    @rule(
        c=st.integers(0, 50),
        action=st.sampled_from(("dismiss", "remove", "warn", "suspend", "ban")),
        by_admin=st.booleans(),
    )
    def decide_case(self, c: int, action: str, by_admin: bool) -> None:
        staff = self.admin if by_admin else self.moderator

        async def op(w: World) -> Any:
            actor = await self.who(w, staff)
            cases = await w.services.moderation.cases(
                actor, CaseFilter(status=CaseStatus.OPEN), None, 50
            )
            if not cases:
                return None
            case = cases[c % len(cases)].case
            done = await w.services.moderation.resolve(
                actor, case.id, action, "decided by the machine", timedelta(hours=3)
            )
            return done.action.value if done.action else None

        self.both(op, GONE | {"insufficient_role", "invalid_action", "case_closed"})

    @rule(u=st.integers(0, 50), accept=st.booleans())
    def appeal(self, u: int, accept: bool) -> None:
        """The owner appeals their newest decision; the other staff member decides."""
        user = self.pick(self.users, u)

        async def op(w: World) -> Any:
            admin = await self.who(w, self.admin)
            cases = await w.services.moderation.cases(
                admin, CaseFilter(status=CaseStatus.RESOLVED), None, 100
            )
            mine = [x.case for x in cases if x.case.owner_id == w.real("user", user)]
            if not mine:
                return None
            case = max(mine, key=lambda x: x.id)
            appellant = await w.services.accounts.appellant(f"user{user}@bsu.by", PASSWORD, DEVICE)
            appeal = await w.services.moderation.appeal(appellant, case.id, "it was fine")
            judge = self.moderator if case.decided_by == admin.user_id else self.admin
            done = await w.services.moderation.decide_appeal(
                await self.who(w, judge), appeal.id, accept, "looked again"
            )
            return done.status.value

        self.both(
            op,
            GONE
            | {
                "not_appealable",
                "appeal_exists",
                "same_moderator",
                "invalid_credentials",
                "case_not_found",
            },
        )

    @rule(u=st.integers(0, 50), ban=st.booleans())
    def ban_or_unban(self, u: int, ban: bool) -> None:
        user = self.pick(self.users, u)

        async def op(w: World) -> str:
            actor = await self.who(w, self.moderator)
            if ban:
                done = await w.services.moderation.ban(actor, w.real("user", user), "spam")
            else:
                done = await w.services.moderation.unban(actor, w.real("user", user))
            return done.status.value

        self.both(
            op, GONE | {"insufficient_role", "user_not_found", "not_banned", "cannot_target_self"}
        )

    @rule(u=st.integers(0, 50), roles=st.lists(st.sampled_from(tuple(Role)), min_size=1,
                                               max_size=3))
    def set_role(self, u: int, roles: list[Role]) -> None:
        """The admin sets a user's role, and maybe again (a promotion, then back), while
        the user holds two sessions each time (their usual one and a new sign-in). A
        change that lowers privileges ends both: their access tokens answer token_revoked
        and their refresh token invalid_refresh_token; any other change keeps all three,
        and they carry the new role at once."""
        user = self.pick(self.users, u)

        async def outcome(call: Awaitable[Any]) -> Any:
            try:
                return await call
            except Unauthenticated as exc:
                return exc.code

        async def op(w: World) -> Any:
            accounts = w.services.accounts
            admin = await self.who(w, self.admin)
            answers = []
            for role in roles:
                await self.who(w, user)  # their usual token holds (or a fresh one)
                usual = w.tokens[user]
                pair = await accounts.login(f"user{user}@bsu.by", PASSWORD, DEVICE)
                done = await accounts.set_role(w.real("user", user), role, admin)
                after = [
                    await outcome(accounts.authenticate(token))
                    for token in (usual, pair.access_token)
                ]
                refreshed = await outcome(accounts.refresh(pair.refresh_token, DEVICE))
                if not isinstance(refreshed, str):
                    refreshed = await accounts.authenticate(refreshed.access_token)
                answers.append((done.role, [
                    x if isinstance(x, str) else x.role for x in (*after, refreshed)
                ]))
            return answers

        answer = self.both(op, GONE)
        if answer is None:
            return
        expected = []
        for role in roles:
            before = self.roles.get(user, Role.USER)
            kept = RANK[role] >= RANK[before]
            outcomes = [role] * 3 if kept else ["token_revoked"] * 2 + ["invalid_refresh_token"]
            expected.append((role, outcomes))
            self.roles[user] = role
        assert answer == expected, f"{roles} from {self.roles}: {answer}"

    @precondition(lambda self: self.videos or self.comments)
    @rule(t=st.integers(0, 50), comment=st.booleans(), by_admin=st.booleans())
    def staff_delete(self, t: int, comment: bool, by_admin: bool) -> None:
        """Staff never hard-delete someone else's video or comment (they remove it through
        a case, audited and appealable): the delete is refused and every row stays."""
        pool = self.comments if comment else self.videos
        if not pool:
            return
        item, staff = self.pick(pool, t), self.admin if by_admin else self.moderator

        async def op(w: World) -> bool:
            who = await self.who(w, staff)
            if comment:
                await w.services.engagement.delete_comment(who, w.real("comment", item))
            else:
                await w.services.videos.delete(who, w.real("video", item))
            return True

        deleted = self.both(op, {"moderation_required", "video_not_found", "comment_not_found"})
        assert deleted is None, f"staff deleted someone else's {'comment' if comment else 'video'}"

    @rule(
        reaction=st.integers(0, 5),
        comment=st.integers(0, 5),
        on_time=st.integers(0, 20),
        streak_day=st.integers(0, 5),
    )
    def change_weights(self, reaction: int, comment: int, on_time: int, streak_day: int) -> None:
        async def op(w: World) -> Any:
            weights = await w.services.ranking.set_weights(
                await self.who(w, self.admin),
                {
                    "heart": reaction,
                    "flame": reaction + 1,
                    "comment": comment,
                    "on_time": on_time,
                    "streak_day": streak_day,
                },
            )
            return weights

        if self.both(op, GONE) is not None:
            self.weights.update(
                heart=reaction, flame=reaction + 1, comment=comment, on_time=on_time,
                streak_day=streak_day,
            )

    # ------------------------------------------------------------------ paging

    @precondition(lambda self: self.videos)
    @rule(
        u=st.integers(0, 50),
        limit=st.integers(1, 3),
        tag=st.sampled_from(PAGE_TAGS),
        q=st.sampled_from(PAGE_QUERIES),
    )
    def page_through(self, u: int, limit: int, tag: str, q: str) -> None:
        """Someone pages through every list (``_page_through``) at a random moment of a
        life; the invariant's ``pages_add_up`` does so at fixed ones."""
        self._page_through(self.pick([self.admin, self.moderator, *self.users], u), limit, tag, q)

    def _page_through(self, viewer: int, limit: int, tag: str, q: str) -> None:
        """Someone pages through every cursor-paged list, ``limit`` at a time, older
        pages (``next``) to the end and back newer (``prev``): the feeds, a hashtag,
        a search, a video's comments and replies, their notifications. The pages add up
        to what the rows say they may see (the friends feed with its locks), in order,
        each item once; search and hashtags leave out the moments behind the BeReal
        lock, and no cursor names an item the pages did not show."""
        rows = self.rows

        async def op(w: World) -> Any:
            who = await self.who(w, viewer)
            oracle = Oracle(rows, viewer, self.clock.now())
            services = w.services
            lists: dict[str, Any] = {}
            zone = oracle.users[viewer][3]
            day = self.clock.now().astimezone(ZoneInfo(zone)).date()
            since = datetime.combine(day, dtime(), ZoneInfo(zone))
            until = datetime.combine(day + timedelta(days=1), dtime(), ZoneInfo(zone))
            feeds: dict[str, tuple[Fetch, list[tuple[Any, bool]]]] = {
                "global": (
                    lambda c, n: services.feeds.global_(who, c, n, limit),
                    oracle.global_feed(),
                ),
                "friends": (
                    lambda c, n: self._second(services.feeds.friends(who, None, c, n, limit)),
                    oracle.friends_feed(since, until),
                ),
                "hashtag": (
                    lambda c, n: self._second(services.search.hashtag(who, tag, c, n, limit)),
                    oracle.hashtag(tag),
                ),
                "search": (
                    lambda c, n: services.search.videos(who, q, c, n, limit),
                    oracle.search(q),
                ),
            }
            for name, (fetch, expected) in feeds.items():
                got = await walk_feed(w, fetch, name)
                assert got == expected, f"{name} pages {got}, the rows say {expected}"
                lists[name] = got
            for video, _ in lists["global"]:
                real = w.real("video", video)
                top = await walk_comments(
                    w, lambda after, n, real=real: services.engagement.comments(
                        who, real, None, after, n
                    ), limit,
                )
                assert top == oracle.comments_of(video, None), f"{video}'s comments {top}"
                for comment in top:
                    real_c = w.real("comment", comment)
                    replies = await walk_comments(
                        w, lambda after, n, real_c=real_c: services.engagement.replies(
                            who, real_c, after, n
                        ), limit,
                    )
                    expected = oracle.comments_of(video, comment)
                    assert replies == expected, f"replies to {comment}: {replies}"
                lists[f"comments {video}"] = top
            notes = await walk_notifications(w, who, services, limit)
            assert notes == oracle.notifications(), f"notifications {notes}"
            lists["notifications"] = notes
            return lists

        self.both(op, GONE)

    @staticmethod
    async def _second(call: Awaitable[tuple[Any, FeedPage]]) -> FeedPage:
        return (await call)[1]

    # The common acts of a day happen more often than the rare ones.
    post_again = rule(u=st.integers(0, 50), public=st.booleans())(
        precondition(lambda self: len(self.videos) < 14)(
            lambda self, u, public: self.post(u, public)
        )
    )
    react_again = rule(u=st.integers(0, 50), v=st.integers(0, 50), kind=st.sampled_from(REACTIONS))(
        precondition(lambda self: self.videos)(lambda self, u, v, kind: self.react(u, v, kind))
    )
    comment_again = rule(
        u=st.integers(0, 50), v=st.integers(0, 50), reply_to=st.none() | st.integers(0, 50)
    )(
        precondition(lambda self: self.videos and len(self.comments) < 30)(
            lambda self, u, v, reply_to: self.comment(u, v, reply_to)
        )
    )
    befriend_again = rule(a=st.integers(0, 50), b=st.integers(0, 50), accept=st.just(True))(
        lambda self, a, b, accept: self.befriend(a, b, accept)
    )

    # ------------------------------------------------------------------ invariants

    @invariant()
    def everything_holds(self) -> None:
        self.worlds_agree_and_counters_match_rows()
        self.ratings_equal_a_recompute()
        self.nobody_sees_what_they_may_not()
        self.pages_add_up()

    def worlds_agree_and_counters_match_rows(self) -> None:
        memory, postgres = (self.worlds_.run(w.rows()) for w in self.worlds)
        for name in memory:
            assert memory[name] == postgres[name], f"{name}: memory and postgres differ"
        check_counters(memory)
        self.rows = memory

    def ratings_equal_a_recompute(self) -> None:
        rows = self.rows
        for world in self.worlds:
            self.worlds_.run(world.services.ranking.recompute_all())
        after = self.worlds_.run(self.worlds[0].rows())
        assert after["users"] == rows["users"], "a recompute changed ratings or streaks"
        assert after["points"] == rows["points"], "a recompute changed points by day"
        check_the_rules_of_the_game(rows, self.weights)

    def nobody_sees_what_they_may_not(self) -> None:
        rows = self.rows
        for user in [self.admin, self.moderator, *self.users]:
            answers = [self.worlds_.run(self._views(w, user, rows)) for w in self.worlds]
            assert answers[0] == answers[1], f"user {user}'s views differ between worlds"

    def pages_add_up(self) -> None:
        """At every ``PAGE_EVERY``-th check, the first right after ``people``, someone
        pages through every list (``_page_through``). A check rather than a rule alone:
        hypothesis turns a random set of rules off in each example (swarm testing), and
        the default profile's few examples seldom drew ``page_through``. Viewer (the
        users first), page size, hashtag and query take turns from ``page_turn`` on."""
        checks, self.checks = self.checks, self.checks + 1
        if checks % PAGE_EVERY:
            return
        k = self.page_turn + checks // PAGE_EVERY
        viewers = [*self.users, self.admin, self.moderator]
        self._page_through(
            viewers[k % len(viewers)], 1 + k % 3, PAGE_TAGS[k % 2], PAGE_QUERIES[k % 4]
        )

    async def _views(self, w: World, user: int, rows: dict[str, Any]) -> Any:
        try:
            who = await self.who(w, user)
        except MomenticError as exc:
            return exc.code
        oracle = Oracle(rows, user, self.clock.now())
        v = lambda i: w.logical("video", i)  # noqa: E731
        c = lambda i: w.logical("comment", i)  # noqa: E731
        u = lambda i: w.logical("user", i)  # noqa: E731
        services = w.services
        global_ = await services.feeds.global_(who, None, False, 50)
        seen_global = [(v(i.video.id), i.locked, i.comment_count) for i in global_.items]
        for video, _, _ in seen_global:
            assert oracle.may_see(video, friends_only=False), f"global feed shows {video}"
            assert oracle.in_my_feeds(video), f"global feed shows {video} of a muted author"
        day, friends = await services.feeds.friends(who, None, None, False, 50)
        seen_friends = [(v(i.video.id), i.locked) for i in friends.items]
        for video, locked in seen_friends:
            assert oracle.may_see(video, friends_only=True), f"friends feed shows {video}"
            assert oracle.in_my_feeds(video), f"friends feed shows {video} of a muted author"
            assert locked == oracle.locked(video), f"friends feed: {video} locked={locked}"
        comments = {}
        for video, _, _ in seen_global:
            try:
                listed = await services.engagement.comments(
                    who, w.real("video", video), None, None, 100
                )
            except MomenticError as exc:
                comments[video] = exc.code
                continue
            comments[video] = [c(x.comment.id) for x in listed]
            for x in listed:
                assert oracle.may_see_comment(c(x.comment.id)), f"{video} lists {x.comment.id}"
        notes, unread = await services.notifications.list(who, None, 100)
        board = await services.ranking.leaderboard(who, Scope.GLOBAL, Period.ALL, None, 50)
        standings = [(u(s.user.id), s.points) for s in board.items]
        for other, _ in standings:
            assert oracle.in_good_standing(other), f"leaderboard shows {other}"
        return {
            "global": seen_global,
            "friends": (day, seen_friends),
            "comments": comments,
            "notifications": (
                sorted(
                    (
                        (n.notification.kind.value, u(n.actor.id) if n.actor else None)
                        for n in notes
                    ),
                    key=repr,
                ),
                unread,
            ),
            "board": standings,
        }

    clip: bytes = b""
    total_steps = 0
    outcomes: Counter[tuple[str, str]] = Counter()


def check_counters(rows: dict[str, Any]) -> None:
    """Every counter equals the rows it counts (the visible ones, for comments)."""
    reactions: dict[tuple[Any, str], int] = {}
    for video, _, kind in rows["reactions"]:
        reactions[(video, kind)] = reactions.get((video, kind), 0) + 1
    # Hidden comments count nowhere; a hidden comment's replies leave the video's count.
    shown = {row[0] for row in rows["comments"] if not row[7]}
    comments_of: dict[Any, int] = {}
    replies_of: dict[Any, int] = {}
    for cid, video, _, parent, *_ in rows["comments"]:
        if cid not in shown:
            continue
        if parent is None or parent in shown:
            comments_of[video] = comments_of.get(video, 0) + 1
        if parent is not None:
            replies_of[parent] = replies_of.get(parent, 0) + 1
    likes_of: dict[Any, int] = {}
    for cid, _ in rows["likes"]:
        likes_of[cid] = likes_of.get(cid, 0) + 1
    for vid, _, _, _, _, heart, flame, funny, angry, comment_count, *_ in rows["videos"]:
        counts = dict(zip(REACTIONS, (heart, flame, funny, angry), strict=True))
        for kind, n in counts.items():
            assert n == reactions.get((vid, kind), 0), f"video {vid}: {kind} count {n}"
        assert comment_count == comments_of.get(vid, 0), f"video {vid}: comment count"
    for cid, _, _, _, _, like_count, reply_count, *_ in rows["comments"]:
        assert like_count == likes_of.get(cid, 0), f"comment {cid}: like count"
        assert reply_count == replies_of.get(cid, 0), f"comment {cid}: reply count"


Fetch = Callable[[Keyset | None, bool], Awaitable[FeedPage]]
MOST_PAGES = 60  # a walk longer than this is a cursor that never ends


async def walk_feed(w: World, fetch: Fetch, name: str) -> list[tuple[Any, bool]]:
    """Every page of a newest-first list: older (``next``) from the first page to the
    end, then newer (``prev``) from the last page back to the first. Both walks give
    the same items in the same order, each once; every cursor is the position of an
    item the pages showed (or the one it was asked with), never of one they left out.
    The items as (logical video, locked)."""
    v = lambda i: w.logical("video", i)  # noqa: E731
    pages: list[FeedPage] = []
    cursor: Keyset | None = None
    for _ in range(MOST_PAGES):
        page = await fetch(cursor, False)
        pages.append(page)
        if page.next is None:
            break
        assert page.items, f"{name}: an empty page with a next cursor"
        cursor = page.next
    else:
        raise AssertionError(f"{name}: more than {MOST_PAGES} pages")
    older = [i for p in pages for i in p.items]
    shown = {(i.video.created_at, i.video.id) for i in older}
    back: list[list[Any]] = [pages[-1].items]
    cursor = pages[-1].prev
    for _ in range(MOST_PAGES):
        if cursor is None or not older:
            break
        page = await fetch(cursor, True)
        pages.append(page)
        if not page.items:
            break
        back.append(page.items)
        cursor = page.prev
    else:
        raise AssertionError(f"{name}: more than {MOST_PAGES} pages back")
    newer = [i for p in reversed(back) for i in p]
    for page in pages:
        for position in (page.next, page.prev):
            if position is not None:
                assert (position.created_at, position.id) in shown, (
                    f"{name}: a cursor names {v(position.id)}, which no page showed"
                )
    got = [(v(i.video.id), i.locked) for i in older]
    assert [(v(i.video.id), i.locked) for i in newer] == got, f"{name}: back and forth differ"
    assert len(set(got)) == len(got), f"{name}: an item on two pages"
    return got


async def walk_comments(
    w: World,
    fetch: Callable[[tuple[datetime, int] | None, int], Awaitable[list[CommentView]]],
    limit: int,
) -> list[Any]:
    """Every page of a comment list as the API pages it (limit + 1 read, the cursor the
    last comment shown), as logical comments, oldest first."""
    got: list[Any] = []
    after: tuple[datetime, int] | None = None
    for _ in range(MOST_PAGES):
        views = await fetch(after, limit + 1)
        got += [w.logical("comment", x.comment.id) for x in views[:limit]]
        if len(views) <= limit:
            return got
        last = views[limit - 1].comment
        after = (last.created_at, last.id)
    raise AssertionError(f"comments: more than {MOST_PAGES} pages")


async def walk_notifications(w: World, who: Principal, services: Any, limit: int) -> Any:
    """Every page of my notifications as the API pages them (limit + 1 read, the cursor
    the last one shown), each once, as sorted (kind, logical video, logical comment)."""
    found: list[Any] = []
    before: int | None = None
    for _ in range(MOST_PAGES):
        views, _ = await services.notifications.list(who, before, limit + 1)
        found += [x.notification for x in views[:limit]]
        if len(views) <= limit:
            break
        before = found[-1].id
    else:
        raise AssertionError(f"notifications: more than {MOST_PAGES} pages")
    assert len({n.id for n in found}) == len(found), "a notification on two pages"
    return sorted(
        ((n.kind.value, w.logical("video", n.video_id), w.logical("comment", n.comment_id))
         for n in found),
        key=repr,
    )


DEFAULT_WEIGHTS = {"heart": 2, "flame": 3, "funny": 2, "angry": 0, "comment": 3,
                   "on_time": 10, "streak_day": 5}


def check_the_rules_of_the_game(rows: dict[str, Any], weights: dict[str, int]) -> None:
    """Every rating is what the README's rules say, counted here from the rows (not by
    the code under test): others' reactions on my ready videos, one comment's points per
    (video, other commenter) with a comment moderation has not hidden, one on-time
    bonus per UTC day, and the streak term."""
    ready = {r[0]: r for r in rows["videos"] if r[3] == "ready"}
    expected: dict[Any, int] = {r[0]: 0 for r in rows["users"]}
    for video, user, kind in rows["reactions"]:
        if video in ready and user != ready[video][1]:
            expected[ready[video][1]] += weights[kind]
    pairs = {
        (video, author) for _, video, author, _, _, _, _, hidden, _ in rows["comments"]
        if video in ready and author != ready[video][1] and not hidden
    }
    for video, _ in pairs:
        expected[ready[video][1]] += weights["comment"]
    on_time_days = {(r[1], r[11].astimezone(UTC).date()) for r in ready.values() if r[10]}
    for author, _ in on_time_days:
        expected[author] += weights["on_time"]
    for user in rows["users"]:
        total = expected[user[0]] + weights["streak_day"] * user[5]
        assert user[4] == total, f"user {user[0]}: rating {user[4]}, the rules say {total}"


class Oracle:
    """What one viewer may see, judged from the rows (not from the queries under test)."""

    def __init__(self, rows: dict[str, Any], viewer: int, now: Any) -> None:
        self.viewer = viewer
        self.now = now
        self.users = {r[0]: r for r in rows["users"]}
        self.videos = {r[0]: r for r in rows["videos"]}
        self.comments = {r[0]: r for r in rows["comments"]}
        self.friends = {b for a, b in rows["friendships"] if a == viewer}
        self.staff = viewer in self.users and self.users[viewer][1] in ("moderator", "admin")
        self.blocked = {b for a, b in rows["blocks"] if a == viewer} | {
            a for a, b in rows["blocks"] if b == viewer
        }
        self.muted = {b for a, b in rows["mutes"] if a == viewer}
        self.notes = rows["notifications"]

    def in_good_standing(self, user: Any) -> bool:
        row = self.users.get(user)
        if row is None:
            return False
        status, until = row[2], row[9]
        return status == "active" or (
            status == "suspended" and until is not None and until <= self.now
        )

    def may_see(self, video: Any, friends_only: bool) -> bool:
        row = self.videos.get(video)
        if row is None or row[3] != "ready":
            return False
        author = row[1]
        if author == self.viewer:
            return True
        if author in self.blocked or not self.in_good_standing(author):
            return False
        if friends_only:
            return author in self.friends
        return row[2] == "public" or author in self.friends

    def in_my_feeds(self, video: Any) -> bool:
        """Nobody sees a muted author in their feeds (the video stays readable)."""
        return self.videos[video][1] not in self.muted

    def locked(self, video: Any) -> bool:
        """The BeReal lock from the stamped times alone (no time zone): a friend's
        friends-only video of the last 24 hours is locked until the viewer has a ready
        video created at or after the moment it answers."""
        row = self.videos[video]
        author, visibility, created_at, moment_at = row[1], row[2], row[11], row[12]
        if author == self.viewer or visibility != "friends" or self.staff:
            return False
        if self.now >= created_at + timedelta(hours=24):
            return False
        anchor = moment_at or created_at
        return not any(
            r[1] == self.viewer and r[3] == "ready" and r[11] >= anchor
            for r in self.videos.values()
        )

    # What each paged list holds for the viewer, newest first: (video, locked).

    def _in_feeds(self, video: Any) -> bool:
        """A feed's rule: ready, mine or of a visible author I did not mute, public or a
        friend's."""
        return self.may_see(video, friends_only=False) and self.in_my_feeds(video)

    def _newest_first(self, videos: Any) -> list[tuple[Any, bool]]:
        listed = sorted(videos, key=lambda v: (self.videos[v][11], v), reverse=True)
        return [(v, self.locked(v)) for v in listed]

    def global_feed(self) -> list[tuple[Any, bool]]:
        return self._newest_first(
            v for v, row in self.videos.items() if row[2] == "public" and self._in_feeds(v)
        )

    def friends_feed(self, since: datetime, until: datetime) -> list[tuple[Any, bool]]:
        """My friends' videos of my today, the locked ones sealed but listed."""
        return self._newest_first(
            v for v, row in self.videos.items()
            if row[1] in self.friends and since <= row[11] < until and self._in_feeds(v)
        )

    def hashtag(self, tag: str) -> list[tuple[Any, bool]]:
        """The videos tagged so (any case, with or without #), but those behind the lock."""
        wanted = tag.removeprefix("#").casefold()
        return self._newest_first(
            v for v, row in self.videos.items()
            if wanted in re.findall(r"#(\w+)", row[4].casefold())
            and self._in_feeds(v) and not self.locked(v)
        )

    def search(self, q: str) -> list[tuple[Any, bool]]:
        """The videos with a word of their description beginning with ``q``, but those
        behind the lock."""
        return self._newest_first(
            v for v, row in self.videos.items()
            if any(word.startswith(q) for word in re.findall(r"\w+", row[4].casefold()))
            and self._in_feeds(v) and not self.locked(v)
        )

    def comments_of(self, video: Any, parent: Any) -> list[Any]:
        """A video's top-level comments (or a comment's replies) I may see, oldest first."""
        return sorted(
            c for c, row in self.comments.items()
            if row[1] == video and row[3] == parent and self.may_see_comment(c)
        )

    def notifications(self) -> list[Any]:
        return sorted(
            (
                (kind, video, comment)
                for (user, kind, _, video, comment, _, _), n in self.notes
                if user == self.viewer
                for _ in range(n)
            ),
            key=repr,
        )

    def may_see_comment(self, comment: Any) -> bool:
        row = self.comments.get(comment)
        if row is None or row[7]:  # hidden
            return False
        author = row[2]
        return author == self.viewer or (
            author not in self.blocked and self.in_good_standing(author)
        )


# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def worlds(
    database_url: str,
    _pg_reset_script: str,
    tmp_path_factory: pytest.TempPathFactory,
    clip_factory: Any,
) -> Iterator[Worlds]:
    made = Worlds(database_url, _pg_reset_script, tmp_path_factory.mktemp("lives"))
    clip = clip_factory(
        tmp_path_factory.mktemp("lives-clip") / "tiny.mp4",
        seconds=0.25,
        width=64,
        height=48,
        fps=4,
        audio=False,
    )
    LivesMachine.clip = Path(clip).read_bytes()
    yield made
    made.close()


def test_user_lives_on_both_adapters(worlds: Worlds) -> None:
    """``LIVES_PROFILE=deep LIVES_MINUTES=20`` (make test-deep): random lives, batch after
    batch, until the minutes are up; the steps run are printed."""
    profile = os.environ.get("LIVES_PROFILE", "default")
    examples, steps = PROFILES[profile]
    minutes = float(os.environ.get("LIVES_MINUTES", "0"))
    LivesMachine.worlds_ = worlds
    LivesMachine.total_steps = 0
    deadline = time.monotonic() + minutes * 60
    batches = 0
    while True:
        run_state_machine_as_test(
            LivesMachine,
            settings=settings(
                max_examples=examples if not minutes else 25,
                stateful_step_count=steps,
                deadline=None,
                derandomize=not minutes,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
        batches += 1
        if time.monotonic() >= deadline:
            break
    print(f"\nuser lives: {batches} batches, {LivesMachine.total_steps} steps answered")
    for (step, outcome), n in sorted(LivesMachine.outcomes.items()):
        print(f"  {step:28} {outcome:24} {n}")
