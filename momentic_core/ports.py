"""Ports: every outside thing the domain talks to, as async ``typing.Protocol``s.

Each port has an in-memory adapter (``adapters.memory``) and a real one; one contract
suite in ``tests/contract`` runs against both. Docstrings say which domain error a
method raises and what is idempotent.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Protocol

from momentic_core.model.accounts import (
    AccessClaims,
    CodePurpose,
    ExternalIdentity,
    Mail,
    Person,
    RateDecision,
    RefreshUse,
    Role,
    Session,
    User,
    VerificationCode,
    VerifiedIdToken,
)
from momentic_core.model.devices import Device, NotificationSettings, PushMessage, PushResult
from momentic_core.model.engagement import (
    Comment,
    CommentLike,
    CommentView,
    Notification,
    NotificationView,
    ReactionChange,
    ReactionKind,
    Reactor,
    UserReaction,
)
from momentic_core.model.events import Event
from momentic_core.model.jobs import Job, JobBacklog, JobMessage
from momentic_core.model.mfa import Totp
from momentic_core.model.moderation import (
    Appeal,
    AppealStatus,
    AuditEntry,
    AuditFilter,
    Case,
    CaseFilter,
    CaseKey,
    Report,
    RuntimeConfig,
    TargetContent,
    TargetType,
    UserFilter,
)
from momentic_core.model.ranking import (
    BoardKey,
    Moment,
    RankingWeights,
    RatingFacts,
    Scope,
    StatsPoint,
    StreakState,
)
from momentic_core.model.search import TrendingTag, UserKeyset, UserMatch
from momentic_core.model.social import (
    Contact,
    FeedItem,
    FeedSettings,
    FriendRequest,
    Keyset,
    Relation,
    VideoForViewer,
)
from momentic_core.model.videos import (
    Backfill,
    BlobInfo,
    MediaInfo,
    MultipartInfo,
    PartInfo,
    Upload,
    Video,
    Visibility,
)
from momentic_core.model.views import ViewRecord, ViewResult, WatchedDay, WatchTotals


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


# User fields only the ranking repository writes; ``UserRepository.update`` keeps them.
RANKING_FIELDS = ("rating", "current_streak", "max_streak", "max_reactions", "last_post_day")


class UserRepository(Protocol):
    async def add(self, user: User) -> User:
        """Store a new user (its ``id`` is ignored) and return it with its id.

        Raises Conflict(code="email_taken" | "nickname_taken")."""
        ...

    async def get(self, user_id: int) -> User:
        """Raises NotFound(code="user_not_found")."""
        ...

    async def get_with_session(self, user_id: int, session_id: int) -> tuple[User, Session | None]:
        """The user and a session (of anyone; None when there is none), in one read: what
        every authenticated request checks. Raises NotFound(code="user_not_found")."""
        ...

    async def get_for_update(self, user_id: int) -> User:
        """Like ``get`` but holds the row until the unit of work ends."""
        ...

    async def find_by_email(self, email: str) -> User | None:
        """Email is matched case-insensitively."""
        ...

    async def find_by_nickname(self, nickname: str) -> User | None:
        """Nickname is matched case-insensitively."""
        ...

    async def update(self, user: User) -> User:
        """Write every field of ``user`` but ``RANKING_FIELDS``.
        Raises NotFound, Conflict(code="nickname_taken")."""
        ...

    async def delete(self, user_id: int) -> None:
        """Remove the user and everything that belongs to it. Idempotent."""
        ...

    async def search(self, where: UserFilter, after_id: int | None, limit: int) -> list[User]:
        """Users by id, after ``after_id``; ``where.query`` matches the start of the email
        (unless ``where.by_email`` is False) or the nickname, case-insensitively."""
        ...

    async def count_with_role(self, role: Role) -> int: ...


class CodeRepository(Protocol):
    async def put(self, code: VerificationCode) -> None:
        """Store ``code``, replacing any earlier code of the same user and purpose."""
        ...

    async def get(self, user_id: int, purpose: CodePurpose) -> VerificationCode | None: ...

    async def record_failure(self, user_id: int, purpose: CodePurpose) -> int:
        """Count one wrong try and return the new count (0 when there is no code)."""
        ...

    async def delete(self, user_id: int, purpose: CodePurpose) -> None:
        """Idempotent."""
        ...


class SessionRepository(Protocol):
    async def add(self, session: Session) -> Session:
        """Store a new session (its ``id`` is ignored) and return it with its id."""
        ...

    async def get(self, session_id: int) -> Session | None: ...

    async def list_for_user(self, user_id: int) -> list[Session]:
        """Sessions not revoked, most recently used first."""
        ...

    async def page_for_user(self, user_id: int, after_id: int | None, limit: int) -> list[Session]:
        """Every session of the user, revoked ones too, by id after ``after_id`` (a data
        export's keyset page)."""
        ...

    async def touch(self, session_id: int, at: datetime, ip: str | None) -> None: ...

    async def revoke(self, session_id: int, at: datetime) -> None:
        """Idempotent: a revoked session keeps its first revocation time."""
        ...

    async def revoke_all(self, user_id: int, at: datetime, keep: int | None = None) -> int:
        """Revoke every live session of the user but ``keep``; return how many."""
        ...

    async def delete_ended(self, revoked_before: datetime, idle_before: datetime) -> int:
        """Delete sessions revoked before ``revoked_before`` or unused since before
        ``idle_before`` (long past refreshing), with their refresh tokens and devices;
        return how many."""
        ...

    async def used_from(self, user_id: int, ip: str) -> bool:
        """Whether a session of the user, revoked and expired ones too, was last used from
        ``ip`` (exactly as the edge gave it)."""
        ...

    async def add_refresh_token(self, token_hash: str, session_id: int, at: datetime) -> None: ...

    async def use_refresh_token(
        self, token_hash: str, at: datetime, nonce: str | None = None
    ) -> RefreshUse | None:
        """Spend a refresh token atomically, keeping ``at`` and ``nonce`` with it.

        Returns None for an unknown token. Of several concurrent calls with one token,
        exactly one sees ``already_used=False``; every call sees the ``used_at`` and
        ``nonce`` of that first spend."""
        ...

    async def find_refresh_token(self, token_hash: str) -> RefreshUse | None:
        """A refresh token's state, without spending it (``already_used``: it was spent);
        None for an unknown token."""
        ...


class IdentityRepository(Protocol):
    async def find(self, provider: str, subject: str) -> ExternalIdentity | None: ...

    async def add(self, identity: ExternalIdentity) -> None:
        """Raises Conflict(code="identity_linked") when the pair is linked already."""
        ...

    async def list_for_user(self, user_id: int) -> list[ExternalIdentity]: ...


class VideoRepository(Protocol):
    async def add(self, video: Video) -> Video:
        """Store a new video (its ``id`` is ignored) and return it with its id. Raises
        Conflict(code="duplicate_content") when another video of its author in
        ``CONTENT_STATUSES`` has its ``content_hash`` (so of two concurrent uploads of
        the same bytes one wins); ``update`` likewise."""
        ...

    async def by_content(self, author_id: int, content_hash: str) -> Video | None:
        """The author's video in ``CONTENT_STATUSES`` whose file has this SHA-256, if any
        (at most one)."""
        ...

    async def remember_removed(self, author_id: int, content_hash: str, at: datetime) -> None:
        """A video a moderator removed is being deleted by its author: its content stays
        refused to them (``removed_content``). Idempotent."""
        ...

    async def removed_content(self, author_id: int, content_hash: str) -> bool:
        """Whether a removed video of these bytes was deleted by this author."""
        ...

    async def get(self, video_id: int) -> Video:
        """Raises NotFound(code="video_not_found")."""
        ...

    async def get_for_update(self, video_id: int) -> Video: ...

    async def get_for_viewer(self, video_id: int, viewer_id: int) -> VideoForViewer:
        """The video, its author, the viewer, and whether the viewer and the author block
        each other either way or are friends, in one read. Raises
        NotFound(code="video_not_found"), also when the viewer's account is gone."""
        ...

    async def update(self, video: Video) -> Video:
        """Write the video's own fields; its counters (``reactions``, ``comment_count``)
        belong to the reaction and comment repositories and are left as stored.
        Raises NotFound(code="video_not_found")."""
        ...

    async def set_visibility(self, video_id: int, visibility: Visibility, at: datetime) -> Video:
        """The author's choice of visibility, kept even when it equals the one in force
        (which stays friends while the author's account is private); ``updated_at`` is
        ``at``. Raises NotFound(code="video_not_found")."""
        ...

    async def delete(self, video_id: int) -> None:
        """Idempotent."""
        ...

    async def list_by_author(
        self,
        author_id: int,
        *,
        ready_only: bool,
        public_only: bool,
        before: tuple[datetime, int] | None,
        limit: int,
    ) -> list[Video]:
        """Newest first, strictly after the keyset ``before`` (created_at, id)."""
        ...

    async def referenced_keys(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` a video, an upload or an avatar still points at."""
        ...

    async def lacking(self, what: Backfill, after_id: int, limit: int) -> list[Video]:
        """Videos without what a later migration added, by id, strictly after
        ``after_id``: SEARCH, never indexed for search (none on an adapter whose search
        reads the descriptions themselves); HLS, ready with an MP4 and no HLS
        presentation, unless packaging it failed for good (``hls_error``); HASHES, in
        ``CONTENT_STATUSES`` with a source file and no ``content_hash``."""
        ...

    async def count_lacking(self, what: Backfill) -> int:
        """How many videos ``lacking`` would list from the start."""
        ...

    async def count_hls_failed(self) -> int:
        """How many videos ``lacking(HLS)`` passes over: ready with an MP4 and no HLS
        presentation because packaging the MP4 failed for good (``hls_error``)."""
        ...

    async def index_search(self, video_ids: list[int]) -> int:
        """Index the descriptions of those of these videos never indexed for search (their
        words and hashtags, as ``add`` and ``update`` write them); return how many.
        Idempotent."""
        ...

    async def set_content_hash(self, video_id: int, content_hash: str) -> bool:
        """Give a video in ``CONTENT_STATUSES`` without a content hash this one; False
        (nothing written) when it has one, is gone or holds no content, or another of its
        author's videos holds these bytes. Raises Conflict(code="duplicate_content") when
        such a video gets in concurrently."""
        ...


class ViewRepository(Protocol):
    """Views: one row per viewer, video and UTC day. The video's ``view_count``,
    ``completed_views`` and ``watched_ms`` change in the same transaction as the rows
    (a trigger on PostgreSQL), so counts always equal rows, a deleted viewer's included."""

    async def record(self, view: ViewRecord) -> ViewResult:
        """Add the viewer's view of the day, or raise the day's row to the most watched
        and reached end so far (never lower: idempotent). Raises
        NotFound(code="video_not_found" | "user_not_found")."""
        ...

    async def author_totals(self, author_id: int) -> WatchTotals:
        """Views, completed views and watched time over the author's ready videos."""
        ...

    async def by_viewer(
        self, viewer_id: int, after: tuple[date, int] | None, limit: int
    ) -> list[WatchedDay]:
        """The viewer's rows by (day, video id), strictly after ``after`` (a data export's
        keyset page), whoever may see the video now."""
        ...


class UploadRepository(Protocol):
    async def add(self, upload: Upload) -> Upload: ...

    async def get(self, upload_id: int) -> Upload:
        """Raises NotFound(code="upload_not_found")."""
        ...

    async def get_for_update(self, upload_id: int) -> Upload: ...

    async def update(self, upload: Upload) -> Upload: ...

    async def delete(self, upload_id: int) -> None:
        """Idempotent."""
        ...

    async def list_abandoned(self, created_before: datetime, limit: int) -> list[Upload]:
        """Uploads never completed and created before the given time."""
        ...

    async def count_open(self) -> int:
        """Uploads begun and not completed (nor yet swept as abandoned): metrics."""
        ...


class JobQueue(Protocol):
    """Background jobs. ``enqueue`` inside a unit of work commits with it."""

    async def enqueue(
        self,
        message: JobMessage,
        *,
        run_at: datetime | None = None,
        max_attempts: int = 5,
        dedupe_key: str | None = None,
    ) -> int | None:
        """Add a job of the message's kind (``model.jobs``), its fields the payload; with
        ``dedupe_key``, None when one with that key is queued or running."""
        ...

    async def delete_finished(self, done_before: datetime, dead_before: datetime) -> int:
        """Delete done jobs last changed before ``done_before`` and dead ones before
        ``dead_before`` (kept longer, for the operator to read); return how many."""
        ...


class JobRunner(Protocol):
    """Takes and settles jobs; safe to share between workers and app instances."""

    async def claim(self, kinds: list[str], lease: timedelta) -> Job | None:
        """Take the oldest due job (queued, or running with an expired lease: its worker
        died), count an attempt and lease it. No two callers get the same job. Its
        ``message`` is the payload read as its kind's message, or a ``BadPayload`` when it
        does not read as one."""
        ...

    async def next_due(self, kinds: list[str]) -> datetime | None:
        """When the earliest queued job of these kinds is due (it may be due already);
        None when none is queued. An idle worker waits no longer than that."""
        ...

    async def extend(self, job_id: int, attempt: int, lease: timedelta) -> bool:
        """Renew the lease of a running job (a worker's heartbeat). False when this claim
        (the job at ``attempt``) was lost: another worker took the job meanwhile."""
        ...

    # Settling with ``attempt`` acts only if the job is still at that claim, so a worker
    # whose lease ran out cannot settle the claim of the worker that took the job over.
    async def complete(
        self, job_id: int, attempt: int | None = None, *, forget: bool = False
    ) -> None:
        """The job is done. With ``forget`` its payload is cleared (to ``{}``): it held a
        secret, such as the code in a queued mail, that must not outlive the job."""
        ...

    async def retry(
        self, job_id: int, error: str, run_at: datetime, attempt: int | None = None,
        *, refund: bool = False,
    ) -> None:
        """Queue the job again, due at ``run_at``, ``error`` kept. With ``refund`` this
        attempt is not counted (as ``release``): the job was not really tried (its
        service asked it to wait)."""
        ...

    async def bury(
        self, job_id: int, error: str, attempt: int | None = None, *, forget: bool = False
    ) -> None:
        """The job is dead: no more tries; its reason is kept (``forget``: as ``complete``)."""
        ...

    async def get(self, job_id: int) -> Job | None: ...

    async def release(self, job_id: int, attempt: int) -> None:
        """Hand a running job back at once (its worker is stopping): queued and due now,
        this attempt not counted, so another worker takes it without waiting out the
        lease. Acts only on that claim, like the settling calls."""
        ...

    async def backlog(self) -> list[JobBacklog]:
        """Every kind with a queued, running or dead job, sorted by kind (metrics)."""
        ...


class SocialRepository(Protocol):
    """Friendships (stored both ways), friend requests and blocks."""

    async def lock_pair(self, a: int, b: int) -> None:
        """Hold the lock of the pair {a, b} (either order names it) until the unit of work
        ends: requests, acceptances, unfriends and blocks between two users run one after
        the other, so two mutual requests at once make one friendship. Take it first, before
        any row lock."""
        ...

    async def relation(self, me: int, other: int) -> Relation:
        """How ``other`` stands to ``me``; BLOCKED only when I blocked them."""
        ...

    async def blocked_either_way(self, a: int, b: int) -> bool: ...

    async def blocked_ids(self, user_id: int) -> set[int]:
        """Everyone the user blocked or who blocked them."""
        ...

    async def add_request(self, request: FriendRequest) -> None:
        """Raises Conflict(code="request_exists")."""
        ...

    async def delete_request(self, from_id: int, to_id: int) -> bool:
        """True when there was one."""
        ...

    async def add_friendship(self, a: int, b: int, at: datetime) -> None:
        """Idempotent. Removes any friend request between the two, either way."""
        ...

    async def remove_friendship(self, a: int, b: int) -> bool: ...

    async def add_block(self, blocker: int, blocked: int, at: datetime) -> None:
        """Idempotent. Removes any friendship and request between the two."""
        ...

    async def remove_block(self, blocker: int, blocked: int) -> bool: ...

    async def add_mute(self, muter: int, muted: int, at: datetime) -> None:
        """Idempotent (the first time stays). Touches nothing else between the two: a
        muted friend stays a friend. Raises NotFound(code="user_not_found")."""
        ...

    async def remove_mute(self, muter: int, muted: int) -> bool:
        """True when there was one."""
        ...

    async def muted_ids(self, user_id: int) -> set[int]:
        """Everyone the user muted (never who muted them)."""
        ...

    async def has_muted(self, muter: int, muted: int) -> bool: ...

    async def list_contacts(
        self, user_id: int, kind: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[Contact]:
        """``kind``: friends | incoming | outgoing | blocked | muted. Newest first, keyset
        on (since, user id); banned and suspended users left out (but for blocked and
        muted, which one may undo whatever became of them)."""
        ...

    async def friend_count(self, user_id: int) -> int: ...

    async def search(
        self, viewer: int, prefix: str, after: str | None, limit: int
    ) -> list[Person]:
        """Users whose nickname starts with ``prefix``, by nickname, after ``after``;
        no one blocked either way, banned or suspended, nor the viewer."""
        ...


class SearchRepository(Protocol):
    """Hashtag pages, trending tags and text search, each page one query. Videos follow
    the feeds' rule (``FeedRepository``): ready, the author someone to others and not
    blocked either way, public or the viewer's own or a friend's; newest first, paged by
    a ``Keyset`` like ``global_feed``. The BeReal lock is the caller's
    (``services.visibility.behind_lock``)."""

    async def hashtag_videos(
        self, viewer: int, tag: str, cursor: Keyset | None, newer: bool, limit: int
    ) -> list[FeedItem]:
        """Videos whose description has the (folded) hashtag ``tag``."""
        ...

    async def videos(
        self, viewer: int, words: tuple[str, ...], cursor: Keyset | None, newer: bool,
        limit: int,
    ) -> list[FeedItem]:
        """Videos whose description has, for every one of ``words``, a search word it
        begins (``policies.search.matches``)."""
        ...

    async def users(
        self, viewer: int, query: str, after: UserKeyset | None, limit: int
    ) -> list[UserMatch]:
        """Users other than the viewer, someone to others and not blocked either way,
        whose nickname matches ``query`` (``policies.search.nickname_matches``); best
        score first, then by nickname; after ``after`` (score, nickname) when given."""
        ...

    async def trending(
        self, viewer: int, since: datetime, until: datetime, limit: int
    ) -> list[TrendingTag]:
        """The tags of the most ready public videos created in [since, until) whose
        authors are someone to others and not blocked either way with the viewer;
        counted by distinct videos, most first, then by tag (code point order)."""
        ...


class FeedRepository(Protocol):
    """Reads that assemble feed items in one query per page. Every query leaves out
    videos that are not ready, authors blocked either way or muted by the viewer, banned
    or suspended authors, and friends-only videos of non-friends."""

    async def friends_feed(
        self,
        viewer: int,
        since: datetime,
        until: datetime,
        cursor: Keyset | None,
        newer: bool,
        limit: int,
    ) -> list[FeedItem]:
        """Videos by the viewer's friends created in [since, until). Newest first; with a
        cursor, the items older than it (``newer`` False) or newer than it (True)."""
        ...

    async def global_feed(
        self, viewer: int, cursor: Keyset | None, newer: bool, limit: int
    ) -> list[FeedItem]:
        """Public videos, newest first, paged like ``friends_feed``."""
        ...

    async def rank_for_you(
        self, viewer: int, as_of: datetime, settings: FeedSettings
    ) -> list[int]:
        """Ids of public videos from ``settings.candidate_window`` before ``as_of``, that
        the viewer has not seen, best score first (ties: newest id first), at most
        ``settings.candidate_limit``. Only the newest ``settings.candidate_pool`` public
        videos of the window are scored, so the cost is bounded whatever the volume."""
        ...

    async def save_snapshot(
        self, viewer: int, video_ids: list[int], at: datetime, *, keep: int
    ) -> int:
        """Keep a ranking for paging; return its id. The viewer's older snapshots beyond
        the newest ``keep`` (this one included) are deleted. Raises
        NotFound(code="user_not_found") for an unknown viewer."""
        ...

    async def latest_snapshot(self, viewer: int, after: datetime) -> int | None:
        """The id of the viewer's newest snapshot made after ``after``, or None."""
        ...

    async def lock_snapshots(self, viewer: int) -> None:
        """Hold the lock of the viewer's snapshots until the unit of work ends, so that
        concurrent first pages of one viewer save one snapshot (a transaction advisory
        lock on PostgreSQL; the store's own lock in memory)."""
        ...

    async def snapshot_page(
        self, snapshot_id: int, viewer: int, after_rank: int, limit: int
    ) -> list[tuple[int, FeedItem]]:
        """(rank, item) of the snapshot after ``after_rank``, still visible now.
        Raises NotFound(code="snapshot_expired") for an unknown or foreign snapshot."""
        ...

    async def delete_snapshots(self, created_before: datetime) -> int: ...

    async def record_view(self, viewer: int, video_id: int, at: datetime) -> bool:
        """Idempotent; True the first time."""
        ...

    async def latest_post(self, user_id: int, since: datetime, until: datetime) -> datetime | None:
        """When the newest of the user's ready videos created in [since, until) was
        created, or None: a junk upload, still processing or about to be rejected, does
        not unlock the BeReal feed."""
        ...


class ForYouCandidateRepository(Protocol):
    """The For-You ranking ahead of the request: the viewer-independent part of the score
    (``policies.ranking.for_you_base``) of the candidate pool, measured at the last
    refresh, in one table shared by every viewer."""

    async def refresh(self, as_of: datetime, settings: FeedSettings) -> int:
        """Replace the table with the newest ``settings.candidate_pool`` ready public
        videos of ``settings.candidate_window`` before ``as_of``, each with its base score
        at ``as_of``; return how many. Concurrent refreshes run one after the other."""
        ...

    async def rank(
        self, viewer: int, now: datetime, settings: FeedSettings
    ) -> list[int] | None:
        """What ``FeedRepository.rank_for_you`` returns at the last refresh's time, from
        the table: candidates the viewer has not seen and may see ``now`` (the feeds'
        visibility rule), best ``base + weight_friends * friends who engaged`` first
        (ties: newest id), at most ``settings.candidate_limit``. None when the table was
        never refreshed or not since ``now - settings.candidate_stale_after``."""
        ...


class ReactionRepository(Protocol):
    """One reaction per user and video. The video's per-kind counters change in the same
    transaction as the row, under the video's row lock, so counts always equal rows."""

    async def set(
        self, user_id: int, video_id: int, kind: ReactionKind, at: datetime
    ) -> ReactionChange:
        """Insert or replace the user's reaction (a replacement keeps its first time;
        ``since`` is that time, None for a new one).
        Raises NotFound(code="video_not_found" | "user_not_found")."""
        ...

    async def remove(self, user_id: int, video_id: int) -> ReactionChange | None:
        """None when the user had no reaction there (idempotent); ``since`` is when the
        removed reaction had been made."""
        ...

    async def get(self, user_id: int, video_id: int) -> ReactionKind | None: ...

    async def mine(self, user_id: int, video_ids: list[int]) -> dict[int, ReactionKind]:
        """The user's reactions to these videos (one query), by video id."""
        ...

    async def by_user(
        self, user_id: int, after_video_id: int | None, limit: int
    ) -> list[UserReaction]:
        """The user's reactions by video id after ``after_video_id`` (a data export's
        keyset page): to every video, whoever may see it now."""
        ...

    async def list(
        self, video_id: int, viewer: int, after: tuple[datetime, int] | None, limit: int
    ) -> list[Reactor]:
        """Newest first, keyset (created_at, user id). Leaves out users blocked either way
        with ``viewer``, and banned or suspended users."""
        ...


class CommentRepository(Protocol):
    """Comments and one level of replies, with comment likes. ``Video.comment_count``
    (the comments a reader can reach: visible top-level comments and the visible replies
    of visible ones), ``Comment.reply_count`` (visible replies) and ``Comment.like_count``
    change in the same transaction as the rows, hiding and showing included."""

    async def add(self, comment: Comment) -> Comment:
        """Store it (its ``id`` is ignored) and return it with its id.
        Raises NotFound(code="video_not_found" | "comment_not_found" | "user_not_found")."""
        ...

    async def get(self, comment_id: int) -> Comment:
        """Raises NotFound(code="comment_not_found")."""
        ...

    async def get_for_update(self, comment_id: int) -> Comment: ...

    async def view(self, comment_id: int, viewer: int) -> CommentView:
        """The comment with its author and whether ``viewer`` likes it. Raises NotFound."""
        ...

    async def edit(self, comment_id: int, body: str, at: datetime) -> Comment:
        """Replace the body and set ``edited_at``. Raises NotFound."""
        ...

    async def set_hidden(self, comment_id: int, hidden: bool) -> None:
        """Hide a comment (and so its replies) from every list and count, or show it
        again. Raises NotFound(code="comment_not_found")."""
        ...

    async def visible_count(self, video_id: int, author_id: int) -> int:
        """How many comments and replies not hidden by moderation ``author_id`` has on
        the video (a comment's points are earned once per commenter and video)."""
        ...

    async def delete(self, comment_id: int) -> int:
        """Remove the comment with its replies and likes; how many comments went (0 when
        it was gone already)."""
        ...

    async def by_author(
        self, author_id: int, after_id: int | None, limit: int
    ) -> list[CommentView]:
        """The author's comments and replies by id after ``after_id`` (a data export's
        keyset page), hidden ones too, on every video; ``liked_by_me`` is the author's
        own like."""
        ...

    async def likes_by_user(
        self, user_id: int, after_comment_id: int | None, limit: int
    ) -> list[CommentLike]:
        """The user's comment likes by comment id after ``after_comment_id`` (a data
        export's keyset page), hidden comments too."""
        ...

    async def list(
        self,
        video_id: int,
        parent_id: int | None,
        viewer: int,
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> list[CommentView]:
        """Oldest first, keyset (created_at, id): top-level comments of the video, or the
        replies to ``parent_id``. Leaves out hidden comments, authors blocked either way
        with ``viewer``, and banned or suspended authors; ``liked_by_me`` is the
        viewer's."""
        ...

    async def like(self, comment_id: int, user_id: int, at: datetime) -> tuple[bool, int]:
        """Idempotent: (True when this added the like, the like count after).
        Raises NotFound(code="comment_not_found")."""
        ...

    async def unlike(self, comment_id: int, user_id: int) -> tuple[bool, int]:
        """Idempotent: (True when this removed a like, the like count after)."""
        ...


class NotificationRepository(Protocol):
    async def add(self, notification: Notification) -> Notification | None:
        """Store it (``id`` ignored); None when the user has one with the same
        ``dedupe_key`` already. Notifications go with the video or comment they are
        about. Raises NotFound(code="user_not_found")."""
        ...

    async def list(
        self, user_id: int, before_id: int | None, limit: int
    ) -> list[NotificationView]:
        """Newest first (by id), with each actor; an actor who is gone, banned or
        suspended, or blocked either way, shows as None, and so does the text of a comment
        or reply notification from them (their words), or about a hidden comment."""
        ...

    async def unread_count(self, user_id: int) -> int: ...

    async def unread_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        """``unread_count`` of each of these users at once (0 for one with none)."""
        ...

    async def mark_read(self, user_id: int, notification_id: int, at: datetime) -> bool:
        """False when the user has no such notification. Idempotent."""
        ...

    async def mark_all_read(self, user_id: int, at: datetime) -> int:
        """How many were unread."""
        ...


class EventOutbox(Protocol):
    """Live events of a unit of work: delivered if and only if it commits, in commit
    order, to every instance that shares the store (``LiveEventSource``)."""

    async def emit(self, event: Event) -> None:
        """Collect ``event`` (model.events) for after the commit. Its JSON must stay under
        7,000 bytes (PostgreSQL NOTIFY's limit)."""
        ...


class RankingRepository(Protocol):
    """Ratings, their points by UTC day, streaks and leaderboards."""

    async def weights(self) -> RankingWeights:
        """The current weights (the defaults until an admin sets them), held (shared)
        until the unit of work ends: a change of weights waits for events in flight."""
        ...

    async def set_weights(self, weights: RankingWeights) -> None: ...

    async def add_points(
        self, user_id: int, points: int, at: datetime | None, *, max_reactions: int = 0
    ) -> None:
        """Add to the rating and, when ``at`` is given, to the points of its UTC day; and
        raise max_reactions to ``max_reactions`` (as ``raise_max_reactions``, in the same
        write of the user)."""
        ...

    async def set_streak(self, user_id: int, state: StreakState) -> None: ...

    async def raise_max_reactions(self, user_id: int, total: int) -> None:
        """max_reactions = greatest(max_reactions, total)."""
        ...

    async def refresh_max_reactions(self, user_id: int) -> None:
        """max_reactions = the most reactions on one of the user's ready videos now."""
        ...

    async def time_zones(self) -> list[str]:
        """The time zones users have."""
        ...

    async def user_ids_in_zone(self, time_zone: str, after: int, limit: int) -> list[int]:
        """Active (not banned or suspended) users of a time zone, by id after ``after``."""
        ...

    async def posted_for_moment(self, user_ids: list[int], moment_at: datetime) -> set[int]:
        """Those of these users with a video answering the moment at ``moment_at``
        (``Video.moment_at``) that was not rejected or failed: who posted for it."""
        ...

    async def post_days(self, user_id: int, time_zone: str) -> list[date]:
        """Local days (in ``time_zone``) on which the user created a ready video."""
        ...

    async def facts(self, user_ids: list[int]) -> list[RatingFacts]:
        """Lock these users' rows (in id order) until the unit of work ends, then read
        what their ratings are made of. Users that do not exist are left out."""
        ...

    async def store(
        self,
        user_id: int,
        rating: int,
        day_points: dict[date, int],
        streak: StreakState,
        max_reactions: int,
    ) -> None:
        """Replace the user's rating, points by day, streak and max_reactions."""
        ...

    async def user_ids(self, after: int, limit: int) -> list[int]:
        """Every user id greater than ``after``, ascending (for batched recomputes)."""
        ...

    async def count_users(self) -> int: ...

    async def engaged_authors(self, user_id: int) -> list[int]:
        """Authors (other than the user) of videos the user reacted to or commented on."""
        ...

    async def stale_streaks(self, now: datetime, limit: int) -> list[tuple[int, int]]:
        """(user id, stored current streak) of users whose streak broke: a current streak
        above 0 whose last day is before yesterday in their own time zone."""
        ...

    async def board(
        self,
        viewer: int,
        scope: Scope,
        since: datetime | None,
        after: BoardKey | None,
        limit: int,
    ) -> list[tuple[BoardKey, Person]]:
        """Most points first, ties by smaller user id, strictly after ``after``. All time
        (``since`` None) ranks ratings; a period ranks the points of its days, and only
        users with points in it. ``friends`` scope: the viewer and their friends. Banned
        and suspended users, and users blocked either way with the viewer, are left
        out."""
        ...

    async def rank(
        self, viewer: int, scope: Scope, since: datetime | None, key: BoardKey
    ) -> int:
        """1 + how many users (in the scope, not banned) come before ``key``."""
        ...

    async def key_of(self, user_id: int, since: datetime | None) -> BoardKey | None:
        """The user's position key; None when a period holds no points of theirs."""
        ...

    async def above(
        self, viewer: int, scope: Scope, since: datetime | None, key: BoardKey, limit: int
    ) -> list[tuple[BoardKey, Person]]:
        """The ``limit`` entries just before ``key``, nearest last."""
        ...


class StatsRepository(Protocol):
    async def record_activity(self, user_id: int, day: date) -> None:
        """Idempotent: the user was active on that UTC day."""
        ...

    async def series(self, start: date, end: date, interval_days: int) -> list[StatsPoint]:
        """Buckets of ``interval_days`` from ``start`` up to ``end`` (inclusive), UTC."""
        ...

    async def user_totals(
        self, user_id: int, *, public_only: bool
    ) -> tuple[int, dict[str, int], int, int]:
        """(ready videos, reactions received by kind, comments received, on-time posts),
        of the user's public videos only when ``public_only``."""
        ...


class ModerationRepository(Protocol):
    """Reports, cases, appeals and strikes."""

    async def open_case(
        self, target_type: TargetType, target_id: int, owner_id: int, at: datetime
    ) -> Case:
        """The target's open case, opened now when it has none; its row is held until the
        unit of work ends (concurrent reporters of one target queue on it)."""
        ...

    async def get_case(self, case_id: int, *, for_update: bool = False) -> Case:
        """Raises NotFound(code="case_not_found")."""
        ...

    async def update_case(self, case: Case) -> Case: ...

    async def add_report(self, report: Report) -> Case:
        """Store a report on its case; the case's report_count and reasons follow.
        Raises Conflict(code="report_exists") when the reporter has one on that case."""
        ...

    async def contents(self, cases: list[Case]) -> dict[int, TargetContent]:
        """What each case's target holds now (with its owner), by case id, in one round
        trip; a case whose target is gone has no entry."""
        ...

    async def reports(self, case_ids: list[int]) -> dict[int, list[Report]]:
        """Each case's reports, oldest first."""
        ...

    async def list_cases(
        self, where: CaseFilter, after: CaseKey | None, limit: int
    ) -> list[Case]:
        """Most reports first, then the oldest, then by id; strictly after ``after``."""
        ...

    async def reports_today(
        self, reporter_id: int, since: datetime, *, for_update: bool = False
    ) -> int:
        """How many reports the user made since ``since``. ``for_update``: and hold the
        reporter's lock until the unit of work ends, so that the reports one user makes at
        once are counted (and added) one after the other, and a cap on the count holds."""
        ...

    async def reports_by(
        self, reporter_id: int, after_id: int | None, limit: int
    ) -> list[tuple[Report, Case]]:
        """The reporter's reports by id after ``after_id`` (a data export's keyset page),
        each with its case."""
        ...

    async def add_appeal(self, appeal: Appeal) -> Appeal:
        """Raises Conflict(code="appeal_exists"): one appeal per case."""
        ...

    async def get_appeal(self, appeal_id: int, *, for_update: bool = False) -> Appeal:
        """Raises NotFound(code="appeal_not_found")."""
        ...

    async def update_appeal(self, appeal: Appeal) -> Appeal: ...

    async def list_appeals(
        self, status: AppealStatus | None, after_id: int | None, limit: int
    ) -> list[Appeal]:
        """Oldest first, by id after ``after_id``."""
        ...

    async def appeals_by(self, user_id: int, after_id: int | None, limit: int) -> list[Appeal]:
        """The user's own appeals by id after ``after_id`` (a data export's keyset page)."""
        ...

    async def add_strike(self, user_id: int, case_id: int, at: datetime) -> None: ...

    async def remove_strike(self, case_id: int) -> None: ...

    async def strikes(self, user_ids: list[int]) -> dict[int, int]:
        """Strike counts of these users (users without strikes left out)."""
        ...


class AuditRepository(Protocol):
    """The append-only trail of staff actions (the database refuses updates and
    deletes)."""

    async def add(self, entry: AuditEntry) -> AuditEntry: ...

    async def about_user(
        self, user_id: int, after_id: int | None, limit: int
    ) -> list[AuditEntry]:
        """Oldest first (by id), strictly after ``after_id`` (a data export's keyset
        page): the entries whose actor is the user (their own staff actions), or whose
        target is the user, one of their videos or comments, a case about them, or the
        target of such a case (so entries about content deleted since stay theirs)."""
        ...

    async def list(
        self, where: AuditFilter, before_id: int | None, limit: int
    ) -> list[AuditEntry]:
        """Newest first (by id), strictly before ``before_id``."""
        ...


class ConfigRepository(Protocol):
    async def lock(self) -> None:
        """Hold the settings until the unit of work ends: concurrent changes queue, so
        none is lost between a load and a save."""
        ...

    async def load(self) -> RuntimeConfig:
        """What admins set; a fresh store gives ``RuntimeConfig()``."""
        ...

    async def save(self, config: RuntimeConfig) -> None: ...


class Sealer(Protocol):
    """Authenticated symmetric encryption of small secrets kept in the store (TOTP
    secrets): ``open(seal(x)) == x``; a tampered or foreign text raises ValueError."""

    def seal(self, secret: str) -> str: ...

    def open(self, sealed: str) -> str: ...


class TotpRepository(Protocol):
    """Authenticators (``model.mfa.Totp``), one per user at most; deleted with the user."""

    async def get(self, user_id: int) -> Totp | None: ...

    async def put_pending(self, totp: Totp) -> None:
        """Store a pending authenticator, replacing a pending one of the user. The service
        never calls it over a confirmed one."""
        ...

    async def confirm(
        self, user_id: int, at: datetime, step: int, recovery: tuple[str, ...]
    ) -> bool:
        """Mark the pending authenticator confirmed with the step of the code that
        confirmed it and the recovery code hashes; False when there is none pending."""
        ...

    async def use_step(self, user_id: int, step: int) -> bool:
        """Record ``step`` as the last accepted one if it is later than the stored one,
        atomically: of two sign-ins with one code only one gets True."""
        ...

    async def use_recovery_code(self, user_id: int, code_hash: str) -> bool:
        """Spend one recovery code, atomically: True once per code."""
        ...

    async def delete(self, user_id: int) -> bool: ...


class DeviceRepository(Protocol):
    """Push devices. A token is unique: registering it moves it to the new owner."""

    async def register(self, device: Device) -> tuple[Device, int | None]:
        """Store the device (``id`` ignored) or, when its token is stored already, give
        that row this device's user, session and details (``created_at`` kept when the
        owner stays). Returns the stored device and the token's previous owner (None:
        the token was new). Idempotent on the token. Raises NotFound(code=
        "user_not_found") when the user is gone, NotFound(code="session_not_found") when
        the session is gone, is not the user's or is revoked (checked in this statement,
        so a revocation committing meanwhile either precedes it or removes the device)."""
        ...

    async def list_for_user(self, user_id: int) -> list[Device]:
        """Oldest first (by id)."""
        ...

    async def list_for_users(self, user_ids: list[int]) -> list[Device]:
        """The devices of all these users, by user id, then oldest first."""
        ...

    async def count_for_user(self, user_id: int) -> int: ...

    async def delete(self, user_id: int, device_id: int) -> bool:
        """False when the user has no such device. Idempotent."""
        ...

    async def delete_token(self, device_id: int, token: str) -> bool:
        """Forget a device whose token the push service called invalid: only that row
        (id and token both match). Idempotent."""
        ...

    async def deliverable(
        self, device_id: int, token: str, user_id: int, used_since: datetime
    ) -> bool:
        """Whether the device ``device_id`` still has this token and this user, and its
        session is not revoked and was last used at or after ``used_since`` (a session
        idle past its time to live is dead though never revoked)."""
        ...

    async def deliverable_many(
        self, targets: list[tuple[int, str, int]], used_since: datetime
    ) -> set[int]:
        """``deliverable`` of each (device id, token, user id) at once: the device ids
        that are."""
        ...

    async def prune_claims(self, before: datetime) -> int:
        """Delete the fan-out claims made before ``before``; return how many."""
        ...

    async def claimed(self, keys: list[str]) -> set[str]:
        """Those of these keys that are claimed (committed, or by this unit of work)."""
        ...

    async def claim(self, keys: list[str], at: datetime) -> set[str]:
        """Mark each key as done (a fan-out of pushes) and return those this call marked.
        Of concurrent units of work claiming one key, exactly one gets it; the mark goes
        with the unit of work (a rollback leaves the key free)."""
        ...

    # Also gone without a call: a session's devices when the session is revoked
    # (SessionRepository.revoke, revoke_all), all of a user's when the user is deleted.


class NotificationSettingsRepository(Protocol):
    async def get(self, user_id: int) -> NotificationSettings:
        """The defaults (``NotificationSettings()``) until the user saves some."""
        ...

    async def get_many(self, user_ids: list[int]) -> dict[int, NotificationSettings]:
        """``get`` of each of these users at once (every one of them a key)."""
        ...

    async def save(self, user_id: int, settings: NotificationSettings) -> None:
        """Raises NotFound(code="user_not_found") when the user is gone."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block normally commits; an exception rolls back."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def codes(self) -> CodeRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def identities(self) -> IdentityRepository: ...

    @property
    def videos(self) -> VideoRepository: ...

    @property
    def uploads(self) -> UploadRepository: ...

    @property
    def views(self) -> ViewRepository: ...

    @property
    def jobs(self) -> JobQueue: ...

    @property
    def social(self) -> SocialRepository: ...

    @property
    def feeds(self) -> FeedRepository: ...

    @property
    def candidates(self) -> ForYouCandidateRepository: ...

    @property
    def reactions(self) -> ReactionRepository: ...

    @property
    def comments(self) -> CommentRepository: ...

    @property
    def notifications(self) -> NotificationRepository: ...

    @property
    def events(self) -> EventOutbox: ...

    @property
    def ranking(self) -> RankingRepository: ...

    @property
    def stats(self) -> StatsRepository: ...

    @property
    def moderation(self) -> ModerationRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def config(self) -> ConfigRepository: ...

    @property
    def devices(self) -> DeviceRepository: ...

    @property
    def notification_settings(self) -> NotificationSettingsRepository: ...

    @property
    def totp(self) -> TotpRepository: ...

    @property
    def search(self) -> SearchRepository: ...

    @property
    def rate_limits(self) -> RateLimiter:
        """The shared rate-limit counters of the store, counted in this unit of work's
        transaction where the store has them (PostgreSQL: a count commits, or rolls back,
        with the block; memory: it stays). For a limit on the block's own write, when the
        limiter keeps its shared counters in this store (``Throttle(in_transaction=)``)."""
        ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False, may_lag: bool = False) -> UnitOfWork:
        """A new unit of work. ``read_only``: the block only reads, statement by statement
        (each sees what is committed when it runs), so a store may skip the transaction;
        a write in it is a bug. ``may_lag`` (read-only too): what the block reads may be
        a moment behind the latest commits (a store may serve it from a replica), except
        the acting user's own writes, which it sees. For what users browse (feeds,
        videos, profiles, search), never for a read that a write or a check depends on."""
        ...


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        """Count one event under ``key`` in a fixed window and say whether it is allowed.

        Shared by every app instance that uses the same backing store."""
        ...

    async def hit_many(
        self, hits: Sequence[tuple[str, int, timedelta]]
    ) -> list[RateDecision]:
        """``hit`` for each (key, limit, window), in one round trip where the store can;
        the decisions in the same order. Keys are distinct."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str:
        """Runs off the event loop."""
        ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """False on mismatch or a malformed hash; never raises for those."""
        ...

    async def dummy_verify(self) -> None:
        """Spend the time of one verification, so unknown accounts cost as much as known."""
        ...


class TokenSigner(Protocol):
    access_ttl: timedelta

    def issue_access(self, user: User, session_id: int, now: datetime) -> str: ...

    def verify_access(self, token: str, now: datetime) -> AccessClaims:
        """Raises Unauthenticated(code="invalid_token" | "token_expired")."""
        ...


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Raises Unavailable when the mail cannot be handed over."""
        ...


class IdTokenVerifier(Protocol):
    async def verify(self, provider: str, id_token: str, nonce: str | None) -> VerifiedIdToken:
        """Check the provider's signature (JWKS), iss, aud, exp and nonce.

        Raises Invalid(code="unknown_provider") or Unauthenticated(code="invalid_id_token")."""
        ...


class BlobStore(Protocol):
    """Object storage under server-made keys. Every method raises Unavailable when the
    store cannot be reached; reads of a missing key raise NotFound(code="blob_not_found")."""

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str
    ) -> int:
        """Store the chunks, holding at most one part in memory; return the size. If the
        iteration raises, nothing is kept under ``key`` and the error propagates."""
        ...

    async def put_file(self, key: str, path: Path, content_type: str) -> int: ...

    async def download(self, key: str, path: Path) -> None: ...

    def read(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Bytes ``start`` to ``end`` (exclusive; None: to the end), in chunks."""
        ...

    async def stat(self, key: str) -> BlobInfo | None: ...

    async def delete(self, key: str) -> None:
        """Idempotent."""
        ...

    def list_blobs(self, prefix: str) -> AsyncIterator[BlobInfo]:
        """Every blob whose key starts with ``prefix``."""
        ...

    def signed_url(self, key: str, expires_in: timedelta) -> str:
        """A URL that serves the blob until it expires; computed without a network call."""
        ...

    async def start_multipart(self, key: str, content_type: str) -> str:
        """Begin a multipart upload; return its id."""
        ...

    def part_url(self, key: str, upload_id: str, number: int, expires_in: timedelta) -> str | None:
        """A URL the client PUTs part ``number`` to directly, or None when the app takes
        parts itself (``put_part``)."""
        ...

    async def put_part(
        self, key: str, upload_id: str, number: int, chunks: AsyncIterable[bytes]
    ) -> PartInfo: ...

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        """Parts received so far, by number. Raises NotFound(code="upload_not_found")."""
        ...

    async def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        """Join the parts into the blob ``key``."""
        ...

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the parts. Idempotent."""
        ...

    def list_multipart(self, prefix: str) -> AsyncIterator[MultipartInfo]:
        """Every open multipart upload (begun, neither completed nor aborted) of a key
        starting with ``prefix``: also those no row knows of (the process died between
        beginning one and writing its row, or in the middle of ``put_stream``)."""
        ...


class MediaProcessor(Protocol):
    """Video probing and conversion on local files; heavy work runs off the event loop."""

    async def probe(self, path: Path) -> MediaInfo:
        """Raises Invalid(code="undecodable") for a file that cannot be decoded."""
        ...

    async def thumbnail(self, source: Path, target: Path) -> None:
        """Write a JPEG of an early frame."""
        ...

    async def transcode(self, source: Path, target: Path) -> None:
        """Write H.264/AAC MP4 with the index at the front (faststart)."""
        ...

    async def hls(self, playback: Path, target: Path) -> list[str]:
        """Package a playable MP4 as HLS in the directory ``target``: a master playlist
        ``policies.media.HLS_MASTER`` naming two renditions (the MP4's own, and a low one
        of about 480p at about 1 Mbps), each with its media playlist, an fMP4
        initialization segment and segments of a few seconds; URIs relative. Returns
        the files written, relative to ``target``. Raises Invalid(code="undecodable")."""
        ...


class ImageProcessor(Protocol):
    async def avatar(self, data: bytes, size: int, max_pixels: int) -> bytes:
        """Decode JPEG/PNG/WebP and re-encode a ``size``x``size`` JPEG without metadata.
        ``max_pixels``: the most pixels it may decode to, checked before decoding. Decodes
        run off the event loop, a bounded number at a time.

        Raises UnsupportedMedia(code="unsupported_image"), Invalid(code="image_too_large")."""
        ...


class LiveEventSource(Protocol):
    """The listening side of ``EventOutbox``: hands every committed event, from this
    instance or any other sharing the store, to ``deliver``."""

    async def start(self, deliver: Callable[[Event], None]) -> None:
        """Begin delivering; ``deliver`` must not block (it is called on the loop)."""
        ...

    async def stop(self) -> None: ...

    def listening(self) -> int | None:
        """While every committed event reaches ``deliver``: a number that changes each
        time listening (re)starts. None before ``start``, after ``stop`` and while the
        connection is lost (events committed then are never delivered)."""
        ...


class PushGateway(Protocol):
    """The push services themselves (APNs, FCM; the log in development)."""

    async def deliver(self, message: PushMessage) -> PushResult:
        """Send one push. Never raises for what the service answers or for a network
        failure: those are outcomes (RETRY for 5xx, 429, timeouts and lost connections,
        with the service's Retry-After if it sent one and ``service_wide`` when the whole
        service throttles or is down; INVALID_TOKEN for a dead token; REFUSED for other
        permanent refusals)."""
        ...


class PushSender(Protocol):
    """Phone push (APNs, FCM). Best effort: never raises."""

    async def send(self, notification: NotificationView) -> None: ...

    async def send_moment(self, user_ids: list[int], moment: Moment) -> None:
        """Announce the daily moment to these users."""
        ...

    async def reminder_on(self) -> bool:
        """Whether the second reminder is on (the runtime setting ``moment_reminder``)."""
        ...

    async def send_reminder(self, user_ids: list[int], moment: Moment) -> None:
        """Remind those of these users who have not posted for the moment once its window
        closed."""
        ...
