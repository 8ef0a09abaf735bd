"""Videos: streaming and resumable upload, reading, editing, deleting; avatars.

A file is stored under a server-made key before its row exists; if the row cannot be
written the blob is deleted at once, and the janitor removes whatever that misses.

Duplicates by content: the SHA-256 of every upload is taken as its bytes stream to
storage (a resumable upload's, by reading the joined object once at completion: its
parts may go straight to the store, in any order). The same bytes from the same author
are answered with the video that holds them (``model.videos.CONTENT_STATUSES``) and the new copy is
deleted, so an author's file is stored once; bytes of a video a moderator removed are
refused to its author (Conflict "content_removed"), also after they deleted it. Two
concurrent uploads of the same bytes: the unique index lets one row in, the other
answers with it. Nothing is shared between authors: a blob belongs to one video, which
its author may delete and moderators may remove, and is served under that video's
visibility; a shared object would tie those together, and how fast an upload is answered
would tell whether anyone else has the same file.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import attrs

from momentic_core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    MomenticError,
    NotFound,
    TooLarge,
    UnsupportedMedia,
)
from momentic_core.model.accounts import Principal, User
from momentic_core.model.engagement import ReactionKind
from momentic_core.model.events import AccessChanged, VideoStatusChanged, VisibilityChanged
from momentic_core.model.jobs import ProcessVideo
from momentic_core.model.social import Relation
from momentic_core.model.videos import (
    MediaLimits,
    PartInfo,
    StagedBlob,
    Upload,
    Video,
    VideoStatus,
    Visibility,
)
from momentic_core.policies import permissions, rules
from momentic_core.policies.media import AVATARS, SNIFF_BYTES, sniff_video
from momentic_core.ports import (
    BlobStore,
    Clock,
    ImageProcessor,
    UnitOfWork,
    UnitOfWorkFactory,
)
from momentic_core.services import visibility
from momentic_core.services import visibility as visibility_rules
from momentic_core.services.config import Config
from momentic_core.services.ranking import Moments, Scorer
from momentic_core.services.throttle import Throttle

log = logging.getLogger(__name__)

PART_URL_TTL = timedelta(hours=24)


def status_event(video: Video) -> VideoStatusChanged:
    """Tells the author's sockets that their video moved to another state."""
    return VideoStatusChanged(video.author_id, video.id, video.status, video.status_reason)


ACCOUNT_PRIVATE = "account_private"


def new_key(prefix: str, name: str) -> str:
    """A fresh server-made key: ``prefix/<random>/name``."""
    return f"{prefix}/{uuid.uuid4().hex}/{name}"


@attrs.frozen
class VideoView:
    video: Video
    author: User
    locked: bool = False  # BeReal: a friend's moment of today, before I posted mine
    my_reaction: ReactionKind | None = None


@attrs.frozen
class UserVideos:
    """A page of a user's videos as the caller sees them."""

    author: User
    videos: list[Video]
    locked: set[int]  # ids behind the BeReal lock
    my_reactions: dict[int, ReactionKind]  # the caller's, by video id


@attrs.frozen
class Published:
    """What an upload made: a new video, or (``duplicate``) the author's video of the
    same bytes, unchanged (the description and visibility sent are not applied)."""

    video: Video
    duplicate: bool = False


DUPLICATE_CONTENT = "duplicate_content"
CONTENT_REMOVED = "content_removed"


def _content_removed() -> Conflict:
    return Conflict(
        "A moderator removed your video of this very file; it cannot be uploaded again.",
        code=CONTENT_REMOVED,
    )


@attrs.frozen
class PartTicket:
    number: int
    size: int
    url: str | None  # None: PUT it to the app's own part route


@attrs.frozen
class UploadState:
    upload: Upload
    parts: list[PartTicket]
    received: list[PartInfo]  # the parts complete would take: each of its exact size


def parse_visibility(value: str) -> Visibility:
    try:
        return Visibility(value)
    except ValueError:
        raise Invalid(
            "visibility is friends or public.", code="invalid_visibility", field="visibility"
        ) from None


