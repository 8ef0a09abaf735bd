"""Wire shapes of the v1 API: request bodies and response views, with domain -> view maps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from momentic_core.model.accounts import ExternalIdentity, Session, TokenPair, User
from momentic_core.services.profiles import UNSET, AccountExport

# ---------------------------------------------------------------- requests


@attrs.frozen
class RegisterBody:
    email: str
    password: str


@attrs.frozen
class VerifyBody:
    email: str
    code: str
    password: str
    device_name: str | None = None


@attrs.frozen
class EmailBody:
    email: str


@attrs.frozen
class TokenBody:
    grant_type: str
    email: str | None = None
    password: str | None = None
    refresh_token: str | None = None
    device_name: str | None = None


@attrs.frozen
class SocialBody:
    id_token: str
    nonce: str | None = None
    device_name: str | None = None


@attrs.frozen
class ResetConfirmBody:
    email: str
    code: str
    new_password: str


@attrs.frozen
class ChangePasswordBody:
    current_password: str
    new_password: str


@attrs.frozen
class DeleteAccountBody:
    password: str | None = None


@attrs.frozen
class ProfilePatchBody:
    """Absent fields stay as they are; ``null`` clears name, surname or bio."""

    nickname: str = attrs.field(default=UNSET)
    name: str | None = attrs.field(default=UNSET)
    surname: str | None = attrs.field(default=UNSET)
    bio: str | None = attrs.field(default=UNSET)
    time_zone: str = attrs.field(default=UNSET)


# ---------------------------------------------------------------- responses


@attrs.frozen
class TokenView:
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    session_id: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokenView:
        return cls(
            access_token=pair.access_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            session_id=pair.session_id,
        )


@attrs.frozen
class PublicUserView:
    id: int
    nickname: str
    name: str | None
    surname: str | None
    bio: str | None
    avatar_url: str | None
    rating: int
    current_streak: int
    max_streak: int
    max_reactions: int
    created_at: datetime

    @classmethod
    def of(cls, u: User) -> PublicUserView:
        return cls(
            id=u.id,
            nickname=u.nickname,
            name=u.name,
            surname=u.surname,
            bio=u.bio,
            avatar_url=None,
            rating=u.rating,
            current_streak=u.current_streak,
            max_streak=u.max_streak,
            max_reactions=u.max_reactions,
            created_at=u.created_at,
        )


@attrs.frozen
class MeView:
    id: int
    email: str
    email_verified: bool
    nickname: str
    name: str | None
    surname: str | None
    bio: str | None
    time_zone: str
    role: str
    status: str
    avatar_url: str | None
    rating: int
    current_streak: int
    max_streak: int
    max_reactions: int
    created_at: datetime

    @classmethod
    def of(cls, u: User) -> MeView:
        return cls(
            id=u.id,
            email=u.email,
            email_verified=u.email_verified,
            nickname=u.nickname,
            name=u.name,
            surname=u.surname,
            bio=u.bio,
            time_zone=u.time_zone,
            role=u.role.value,
            status=u.status.value,
            avatar_url=None,
            rating=u.rating,
            current_streak=u.current_streak,
            max_streak=u.max_streak,
            max_reactions=u.max_reactions,
            created_at=u.created_at,
        )


@attrs.frozen
class SessionView:
    id: int
    device_name: str | None
    ip: str | None
    created_at: datetime
    last_used_at: datetime
    current: bool

    @classmethod
    def of(cls, s: Session, current_id: int) -> SessionView:
        return cls(
            id=s.id,
            device_name=s.device_name,
            ip=s.ip,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            current=s.id == current_id,
        )


@attrs.frozen
class SessionList:
    items: list[SessionView]


@attrs.frozen
class Accepted:
    status: str
    message: str


def export_document(export: AccountExport, current_session: int) -> dict[str, Any]:
    def identity(i: ExternalIdentity) -> dict[str, Any]:
        return {"provider": i.provider, "email": i.email, "linked_at": i.created_at}

    return {
        "account": MeView.of(export.user),
        "sessions": [SessionView.of(s, current_session) for s in export.sessions],
        "linked_identities": [identity(i) for i in export.identities],
    }
