"""Who may see a video: one rule for reading it, reacting to it and commenting on it."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from momentic_core.errors import Conflict, Forbidden, NotFound
from momentic_core.model.accounts import FeedAuthor, Principal, User
from momentic_core.model.engagement import no_reactions
from momentic_core.model.social import FeedItem, Relation, VideoForViewer
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.policies import permissions
from momentic_core.ports import UnitOfWork


def no_video() -> NotFound:
    return NotFound("No such video.", code="video_not_found")


async def may_see(
    tx: UnitOfWork, now: datetime, who: Principal, video: Video, author: User
) -> bool:
    """Authors and staff see everything; others see ready videos of visible authors:
    public ones, and friends-only ones when they are friends (``_sees``). Reads the
    relation only when the answer depends on it."""
    if who.user_id == video.author_id or permissions.can_see_hidden_accounts(who.role):
        return True
    if not _sees(now, who, video, author, blocked=False, friends=True):
        return False  # whatever the relation
    blocked = await tx.social.blocked_either_way(who.user_id, video.author_id)
    friends = (
        not blocked
        and (video.visibility is not Visibility.PUBLIC or author.private)
        and await tx.social.relation(who.user_id, video.author_id) is Relation.FRIENDS
    )
    return _sees(now, who, video, author, blocked=blocked, friends=friends)


def _sees(
    now: datetime, who: Principal, video: Video, author: User, *, blocked: bool, friends: bool
) -> bool:
    if who.user_id == video.author_id or permissions.can_see_hidden_accounts(who.role):
        return True
    if video.status is not VideoStatus.READY or author.hidden_at(now) or blocked:
        return False
    # A private author's videos are for friends only, whatever the upload said (the
    # stores also keep such a video's visibility at friends, for the readers in SQL).
    return (video.visibility is Visibility.PUBLIC and not author.private) or friends


LOCK_LASTS = timedelta(hours=24)


def lock_anchor(video: Video) -> datetime:
    """The daily moment the video answers (stamped when it was posted, in its author's
    time zone then), or its creation time when it has none: a post of mine since then
    unlocks it."""
    return video.moment_at or video.created_at


def sealed(video: Video) -> Video:
    """A video behind the BeReal lock as every answer gives it: who posted it and when
    (author, times, the moment it answers), nothing of what it is: no description,
    media, size, duration or frame, no counts. The one place that says so: the feeds,
    profiles, the single video and everything built on them (the legacy routes) seal a
    locked video here before any view renders it."""
    return attrs.evolve(
        video,
        description="",
        source_key=None,
        playback_key=None,
        thumbnail_key=None,
        hls_key=None,
        status_reason=None,
        size_bytes=None,
        duration_seconds=None,
        width=None,
        height=None,
        container=None,
        video_codec=None,
        audio_codec=None,
        reactions=no_reactions(),
        comment_count=0,
        view_count=0,
        completed_views=0,
        watched_ms=0,
    )


def sealed_item(item: FeedItem) -> FeedItem:
    """A feed item behind the lock: its video sealed, no counts, no reaction of mine."""
    return attrs.evolve(
        item, video=sealed(item.video), reactions=no_reactions(), my_reaction=None,
        comment_count=0, locked=True,
    )


async def behind_lock(
    tx: UnitOfWork, now: datetime, who: Principal, videos: list[Video], bereal_lock: bool
) -> set[int]:
    """Ids of friends' friends-only videos behind the BeReal lock for me: posted less than
    ``LOCK_LASTS`` ago, answering a moment I have not posted since (no ready video of mine
    created at or after it). Everything is judged on times stamped when the videos were
    posted, never on my current time zone, so changing it unlocks nothing; the friends
    feed, profiles, comments, reactors, reactions and live channels all ask here."""
    if not bereal_lock or permissions.can_see_hidden_accounts(who.role):
        return set()
    fresh = [
        v for v in videos
        if v.author_id != who.user_id and v.visibility is Visibility.FRIENDS
        and now < v.created_at + LOCK_LASTS
    ]
    if not fresh:
        return set()
    # "I posted since A" (a ready video of mine in [A, now + LOCK_LASTS)) holds exactly
    # when my newest such video from the earliest anchor on is at or after A: one query.
    earliest = min(lock_anchor(v) for v in fresh)
    latest = await tx.feeds.latest_post(who.user_id, earliest, now + LOCK_LASTS)
    return {v.id for v in fresh if latest is None or latest < lock_anchor(v)}


async def behind_lock_for(
    tx: UnitOfWork, now: datetime, user: User, videos: list[Video], bereal_lock: bool
) -> set[int]:
    """``behind_lock`` for someone who is not the caller (whom a notification is for)."""
    who = Principal(user_id=user.id, role=user.role, session_id=0)
    return await behind_lock(tx, now, who, videos, bereal_lock)


async def readable_video(
    tx: UnitOfWork, now: datetime, who: Principal, video_id: int, bereal_lock: bool
) -> VideoForViewer:
    """A video whose engagement (comments, reactors, live channel) the caller may read:
    visible, and not behind the BeReal lock. Raises NotFound(code="video_not_found"),
    Forbidden(code="moment_locked")."""
    found = await tx.videos.get_for_viewer(video_id, who.user_id)
    video = found.video
    if not _sees(now, who, video, found.author, blocked=found.blocked, friends=found.friends):
        raise no_video()
    if await behind_lock(tx, now, who, [video], bereal_lock):
        raise Forbidden("Post your moment of today first.", code="moment_locked")
    return found


async def open_video(
    tx: UnitOfWork, now: datetime, who: Principal, video_id: int, bereal_lock: bool
) -> VideoForViewer:
    """A video the caller may react to and comment on: readable, and ready.
    Raises NotFound(code="video_not_found"), Forbidden(code="moment_locked"),
    Conflict(code="video_not_ready")."""
    found = await readable_video(tx, now, who, video_id, bereal_lock)
    if found.video.status is not VideoStatus.READY:
        raise Conflict("The video is not ready yet.", code="video_not_ready")
    return found


def shareable(video: Video, author: User | FeedAuthor) -> bool:
    """Whether the video has a share link (``/v/{slug}``, services.shares): ready and
    public in force (not of a private account)."""
    return (
        video.status is VideoStatus.READY
        and video.visibility is Visibility.PUBLIC
        and not author.private
    )


def guest_may_see(now: datetime, video: Video, author: User) -> bool:
    """What a guest (no account, no token) may see: a shareable video of an author who is
    someone to others (not hidden: verified, neither banned nor suspended). Friends-only
    videos (so every BeReal-locked one), held, removed and unready ones never."""
    return shareable(video, author) and not author.hidden_at(now)
