"""Request and response views of the iOS app in the field (routes_legacy.py,
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
    MediaUrl,
    NewPassword,
    ReactionName,
)
from momentic_core.model.accounts import Person, User
from momentic_core.model.engagement import Comment, ReactionKind
from momentic_core.policies import rules
from momentic_core.services.profiles import UNSET

Time = Annotated[str, Schema(format="date-time")]  # as isoformat() writes it
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
class LegacyChatMessage:
    """A new comment as the app's chat shows it: the answer to posting one, and each frame
    of the chat socket (where ``liked_by_me`` is false: nobody has liked it yet)."""

    id: str
    author: Annotated[str, Schema(description="The author's nickname.")]
    text: str
    avatar_url: str | None
    created_at: Time
    like_count: int
    liked_by_me: bool

    @classmethod
    def of(
        cls, comment: Comment, author: User | Person, liked_by_me: bool, media_url: MediaUrl
    ) -> LegacyChatMessage:
        avatar = media_url(author.avatar_key) if author.avatar_key else None
        return cls(str(comment.id), author.nickname, comment.body, avatar,
                   comment.created_at.isoformat(), comment.like_count, liked_by_me)


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
