"""Videos, resumable uploads, stored blobs, media facts, background jobs and limits."""

from __future__ import annotations

import enum
import math
from datetime import datetime, timedelta

import attrs

from momentic_core.model.engagement import no_reactions

MiB = 1024 * 1024


class VideoStatus(enum.StrEnum):
    UPLOADING = "uploading"
    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"
    FAILED = "failed"
    HELD = "held"  # reported past the threshold: hidden until a moderator decides
    REMOVED = "removed"  # by a moderator; restored if an appeal is accepted


class Visibility(enum.StrEnum):
    FRIENDS = "friends"
    PUBLIC = "public"


# The statuses in which a video holds its file's content (``Video.content_hash``) for its
# author: the same bytes uploaded again are answered with it (a removed one refuses them),
# and no two of one author's videos in these statuses have the same content (migration
# 20261207_79's unique index lists the same). A rejected or failed video holds nothing:
# its bytes may be tried again.
CONTENT_STATUSES = frozenset(
    {VideoStatus.PROCESSING, VideoStatus.READY, VideoStatus.HELD, VideoStatus.REMOVED}
)


class Backfill(enum.StrEnum):
    """What a video stored before a migration may lack (``services.backfill`` fills it):
    ``VideoRepository.lacking`` names the videos concerned."""

    SEARCH = "search"  # search words and hashtags of the description (migration 73)
    HLS = "hls"  # an HLS presentation of a ready video (migration 75)
    HASHES = "hashes"  # the SHA-256 of the stored original (migration 79)


@attrs.frozen
class Video:
    id: int
    author_id: int
    description: str
    visibility: Visibility
    status: VideoStatus
    created_at: datetime
    updated_at: datetime
    source_key: str | None = None
    playback_key: str | None = None
    thumbnail_key: str | None = None
    # The HLS master playlist; every file of the presentation is in its folder.
    hls_key: str | None = None
    # Why a ready video has no HLS presentation for good: the code packaging its MP4
    # failed with (the file's fault, e.g. undecodable); ``momentic backfill hls`` passes
    # over it (migration 20261207_84).
    hls_error: str | None = None
    status_reason: str | None = None
    size_bytes: int | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    container: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    ready_at: datetime | None = None
    # Counters kept by the reaction and comment repositories in the same transaction as
    # their rows; ``VideoRepository.update`` never writes them.
    reactions: dict[str, int] = attrs.field(factory=no_reactions)
    comment_count: int = 0
    # The daily moment this post answers, and whether it came within its window.
    moment_at: datetime | None = None
    on_time: bool = False
    # Views (one per viewer and UTC day, the author's never), kept by the view repository
    # with its rows like the counters above; ``update`` never writes them either.
    view_count: int = 0
    completed_views: int = 0  # the views that reached the end (policies.views)
    watched_ms: int = 0  # the sum of the views' watched time
    # SHA-256 (hex) of the file as uploaded, when known (services.videos: dedupe).
    content_hash: str | None = None

    def blob_keys(self) -> list[str]:
        """The keys the row names (the HLS presentation by its master playlist)."""
        keys = [self.source_key, self.playback_key, self.thumbnail_key, self.hls_key]
        return list(dict.fromkeys(k for k in keys if k))

    def blob_folders(self) -> list[str]:
        """Folders whose every blob is the video's (``<folder>/``: its HLS files)."""
        return [self.hls_key.rsplit("/", 1)[0] + "/"] if self.hls_key else []


@attrs.frozen
class Upload:
    """A resumable upload: the client sends parts, then completes it into a video."""

    id: int
    user_id: int
    key: str
    backend_id: str  # the blob store's multipart upload id
    size_bytes: int
    content_type: str
    part_size: int
    description: str
    visibility: Visibility
    created_at: datetime
    video_id: int | None = None
    completed_at: datetime | None = None

    @property
    def part_count(self) -> int:
        return max(1, math.ceil(self.size_bytes / self.part_size))

    def part_length(self, number: int) -> int:
        """The exact size part ``number`` (1-based) must have."""
        if number < self.part_count:
            return self.part_size
        return self.size_bytes - self.part_size * (self.part_count - 1)


@attrs.frozen
class PartInfo:
    number: int
    size: int
    etag: str


@attrs.frozen
class MultipartInfo:
    """A multipart upload begun and neither completed nor aborted; ``active``: when it
    was begun or last received a part, whichever is later."""

    key: str
    upload_id: str
    active: datetime


@attrs.frozen
class BlobInfo:
    key: str
    size: int
    etag: str
    content_type: str
    modified: datetime
    cache_control: str | None = None  # as stored (policies.media.cache_control)


@attrs.frozen
class StagedBlob:
    """A video file stored under a server-made key, not yet attached to a row."""

    key: str
    size: int
    container: str
    content_hash: str | None = None  # SHA-256 (hex) of the bytes stored


@attrs.frozen
class MediaInfo:
    container: str
    duration_seconds: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None
    # H.264 (Baseline, Main or High; 8-bit 4:2:0) with AAC-LC or no sound, in MP4, with
    # key frames a few seconds apart: plays on iOS and Android as it is.
    playable: bool


@attrs.frozen
class MediaLimits:
    """Fixed limits of media (the largest and longest video are runtime settings:
    services.config)."""

    description_max: int = 70
    accepted_types: tuple[str, ...] = (
        "video/mp4",
        "video/quicktime",
        "video/webm",
        "video/x-matroska",
    )
    part_size: int = 8 * MiB
    max_parts: int = 10_000
    upload_ttl: timedelta = timedelta(hours=24)
    avatar_max_bytes: int = 5 * 1000 * 1000
    # The most pixels an avatar decodes to (a JPEG at its reduced scale): 8 MP, a 4K
    # screenshot, ~32 MB as RGBA. No pixel floods: a 60 KB PNG of 4000x4000 is refused.
    avatar_max_pixels: int = 4096 * 2048
    avatar_size: int = 512
