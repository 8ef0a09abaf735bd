"""Request and response views of the iOS app in the field (legacy/routes.py,
../shared/mobile-client-contract.md). Their shapes are the app's: mixed naming
(``avatarURL``) and times as the old server wrote them."""

from __future__ import annotations

from typing import Annotated

import attrs

from adapters.http.schema import Named, Schema, counts_of, text
from adapters.http.views import (
    CommentText,
    Description,
    Email,
    EmailCode,
    NewPassword,
    ReactionName,
    Time,
)
from momentic_core.model.engagement import ReactionKind
from momentic_core.policies import rules
from momentic_core.services.profiles import UNSET

# ---------------------------------------------------------------- the iOS app in the field

Ignored = Annotated[str | None, Schema(description="Ignored.")]


# ---------------------------------------------------------------- requests


@attrs.frozen
class LegacyCredentials:
    email: Email
    password: NewPassword


@attrs.frozen
class LegacyVerify:
    email: Email
    password: str
    code: EmailCode


@attrs.frozen
class LegacyEmail:
    email: Email


@attrs.frozen
class LegacyRefresh:
    refresh: str


@attrs.frozen
class LegacyProfile:
    name: Annotated[str | None, text(rules.NAME_MAX)] = attrs.field(default=UNSET)
    surname: Annotated[str | None, text(rules.NAME_MAX)] = attrs.field(default=UNSET)
    bio: Annotated[str | None, text(rules.BIO_MAX)] = attrs.field(default=UNSET)
    # sent by the app, ignored: identity comes from the bearer token
    token: Annotated[str | None, Schema(
        description="Ignored: identity comes from the bearer token.")] = None


@attrs.frozen
class LegacyDescription:
    description: Description


@attrs.frozen
class LegacyComment:
    """What the app posts; only ``text`` is used (the author comes from the token)."""

    text: CommentText
    author: Ignored = None
    avatarURL: Ignored = None  # the app's names
    createdAt: Ignored = None


@attrs.frozen
class LegacyReaction:
    reaction_kind: ReactionName


# ---------------------------------------------------------------- responses


@attrs.frozen
class LegacyStatus:
    success: bool
    message: str


@attrs.frozen
class LegacyTokens:
    access: str
    refresh: str


@attrs.frozen
class LegacyVerified:
    success: bool
    message: str
    token: LegacyTokens | None


@attrs.frozen
class LegacyUpload:
    video_id: int
    filepath: str
    message: str


@attrs.frozen
class LegacyFriendVideo:
    video_id: int
    user_id: int
    nickname: str
    description: str
    filepath: str | None
    thumbnail_url: str | None
    locked: bool
    created_at: Time


@attrs.frozen
class LegacyCommentRow:
    comment_id: int
    video_id: int
    user_id: int
    nickname: str
    avatarURL: str | None  # the app's name
    content: str
    created_at: Time


@attrs.frozen
class LegacyReactionSet:
    video_id: int
    reaction_kind: ReactionName
    reactions: Annotated[dict[str, int], counts_of(ReactionKind)]


@attrs.frozen
class LegacyReactor:
    user_id: int
    nickname: str
    reaction_kind: ReactionName


# Answers that are arrays (the legacy app reads bare lists), each a named component.
LegacyFriendVideos = Annotated[list[LegacyFriendVideo], Named("LegacyFriendVideos")]
LegacyComments = Annotated[list[LegacyCommentRow], Named("LegacyComments")]
LegacyReactors = Annotated[list[LegacyReactor], Named("LegacyReactors")]
