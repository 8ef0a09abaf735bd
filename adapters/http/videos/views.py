"""Request and response views of the videos area (its routes are in
``routes.py`` beside; views other areas use too are in adapters/http/views.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import attrs

from adapters.http.schema import Schema, one_of, text
from adapters.http.views import _LIMITS, Description, NextCursor, VideoOut
from momentic_core.model.videos import Visibility

# ---------------------------------------------------------------- videos


@attrs.frozen
class VideoPatchBody:
    description: Annotated[str | None, text(
        _LIMITS.description_max, "Trimmed; blank clears it; null: unchanged.")] = None
    visibility: Annotated[str | None, Schema(
        enum=[*(v.value for v in Visibility), None])] = None  # None (or absent): unchanged


@attrs.frozen
class UploadBody:
    size_bytes: Annotated[int, Schema(minimum=1, description=(
        "Larger than max_video_bytes (GET /v1/config) is 413 video_too_large."))]
    content_type: Annotated[str, Schema(
        enum=list(_LIMITS.accepted_types),
        description="Any other type is 415 unsupported_media_type.")]
    description: Annotated[str | None, text(
        _LIMITS.description_max, "Trimmed; null or blank leaves it empty.")] = None
    visibility: Annotated[str, one_of(Visibility)] = "friends"


@attrs.frozen
class VideoForm:
    """A video in one request (multipart/form-data, streamed to storage as it comes)."""

    video_file: Annotated[str, Schema(
        contentMediaType="video/mp4",
        description="MP4, MOV or WebM; sniffed from its first bytes.")]
    description: Description = ""
    visibility: Annotated[str, one_of(Visibility)] = "friends"


@attrs.frozen
class VideoPage:
    items: list[VideoOut]
    next_cursor: NextCursor


@attrs.frozen
class PartOut:
    __schema_name__ = "UploadPart"  # "Part" is the answer of PUT .../parts/{part}

    number: int
    size_bytes: int
    url: str = attrs.field(metadata={"description": (
        "Absolute (direct to storage: send no Authorization) or relative to the API (send "
        "the bearer token).")})
    method: Annotated[str, Schema(enum=["PUT"])]
    received: bool


@attrs.frozen
class StoredPartOut:
    __schema_name__ = "Part"

    number: int
    size_bytes: int
    etag: str


@attrs.frozen
class UploadOut:
    id: int
    status: Annotated[str, Schema(enum=["open", "complete"])]
    size_bytes: int
    content_type: str
    part_size: int
    parts: list[PartOut]
    video_id: int | None
    created_at: datetime
    expires_at: datetime


@attrs.frozen
class ConfigOut:
    max_video_bytes: int
    max_video_seconds: float
    accepted_video_types: list[str]
    description_max_length: int
    visibilities: list[str]
    avatar_max_bytes: int
    avatar_types: list[str]
    upload_part_size: int
    max_devices_per_user: int  # push devices per account (POST /v1/me/devices)
