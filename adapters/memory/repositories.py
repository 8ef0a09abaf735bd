"""In-memory users, verification codes, sessions and external identities.

The other repositories live by area (``adapters.memory.videos``, ``.social``, ...), as
in ``adapters.postgres``.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from momentic_core.errors import Conflict, NotFound
from momentic_core.model.accounts import (
    CodePurpose,
    ExternalIdentity,
    RefreshUse,
    Role,
    Session,
    User,
    VerificationCode,
)
from momentic_core.model.moderation import UserFilter
from momentic_core.ports import RANKING_FIELDS

from .devices import forget_devices_of, forget_session
from .engagement import forget_engagement_of, forget_video
from .moderation import forget_moderation_of, search_users
from .social import forget_user
from .store import MemoryStore, RefreshRow
from .videos import in_force
from .views import forget_video_views, forget_views_of


class InMemoryUserRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    def _check_unique(self, user: User) -> None:
        for other in self._s.users.values():
            if other.id == user.id:
                continue
            if other.email.lower() == user.email.lower():
                raise Conflict("That email has an account.", code="email_taken")
            if other.nickname.lower() == user.nickname.lower():
                raise Conflict("That nickname is taken.", code="nickname_taken", field="nickname")

    async def add(self, user: User) -> User:
        user = attrs.evolve(user, id=next(self._s.ids))
        self._check_unique(user)
        self._s.users[user.id] = user
        return user

    async def get(self, user_id: int) -> User:
        try:
            return self._s.users[user_id]
        except KeyError:
            raise NotFound("No such user.", code="user_not_found") from None

    async def get_with_session(self, user_id: int, session_id: int) -> tuple[User, Session | None]:
        return await self.get(user_id), self._s.sessions.get(session_id)

    async def get_for_update(self, user_id: int) -> User:
        return await self.get(user_id)

    async def find_by_email(self, email: str) -> User | None:
        return next((u for u in self._s.users.values() if u.email.lower() == email.lower()), None)

    async def find_by_nickname(self, nickname: str) -> User | None:
        wanted = nickname.lower()
        return next((u for u in self._s.users.values() if u.nickname.lower() == wanted), None)

    async def update(self, user: User) -> User:
        stored = await self.get(user.id)
        self._check_unique(user)
        # Ratings and streaks belong to the ranking repository.
        user = attrs.evolve(user, **{f: getattr(stored, f) for f in RANKING_FIELDS})
        self._s.users[user.id] = user
        if user.private != stored.private:  # what the trigger on users.private does
            for video in [v for v in self._s.videos.values() if v.author_id == user.id]:
                self._s.videos[video.id] = in_force(self._s, video, choose=False)
        return user

    async def delete(self, user_id: int) -> None:
        s = self._s
        s.users.pop(user_id, None)
        s.codes = {k: v for k, v in s.codes.items() if k[0] != user_id}
        gone = {sid for sid, x in s.sessions.items() if x.user_id == user_id}
        s.sessions = {k: v for k, v in s.sessions.items() if k not in gone}
        s.refresh_tokens = {k: v for k, v in s.refresh_tokens.items() if v.session_id not in gone}
        s.identities = {k: v for k, v in s.identities.items() if v.user_id != user_id}
        forget_engagement_of(s, user_id)
        forget_views_of(s, user_id)
        videos = {vid for vid, v in s.videos.items() if v.author_id == user_id}
        s.videos = {k: v for k, v in s.videos.items() if k not in videos}
        for vid in videos:
            forget_video(s, vid)
            forget_video_views(s, vid)
        s.uploads = {
            k: attrs.evolve(u, video_id=None) if u.video_id in videos else u
            for k, u in s.uploads.items()
            if u.user_id != user_id
        }
        forget_user(s, user_id)
        s.rating_points = {k: v for k, v in s.rating_points.items() if k[0] != user_id}
        s.activity = {k: v for k, v in s.activity.items() if k[0] != user_id}
        forget_moderation_of(s, user_id)
        forget_devices_of(s, user_id)
        s.totp.pop(user_id, None)
        s.removed_contents = {k: v for k, v in s.removed_contents.items() if k[0] != user_id}

    async def search(self, where: UserFilter, after_id: int | None, limit: int) -> list[User]:
        return search_users(self._s, where, after_id, limit)

    async def count_with_role(self, role: Role) -> int:
        return sum(1 for u in self._s.users.values() if u.role is role)


class InMemoryCodeRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def put(self, code: VerificationCode) -> None:
        self._s.codes[(code.user_id, code.purpose)] = code

    async def get(self, user_id: int, purpose: CodePurpose) -> VerificationCode | None:
        return self._s.codes.get((user_id, purpose))

    async def record_failure(self, user_id: int, purpose: CodePurpose) -> int:
        code = self._s.codes.get((user_id, purpose))
        if code is None:
            return 0
        code = attrs.evolve(code, attempts=code.attempts + 1)
        self._s.codes[(user_id, purpose)] = code
        return code.attempts

    async def delete(self, user_id: int, purpose: CodePurpose) -> None:
        self._s.codes.pop((user_id, purpose), None)


class InMemorySessionRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def add(self, session: Session) -> Session:
        session = attrs.evolve(session, id=next(self._s.ids))
        self._s.sessions[session.id] = session
        return session

    async def get(self, session_id: int) -> Session | None:
        return self._s.sessions.get(session_id)

    async def list_for_user(self, user_id: int) -> list[Session]:
        live = [s for s in self._s.sessions.values() if s.user_id == user_id and not s.revoked_at]
        return sorted(live, key=lambda s: (s.last_used_at, s.id), reverse=True)

    async def page_for_user(self, user_id: int, after_id: int | None, limit: int) -> list[Session]:
        found = sorted(
            (s for s in self._s.sessions.values()
             if s.user_id == user_id and (after_id is None or s.id > after_id)),
            key=lambda s: s.id,
        )
        return found[: max(0, limit)]

    async def touch(self, session_id: int, at: datetime, ip: str | None) -> None:
        if (s := self._s.sessions.get(session_id)) is not None:
            self._s.sessions[session_id] = attrs.evolve(s, last_used_at=at, ip=ip or s.ip)

    async def revoke(self, session_id: int, at: datetime) -> None:
        s = self._s.sessions.get(session_id)
        if s is not None and s.revoked_at is None:
            self._s.sessions[session_id] = attrs.evolve(s, revoked_at=at)
            forget_session(self._s, session_id)

    async def revoke_all(self, user_id: int, at: datetime, keep: int | None = None) -> int:
        ids = [s.id for s in await self.list_for_user(user_id) if s.id != keep]
        for sid in ids:
            await self.revoke(sid, at)
        return len(ids)

    async def delete_ended(self, revoked_before: datetime, idle_before: datetime) -> int:
        gone = {
            s.id for s in self._s.sessions.values()
            if (s.revoked_at is not None and s.revoked_at < revoked_before)
            or s.last_used_at < idle_before
        }
        for sid in gone:
            del self._s.sessions[sid]
            forget_session(self._s, sid)  # ON DELETE CASCADE, as on PostgreSQL
        self._s.refresh_tokens = {
            h: row for h, row in self._s.refresh_tokens.items() if row.session_id not in gone
        }
        return len(gone)

    async def used_from(self, user_id: int, ip: str) -> bool:
        return any(s.user_id == user_id and s.ip == ip for s in self._s.sessions.values())

    async def add_refresh_token(self, token_hash: str, session_id: int, at: datetime) -> None:
        self._s.refresh_tokens[token_hash] = RefreshRow(session_id=session_id, created_at=at)

    async def use_refresh_token(
        self, token_hash: str, at: datetime, nonce: str | None = None
    ) -> RefreshUse | None:
        row = self._s.refresh_tokens.get(token_hash)
        if row is None:
            return None
        if row.used_at is not None:
            return RefreshUse(row.session_id, True, row.used_at, row.nonce)
        row.used_at, row.nonce = at, nonce
        return RefreshUse(row.session_id, False, at, nonce)

    async def find_refresh_token(self, token_hash: str) -> RefreshUse | None:
        row = self._s.refresh_tokens.get(token_hash)
        if row is None:
            return None
        return RefreshUse(row.session_id, row.used_at is not None, row.used_at, row.nonce)


class InMemoryIdentityRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def find(self, provider: str, subject: str) -> ExternalIdentity | None:
        return self._s.identities.get((provider, subject))

    async def add(self, identity: ExternalIdentity) -> None:
        key = (identity.provider, identity.subject)
        if key in self._s.identities:
            raise Conflict("That identity is linked already.", code="identity_linked")
        self._s.identities[key] = identity

    async def list_for_user(self, user_id: int) -> list[ExternalIdentity]:
        return [i for i in self._s.identities.values() if i.user_id == user_id]
