"""Accounts, sessions, verification codes and external identities."""

from __future__ import annotations

import enum
import math
from datetime import date, datetime, timedelta

import attrs


class Role(enum.StrEnum):
    USER = "user"
    MODERATOR = "moderator"
    ADMIN = "admin"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    BANNED = "banned"


class CodePurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"
    CHANGE_EMAIL = "change_email"  # bound to the new address (services.email_change)


@attrs.frozen
class User:
    id: int
    email: str
    nickname: str
    created_at: datetime
    password_hash: str | None = None
    email_verified: bool = False
    role: Role = Role.USER
    status: AccountStatus = AccountStatus.ACTIVE
    suspended_until: datetime | None = None
    token_version: int = 1
    name: str | None = None
    surname: str | None = None
    bio: str | None = None
    time_zone: str = "UTC"
    avatar_key: str | None = None
    rating: int = 0
    current_streak: int = 0
    max_streak: int = 0
    max_reactions: int = 0
    last_post_day: date | None = None  # the last local day counted in the streak
    # Private: my videos are visible to my friends only, whatever each upload said
    # (services.visibility; the stores keep each video's visibility in force).
    private: bool = False

    def is_blocked_at(self, now: datetime) -> bool:
        """True while a ban, or a suspension that has not run out, is in force."""
        if self.status is AccountStatus.BANNED:
            return True
        if self.status is AccountStatus.SUSPENDED:
            return self.suspended_until is None or self.suspended_until > now
        return False

    def hidden_at(self, now: datetime) -> bool:
        """True when the account is no one to other users (all but itself and staff,
        ``permissions.can_see_hidden_accounts``): a sign-up whose email is not verified
        yet, or a ban or suspension in force (``is_blocked_at``). Profiles, stats, videos,
        search, boards, friend lists and requests, comments, reactors and notifications
        all leave it out or answer as for an unknown user. PostgreSQL's SQL says the same
        in ``adapters/postgres/repositories.SHOWN_USER``."""
        return not self.email_verified or self.is_blocked_at(now)


@attrs.frozen
class Person:
    """Who a user is to others: the public fields shown beside their comments and
    notifications, and all of them that live events carry between instances (never an
    email or a password hash)."""

    id: int
    nickname: str
    name: str | None = None
    surname: str | None = None
    avatar_key: str | None = None

    @classmethod
    def of(cls, user: User) -> Person:
        return cls(user.id, user.nickname, user.name, user.surname, user.avatar_key)


@attrs.frozen
class FeedAuthor(Person):
    """The author of a feed item as the item shows them: who they are to others, and
    whether the account is private (a private account's videos have no share link,
    ``services.visibility.shareable``). Never an email, a password hash or the account's
    state: a feed leaves out authors who are no one to others before it builds items."""

    private: bool = False

    @classmethod
    def of(cls, user: User) -> FeedAuthor:
        return cls(user.id, user.nickname, user.name, user.surname, user.avatar_key,
                   user.private)


@attrs.frozen
class VerificationCode:
    """A one-time code sent by email; only its hash is kept."""

    user_id: int
    purpose: CodePurpose
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0


@attrs.frozen
class Session:
    """One signed-in device. Its refresh tokens form one rotation family."""

    id: int
    user_id: int
    created_at: datetime
    last_used_at: datetime
    device_name: str | None = None
    ip: str | None = None
    revoked_at: datetime | None = None


@attrs.frozen
class RefreshUse:
    """A refresh token's state: its session, whether it was spent (before this call, when
    presenting it), and when and with which nonce it was first spent (None: not spent, or
    spent before rotations kept a nonce). Its successor derives from that nonce."""

    session_id: int
    already_used: bool
    used_at: datetime | None = None
    nonce: str | None = None


@attrs.frozen
class ExternalIdentity:
    """An account at Apple or Google linked to one of ours."""

    provider: str
    subject: str
    user_id: int
    email: str | None
    created_at: datetime


@attrs.frozen
class VerifiedIdToken:
    """What a provider's ID token proves once its signature and claims are checked."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool


@attrs.frozen
class AccessClaims:
    """The claims of a verified access token."""

    user_id: int
    session_id: int
    token_version: int
    role: Role
    expires_at: datetime


@attrs.frozen
class Principal:
    """Who is calling, established from a verified access token and the current user row."""

    user_id: int
    role: Role
    session_id: int
    # When the access token runs out (the same caller whichever token they hold).
    expires_at: datetime | None = attrs.field(default=None, eq=False)


@attrs.frozen
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: int
    token_type: str = "Bearer"


@attrs.frozen
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window resets

    @classmethod
    def of_window(cls, count: int, limit: int, left: timedelta, window: timedelta) -> RateDecision:
        """The ``count``-th event of a fixed window with ``left`` to run: whole seconds
        until it ends, rounded up, never below 0 nor above the window (app clocks that
        disagree: another instance started it)."""
        seconds = left.total_seconds()
        reset = min(max(0, int(seconds + 0.999)), math.ceil(window.total_seconds()))
        return cls(allowed=count <= limit, limit=limit, remaining=max(0, limit - count),
                   reset_after=reset)


@attrs.frozen
class Mail:
    to: str
    subject: str
    text: str
