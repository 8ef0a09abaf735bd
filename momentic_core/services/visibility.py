"""Who may see a video: one rule for reading it, reacting to it and commenting on it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from momentic_core.errors import Conflict, Forbidden, NotFound
from momentic_core.model.accounts import Principal, User
from momentic_core.model.social import Relation, VideoForViewer
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.policies import permissions
from momentic_core.ports import UnitOfWork
from momentic_core.services.feeds import day_bounds


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
        and video.visibility is not Visibility.PUBLIC
        and await tx.social.relation(who.user_id, video.author_id) is Relation.FRIENDS
    )
    return _sees(now, who, video, author, blocked=blocked, friends=friends)


def _sees(
    now: datetime, who: Principal, video: Video, author: User, *, blocked: bool, friends: bool
) -> bool:
    if who.user_id == video.author_id or permissions.can_see_hidden_accounts(who.role):
        return True
    if video.status is not VideoStatus.READY or author.is_blocked_at(now) or blocked:
        return False
    return video.visibility is Visibility.PUBLIC or friends


async def locked_today(
    tx: UnitOfWork, now: datetime, who: Principal, videos: list[Video], bereal_lock: bool
) -> set[int]:
    """Ids of friends' friends-only videos of my today while I have not posted today:
    the same BeReal lock as the friends feed, so no other route lifts it."""
    if not bereal_lock or permissions.can_see_hidden_accounts(who.role):
        return set()
    candidates = [
        v for v in videos if v.author_id != who.user_id and v.visibility is Visibility.FRIENDS
    ]
    if not candidates:
        return set()
    me = await tx.users.get(who.user_id)
    today = now.astimezone(ZoneInfo(me.time_zone)).date()
    since, until = day_bounds(today, me.time_zone)
    todays = [v for v in candidates if since <= v.created_at < until]
    if not todays or await tx.feeds.has_posted(who.user_id, since, until):
        return set()
    return {v.id for v in todays}


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
    if await locked_today(tx, now, who, [video], bereal_lock):
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