class Videos:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        blobs: BlobStore,
        images: ImageProcessor,
        clock: Clock,
        throttle: Throttle,
        config: Config,
        limits: MediaLimits | None = None,
        moments: Moments | None = None,
        scorer: Scorer | None = None,
    ) -> None:
        """``config``: the runtime settings (largest video, BeReal lock); ``limits``: the
        fixed ones."""
        self._config = config
        self._moments = moments
        self._scorer = scorer or Scorer(clock=clock)
        self._uow = uow
        self._blobs = blobs
        self._images = images
        self._clock = clock
        self._throttle = throttle
        self.limits = limits or MediaLimits()

    # ------------------------------------------------------------------ rules

    def check_description(self, description: str | None) -> str:
        text = rules.check_text(description, "description", self.limits.description_max)
        return text or ""

    # ------------------------------------------------------------------ simple upload

    async def stage(self, who: Principal, chunks: AsyncIterable[bytes]) -> StagedBlob:
        """Stream a video file to storage, sniffing its first bytes and capping its size.

        Raises UnsupportedMedia(code="unsupported_media_type") before anything is stored,
        TooLarge(code="video_too_large") as soon as the limit is crossed, RateLimited.
        Nothing is kept on failure."""
        await self._throttle.check("upload:user", str(who.user_id))
        stream = aiter(chunks)
        head = b""
        while len(head) < SNIFF_BYTES:
            chunk = await anext(stream, None)
            if chunk is None:
                break
            head += chunk
        kind = sniff_video(head[:SNIFF_BYTES])
        if kind is None:
            raise UnsupportedMedia(
                "Upload an MP4, MOV or WebM video.", accepted=list(self.limits.accepted_types)
            )
        key = new_key("videos", "source")
        cap = (await self._config.current()).max_video_bytes
        digest = hashlib.sha256()
        size = await self._blobs.put_stream(
            key, self._capped(head, stream, cap, digest), _TYPES[kind]
        )
        return StagedBlob(key=key, size=size, container=kind, content_hash=digest.hexdigest())

    async def _capped(
        self, head: bytes, rest: AsyncIterator[bytes], cap: int, digest: Any
    ) -> AsyncIterator[bytes]:
        """The bytes, hashed into ``digest`` as they pass."""
        total = 0
        async for chunk in _prepend(head, rest):
            total += len(chunk)
            if total > cap:
                raise TooLarge(
                    f"A video may have at most {cap} bytes.", code="video_too_large", limit=cap
                )
            digest.update(chunk)
            yield chunk

    async def _bereal_lock_on(self) -> bool:
        return (await self._config.current()).bereal_lock

    async def publish(
        self, who: Principal, staged: StagedBlob, description: str | None, visibility: str
    ) -> Published:
        """Create the video row for a staged file and queue its processing, or answer with
        the author's video of the same bytes (``Published.duplicate``; the staged copy is
        deleted). On any error the staged blob is deleted. Raises Invalid, Conflict(code=
        "content_removed")."""
        try:
            text = self.check_description(description)
            vis = parse_visibility(visibility)
            try:
                async with self._uow() as tx:
                    found = await self._same_content(tx, who.user_id, staged.content_hash)
                    if found is None:
                        video = await self._create(
                            tx, who.user_id, staged.key, staged.size, text, vis,
                            staged.content_hash,
                        )
            except Conflict as exc:
                found = await self._winner(exc, who.user_id, staged.content_hash)
        except BaseException:
            await self._delete_blobs([staged.key])
            raise
        if found is not None:
            await self._delete_blobs([staged.key])
            return Published(found, duplicate=True)
        return Published(video)

    async def _same_content(
        self, tx: UnitOfWork, author_id: int, content_hash: str | None
    ) -> Video | None:
        """The author's video of these bytes; Conflict "content_removed" when a moderator
        removed it (or removed one the author deleted since)."""
        if content_hash is None:
            return None
        found = await tx.videos.by_content(author_id, content_hash)
        if found is not None and found.status is VideoStatus.REMOVED:
            raise _content_removed()
        if found is None and await tx.videos.removed_content(author_id, content_hash):
            raise _content_removed()
        return found

    async def _winner(
        self, exc: Conflict, author_id: int, content_hash: str | None
    ) -> Video:
        """A concurrent upload of the same bytes got its row in first (``exc`` is the
        unique index's Conflict): that upload's video. Any other Conflict is raised."""
        if exc.code != DUPLICATE_CONTENT or content_hash is None:
            raise exc
        async with self._uow() as tx:
            found = await self._same_content(tx, author_id, content_hash)
        if found is None:  # the winner was deleted (or rejected) in between
            raise Conflict(
                "Another change got in the way; try again.", code="concurrent_update"
            ) from exc
        return found

    async def discard(self, staged: StagedBlob) -> None:
        """Drop a staged file whose request failed after it was stored."""
        await self._delete_blobs([staged.key])

    async def _create(
        self,
        tx: UnitOfWork,
        author_id: int,
        key: str,
        size: int,
        description: str,
        visibility: Visibility,
        content_hash: str | None = None,
    ) -> Video:
        now = self._clock.now()
        video = Video(
            id=0,
            author_id=author_id,
            description=description,
            visibility=visibility,
            status=VideoStatus.PROCESSING,
            created_at=now,
            updated_at=now,
            source_key=key,
            size_bytes=size,
            content_hash=content_hash,
        )
        if self._moments is not None:
            video = self._moments.stamp(video, await tx.users.get(author_id))
        video = await tx.videos.add(video)
        await tx.jobs.enqueue(ProcessVideo(video_id=video.id))
        await tx.events.emit(status_event(video))
        return video

    # ------------------------------------------------------------------ resumable upload

    async def create_upload(
        self,
        who: Principal,
        size: int,
        content_type: str,
        description: str | None,
        visibility: str,
    ) -> UploadState:
        await self._throttle.check("upload:user", str(who.user_id))
        limits = self.limits
        largest = (await self._config.current()).max_video_bytes
        if size <= 0:
            raise Invalid("size must be positive.", code="invalid_size", field="size")
        if size > largest:
            raise TooLarge(
                f"A video may have at most {largest} bytes.",
                code="video_too_large",
                limit=largest,
            )
        if content_type not in limits.accepted_types:
            raise UnsupportedMedia(
                "Upload an MP4, MOV or WebM video.", accepted=list(limits.accepted_types)
            )
        text = self.check_description(description)
        vis = parse_visibility(visibility)
        key = new_key("videos", "source")
        part_size = max(limits.part_size, math.ceil(size / limits.max_parts))
        backend_id = await self._blobs.start_multipart(key, content_type)
        try:
            async with self._uow() as tx:
                upload = await tx.uploads.add(
                    Upload(
                        id=0,
                        user_id=who.user_id,
                        key=key,
                        backend_id=backend_id,
                        size_bytes=size,
                        content_type=content_type,
                        part_size=part_size,
                        description=text,
                        visibility=vis,
                        created_at=self._clock.now(),
                    )
                )
        except BaseException:
            await self._blobs.abort_multipart(key, backend_id)
            raise
        return UploadState(upload=upload, parts=self._tickets(upload), received=[])

    def _tickets(self, upload: Upload) -> list[PartTicket]:
        return [
            PartTicket(
                number=n,
                size=upload.part_length(n),
                url=self._blobs.part_url(upload.key, upload.backend_id, n, PART_URL_TTL),
            )
            for n in range(1, upload.part_count + 1)
        ]

    async def _own_upload(self, who: Principal, upload_id: int) -> Upload:
        async with self._uow() as tx:
            upload = await tx.uploads.get(upload_id)
        if upload.user_id != who.user_id:
            raise NotFound("No such upload.", code="upload_not_found")
        return upload

    async def upload_state(self, who: Principal, upload_id: int) -> UploadState:
        upload = await self._own_upload(who, upload_id)
        tickets = self._tickets(upload)
        received: list[PartInfo] = []
        if upload.completed_at is None:
            try:
                stored = await self._blobs.list_parts(upload.key, upload.backend_id)
                # What complete would take: a part of another size (sent straight to a
                # presigned URL, which checks no size) is as good as missing.
                received = [
                    p for p in stored
                    if p.number <= upload.part_count and p.size == upload.part_length(p.number)
                ]
            except NotFound:
                if await self._blobs.stat(upload.key) is None:
                    raise
                # Joined by a complete that failed before writing the row: all arrived.
                received = [PartInfo(number=t.number, size=t.size, etag="") for t in tickets]
        return UploadState(upload=upload, parts=tickets, received=received)

    async def put_part(
        self,
        who: Principal,
        upload_id: int,
        number: int,
        chunks: AsyncIterable[bytes],
        declared: int | None = None,
    ) -> PartInfo:
        """Take one part through the app (stores without direct part URLs). ``declared``:
        the length the client announced (Content-Length), refused before anything is read
        when it is over the part's. Raises TooLarge(code="part_too_large")."""
        upload = await self._own_upload(who, upload_id)
        if upload.completed_at is not None:
            raise Invalid("The upload is complete.", code="upload_complete")
        if not 1 <= number <= upload.part_count:
            raise Invalid(
                f"Parts are numbered 1 to {upload.part_count}.", code="invalid_part", field="part"
            )
        expected = upload.part_length(number)
        if declared is not None and declared > expected:
            raise _part_too_large(expected)
        # A part of the wrong size fails the stream itself, so the blob store keeps
        # nothing of it (nor drops a part accepted before under the same number).
        part = await self._blobs.put_part(
            upload.key, upload.backend_id, number, _exactly(chunks, expected, number)
        )
        if part.size != expected:
            raise _wrong_part_size(number, expected, part.size)
        return part

    async def complete_upload(self, who: Principal, upload_id: int) -> Video:
        """Join the parts and create the video, or hand the upload to the author's video
        of the same bytes (its joined copy is deleted). Idempotent: completing again
        returns the same video. Raises Invalid(code="upload_incomplete"),
        UnsupportedMedia (not a video, or not the container type declared when the upload
        began), Conflict(code="content_removed"): then the upload is dropped."""
        upload = await self._own_upload(who, upload_id)
        if upload.video_id is not None:
            async with self._uow() as tx:
                return await tx.videos.get(upload.video_id)
        await self._join(upload)
        head, content_hash = await self._read_joined(upload.key)
        kind = sniff_video(head)
        # The blob keeps the type declared when the upload began: it must be what the
        # bytes are, so media is only ever served as its sniffed type.
        if kind is None or _TYPES[kind] != upload.content_type:
            await self._drop(upload)
            raise UnsupportedMedia(
                "Upload an MP4, MOV or WebM video, declared as what it is.",
                accepted=list(self.limits.accepted_types),
            )
        try:
            found, video = await self._complete(who, upload, content_hash)
        except Conflict as exc:
            if exc.code == CONTENT_REMOVED:
                await self._drop(upload)
                raise
            winner = await self._winner(exc, who.user_id, content_hash)
            found, video = await self._complete(who, upload, content_hash, winner)
        if found:  # the row names the video first: a retry finds it, not a missing blob
            await self._delete_blobs([upload.key])
        return video

    async def _complete(
        self, who: Principal, upload: Upload, content_hash: str, winner: Video | None = None
    ) -> tuple[bool, Video]:
        """(whether the bytes were a duplicate, the video the upload now names)."""
        async with self._uow() as tx:
            current = await tx.uploads.get_for_update(upload.id)
            if current.video_id is not None:  # a concurrent complete won
                return False, await tx.videos.get(current.video_id)
            found = winner or await self._same_content(tx, who.user_id, content_hash)
            video = found or await self._create(
                tx, who.user_id, upload.key, upload.size_bytes, upload.description,
                upload.visibility, content_hash,
            )
            await tx.uploads.update(
                attrs.evolve(current, video_id=video.id, completed_at=self._clock.now())
            )
        return found is not None, video

    async def _read_joined(self, key: str) -> tuple[bytes, str]:
        """The first bytes (to sniff) and the SHA-256 of the joined blob, in one read."""
        digest = hashlib.sha256()
        head = b""
        async with contextlib.aclosing(self._blobs.read(key)) as read:
            async for chunk in read:
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
        return head, digest.hexdigest()

    async def _drop(self, upload: Upload) -> None:
        await self._delete_blobs([upload.key])
        async with self._uow() as tx:
            await tx.uploads.delete(upload.id)

    async def _join(self, upload: Upload) -> None:
        """Join the parts into the blob at the upload's key. A blob already there means an
        earlier complete (or a concurrent one) joined them, then failed before writing the
        row: that is done, not "upload not found"."""
        try:
            parts = await self._blobs.list_parts(upload.key, upload.backend_id)
            numbers = {p.number: p for p in parts}
            missing = [n for n in range(1, upload.part_count + 1) if n not in numbers]
            wrong = [
                p.number for p in parts
                if p.number <= upload.part_count and p.size != upload.part_length(p.number)
            ]
            if missing or wrong:
                raise Invalid(
                    "Some parts are missing or of the wrong size.",
                    code="upload_incomplete",
                    missing_parts=missing,
                    wrong_size_parts=wrong,
                )
            ordered = [numbers[n] for n in range(1, upload.part_count + 1)]
            await self._blobs.complete_multipart(upload.key, upload.backend_id, ordered)
        except NotFound:
            if await self._blobs.stat(upload.key) is None:
                raise

    # ------------------------------------------------------------------ reading

    async def get(self, who: Principal, video_id: int) -> VideoView:
        """Raises NotFound(code="video_not_found") for videos the caller may not see."""
        # (before the unit of work: it may read settings)
        bereal_lock = await self._bereal_lock_on()
        async with self._uow(may_lag=True) as tx:
            video = await tx.videos.get(video_id)
            author = await tx.users.get(video.author_id)
            if not await visibility.may_see(tx, self._clock.now(), who, video, author):
                raise NotFound("No such video.", code="video_not_found")
            locked = await visibility.behind_lock(
                tx, self._clock.now(), who, [video], bereal_lock
            )
            if locked:  # who and when only (visibility.sealed)
                return VideoView(video=visibility.sealed(video), author=author, locked=True)
            my_reaction = await tx.reactions.get(who.user_id, video.id)
        return VideoView(video=video, author=author, locked=False, my_reaction=my_reaction)

    async def list_by_user(
        self,
        who: Principal,
        user_id: int,
        before: tuple[datetime, int] | None,
        limit: int,
    ) -> UserVideos:
        """A user's videos, newest first; others see ready ones, friends-only ones when
        they are friends."""
        own = who.user_id == user_id
        staff = permissions.can_see_hidden_accounts(who.role)
        bereal_lock = await self._bereal_lock_on()
        async with self._uow(may_lag=True) as tx:
            author = await tx.users.get(user_id)
            friend = False
            if not (own or staff):
                if author.hidden_at(self._clock.now()) or await tx.social.blocked_either_way(
                    who.user_id, user_id
                ):
                    raise NotFound("No such user.", code="user_not_found")
                friend = await tx.social.relation(who.user_id, user_id) is Relation.FRIENDS
            videos = await tx.videos.list_by_author(
                user_id,
                ready_only=not (own or staff),
                public_only=not (own or staff or friend),
                before=before,
                limit=limit,
            )
            locked = await visibility.behind_lock(
                tx, self._clock.now(), who, videos, bereal_lock
            )
            mine = await tx.reactions.mine(
                who.user_id, [v.id for v in videos if v.id not in locked]
            )
        videos = [visibility.sealed(v) if v.id in locked else v for v in videos]
        return UserVideos(author, videos, locked, mine)

    # ------------------------------------------------------------------ managing

    async def update_description(self, who: Principal, video_id: int, description: str) -> Video:
        """The author changes the description (``edit`` with a description only)."""
        return await self.edit(who, video_id, description=description)

    async def edit(
        self,
        who: Principal,
        video_id: int,
        *,
        description: str | None = None,
        visibility: str | None = None,
    ) -> Video:
        """The author changes the description and/or the visibility (None: unchanged), in
        one unit of work. A new visibility is the author's choice: every reader follows
        it at once (feeds, For-You, profiles, live subscriptions, which are checked
        again: ``VisibilityChanged``). A private account's videos stay friends-only:
        asking for public there is refused (make the account public first); asking for
        friends is kept, so turning the account public later keeps that video for
        friends. Raises Invalid(code="invalid_visibility"), NotFound(code=
        "video_not_found"), Forbidden(code="not_author"), Conflict(code="video_moderated"
        while the video is held or removed | "account_private")."""
        text = None if description is None else self.check_description(description)
        vis = None if visibility is None else parse_visibility(visibility)
        now = self._clock.now()
        async with self._uow() as tx:
            video = await tx.videos.get_for_update(video_id)
            if video.author_id != who.user_id:
                author = await tx.users.get(video.author_id)
                if not await visibility_rules.may_see(tx, now, who, video, author):
                    raise NotFound("No such video.", code="video_not_found")
                raise Forbidden("Only the author edits a video.", code="not_author")
            if video.status in (VideoStatus.HELD, VideoStatus.REMOVED):
                # What moderators judge (or judged) stays as it was reported.
                raise Conflict(
                    "A held or removed video cannot be edited.", code="video_moderated"
                )
            if vis is Visibility.PUBLIC and (await tx.users.get(who.user_id)).private:
                raise Conflict(
                    "Your account is private: its videos are for friends only. Make the "
                    "account public first.", code=ACCOUNT_PRIVATE,
                )
            if text is not None:
                video = await tx.videos.update(
                    attrs.evolve(video, description=text, updated_at=now)
                )
            if vis is not None:
                before = video.visibility
                video = await tx.videos.set_visibility(video_id, vis, now)
                if video.visibility is not before:
                    await tx.events.emit(VisibilityChanged(video.id, video.visibility))
            return video

    async def delete(self, who: Principal, video_id: int) -> None:
        """The author deletes the video, its rows and its blobs. Staff remove someone
        else's video through moderation (a report, then its case resolved with remove),
        never here. Raises NotFound(code="video_not_found"), Forbidden(code="not_author"
        | "moderation_required")."""
        async with self._uow() as tx:
            video = await tx.videos.get_for_update(video_id)
            if video.author_id != who.user_id:
                author = await tx.users.get(video.author_id)
                if not await visibility.may_see(tx, self._clock.now(), who, video, author):
                    raise NotFound("No such video.", code="video_not_found")
                raise permissions.not_yours_to_delete(who.role, "video", "the author")
            if video.status is VideoStatus.REMOVED and video.content_hash is not None:
                # Deleting it does not make its bytes welcome again.
                await tx.videos.remember_removed(
                    video.author_id, video.content_hash, self._clock.now()
                )
            await tx.videos.delete(video_id)
            await self._scorer.recompute(tx, [video.author_id])
            if video.status is VideoStatus.READY:  # it may have opened friends' moments
                await tx.events.emit(AccessChanged(video.author_id))
        await self._delete_blobs(video.blob_keys())
        for folder in video.blob_folders():  # its HLS presentation
            try:
                keys = [info.key async for info in self._blobs.list_blobs(folder)]
            except MomenticError:
                log.warning("blobs not deleted; the janitor will", extra={"key": folder})
                continue
            await self._delete_blobs(keys)

    async def _delete_blobs(self, keys: list[str]) -> None:
        for key in keys:
            try:
                await self._blobs.delete(key)
            except MomenticError:
                log.warning("blob not deleted; the janitor will", extra={"key": key})

    # ------------------------------------------------------------------ avatars

    async def set_avatar(self, who: Principal, data: bytes) -> User:
        """Re-encode the image as a square JPEG without metadata and make it the avatar."""
        await self._throttle.check("avatar:user", str(who.user_id))
        limits = self.limits
        if len(data) > limits.avatar_max_bytes:
            raise TooLarge(
                f"An avatar may have at most {limits.avatar_max_bytes} bytes.",
                code="avatar_too_large",
                limit=limits.avatar_max_bytes,
            )
        jpeg = await self._images.avatar(data, limits.avatar_size, limits.avatar_max_pixels)
        key = new_key(AVATARS, "avatar.jpg")
        await self._blobs.put_stream(key, _one(jpeg), "image/jpeg")
        try:
            async with self._uow() as tx:
                user = await tx.users.get_for_update(who.user_id)
                old = user.avatar_key
                user = await tx.users.update(attrs.evolve(user, avatar_key=key))
        except BaseException:
            await self._delete_blobs([key])
            raise
        if old:
            await self._delete_blobs([old])
        return user


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _prepend(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in rest:
        yield chunk


_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}


async def _exactly(
    chunks: AsyncIterable[bytes], size: int, number: int
) -> AsyncIterator[bytes]:
    """``chunks``, failing (TooLarge once past ``size``, Invalid at the end when short)
    unless they make exactly ``size`` bytes."""
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > size:
            raise _part_too_large(size)
        yield chunk
    if total != size:
        raise _wrong_part_size(number, size, total)


def _wrong_part_size(number: int, expected: int, got: int) -> Invalid:
    return Invalid(
        f"Part {number} must have {expected} bytes; it had {got}.",
        code="invalid_part_size",
        field="part",
    )


def _part_too_large(limit: int) -> TooLarge:
    return TooLarge(f"This part may have at most {limit} bytes.", code="part_too_large")
