# ruff: noqa: S608 -- queries interpolate only this module's column-list constants;
# every value travels as a $n parameter.
"""asyncpg repositories for accounts, sessions, verification codes and identities.

Each repository is bound to one connection, inside the transaction of a
``PostgresUnitOfWork``; it never commits. Rows map to the frozen ``momentic_core``
models and back here, and nowhere else. Driver errors are translated where they are
raised (``db.translate_errors``), so callers only ever see domain errors.

PostgreSQL aborts a transaction on any error, so after a repository raises (a Conflict,
say) the unit of work must end: leave its block with the exception.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import attrs

from momentic_core.errors import NotFound
from momentic_core.model.accounts import (
    AccountStatus,
    CodePurpose,
    ExternalIdentity,
    Person,
    RefreshUse,
    Role,
    Session,
    User,
    VerificationCode,
)
from momentic_core.model.moderation import UserFilter

from .db import translate_errors

# The user ``u`` is someone to other users at the time in the given parameter: verified,
# and neither banned nor suspended then. The SQL of momentic_core's User.hidden_at (its
# negation); every list of other users filters on it.
SHOWN_USER = (
    "(u.email_verified AND (u.status = 'active'"
    " OR (u.status = 'suspended' AND u.suspended_until <= {now})))"
)

_USER_COLUMNS = (
    "id, email, nickname, password_hash, email_verified, role, status, suspended_until, "
    "token_version, name, surname, bio, time_zone, avatar_key, rating, current_streak, "
    "max_streak, max_reactions, created_at, last_post_day, private"
)
# Who a user is to others (model.accounts.Person's fields, each the users column of its
# name): what a list of other users (comments, reactors, notifications, contacts,
# searches, leaderboards) brings to the process, never an email, a password hash or the
# account's state (those statements judge it in SQL, SHOWN_USER).
PERSON_COLUMNS = ", ".join(f.name for f in attrs.fields(Person))
_SESSION_COLUMNS = "id, user_id, created_at, last_used_at, device_name, ip, revoked_at"


def aliased(columns: str, table: str, prefix: str) -> str:
    """``t.a AS pa, t.b AS pb``: a column list for a join, read back with ``prefix``."""
    return ", ".join(f"{table}.{c} AS {prefix}{c}" for c in columns.split(", "))


@functools.cache
def column_keys(columns: str, prefix: str) -> dict[str, str]:
    """``{column: prefix + column}`` for a column list: the keys a row mapper reads a
    join's aliased columns by, made once per list and prefix (a key built per read costs
    an allocation and a hash each time: ~50 columns an item of a feed page)."""
    return {c.strip(): prefix + c.strip() for c in columns.split(",")}


_CODE_COLUMNS = "user_id, purpose, code_hash, created_at, expires_at, attempts"
_IDENTITY_COLUMNS = "provider, subject, user_id, email, created_at"


def _affected(status: str) -> int:
    """The row count of a command tag such as ``UPDATE 3``."""
    return int(status.rsplit(" ", 1)[-1])


# An enum member by its stored value: a dict lookup, where ``Enum(value)`` costs a
# microsecond (a feed page maps 20 authors). The columns' CHECK constraints hold only
# these values.
ROLES = {r.value: r for r in Role}
ACCOUNT_STATUSES = {s.value: s for s in AccountStatus}


def _user(row: asyncpg.Record, prefix: str = "") -> User:
    """A user from its columns (``prefix`` before each name: a join's aliases)."""
    k = column_keys(_USER_COLUMNS, prefix)
    return User(
        id=row[k["id"]],
        email=row[k["email"]],
        nickname=row[k["nickname"]],
        created_at=row[k["created_at"]],
        password_hash=row[k["password_hash"]],
        email_verified=row[k["email_verified"]],
        role=ROLES[row[k["role"]]],
        status=ACCOUNT_STATUSES[row[k["status"]]],
        suspended_until=row[k["suspended_until"]],
        token_version=row[k["token_version"]],
        name=row[k["name"]],
        surname=row[k["surname"]],
        bio=row[k["bio"]],
        time_zone=row[k["time_zone"]],
        avatar_key=row[k["avatar_key"]],
        rating=row[k["rating"]],
        current_streak=row[k["current_streak"]],
        max_streak=row[k["max_streak"]],
        max_reactions=row[k["max_reactions"]],
        last_post_day=row[k["last_post_day"]],
        private=row[k["private"]],
    )


def _person(row: asyncpg.Record, prefix: str = "") -> Person:
    """A user's public part from its ``PERSON_COLUMNS`` (``prefix``: as ``_user``), which
    are Person's fields in their order."""
    return Person(*[row[key] for key in column_keys(PERSON_COLUMNS, prefix).values()])


def _user_values(user: User) -> tuple[Any, ...]:
    """Every column but id, in ``_USER_COLUMNS`` order."""
    return (
        user.email,
        user.nickname,
        user.password_hash,
        user.email_verified,
        user.role.value,
        user.status.value,
        user.suspended_until,
        user.token_version,
        user.name,
        user.surname,
        user.bio,
        user.time_zone,
        user.avatar_key,
        user.rating,
        user.current_streak,
        user.max_streak,
        user.max_reactions,
        user.created_at,
    )


def _session(row: asyncpg.Record, prefix: str = "") -> Session:
    return Session(
        id=row[prefix + "id"],
        user_id=row[prefix + "user_id"],
        created_at=row[prefix + "created_at"],
        last_used_at=row[prefix + "last_used_at"],
        device_name=row[prefix + "device_name"],
        ip=row[prefix + "ip"],
        revoked_at=row[prefix + "revoked_at"],
    )


def _code(row: asyncpg.Record) -> VerificationCode:
    return VerificationCode(
        user_id=row["user_id"],
        purpose=CodePurpose(row["purpose"]),
        code_hash=row["code_hash"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        attempts=row["attempts"],
    )


def _identity(row: asyncpg.Record) -> ExternalIdentity:
    return ExternalIdentity(
        provider=row["provider"],
        subject=row["subject"],
        user_id=row["user_id"],
        email=row["email"],
        created_at=row["created_at"],
    )


class Repository:
    """Query helpers on one connection that translate driver errors.

    The unit of work detaches its repositories when it ends; a detached one raises
    RuntimeError, so a lost connection (which asyncpg reports as "released back to the
    pool") is never confused with using a repository after its unit of work."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._connection: asyncpg.Connection | None = conn

    def detach(self) -> None:
        self._connection = None

    @property
    def _conn(self) -> asyncpg.Connection:
        if self._connection is None:
            raise RuntimeError("this repository's unit of work has ended")
        return self._connection

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        with translate_errors():
            return await self._conn.fetchrow(sql, *args)

    async def _fetch(self, sql: str, *args: Any) -> Sequence[asyncpg.Record]:
        with translate_errors():
            rows: Sequence[asyncpg.Record] = await self._conn.fetch(sql, *args)
            return rows

    async def _keyset_page(
        self, sql: str, owner_id: int, after: int | None, limit: int
    ) -> Sequence[asyncpg.Record]:
        """A keyset page of one owner's rows: ``sql`` takes the owner as $1, the last key
        seen as $2 (0: from the start) and the page size as $3."""
        return await self._fetch(sql, owner_id, after or 0, max(0, limit))

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        with translate_errors():
            return await self._conn.fetchval(sql, *args)

    async def _execute(self, sql: str, *args: Any) -> str:
        with translate_errors():
            status: str = await self._conn.execute(sql, *args)
            return status


_NO_SUCH_USER = "No such user."


def _prefix_end(prefix: str) -> str | None:
    """The least string greater than every string that starts with ``prefix``, in
    code-point order (None when there is none: the prefix is all U+10FFFF)."""
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if code == 0xD800:  # surrogates are not characters: skip them
            code = 0xE000
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


class PostgresUserRepository(Repository):
    async def add(self, user: User) -> User:
        row = await self._fetchrow(
            f"""
            INSERT INTO users (email, nickname, password_hash, email_verified, role, status,
                suspended_until, token_version, name, surname, bio, time_zone, avatar_key,
                rating, current_streak, max_streak, max_reactions, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                $17, $18)
            RETURNING {_USER_COLUMNS}
            """,
            *_user_values(user),
        )
        assert row is not None
        return _user(row)

    async def get(self, user_id: int) -> User:
        row = await self._fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)
        if row is None:
            raise NotFound(_NO_SUCH_USER, code="user_not_found")
        return _user(row)

    async def get_with_session(self, user_id: int, session_id: int) -> tuple[User, Session | None]:
        row = await self._fetchrow(
            f"""
            SELECT {aliased(_USER_COLUMNS, "u", "")}, {aliased(_SESSION_COLUMNS, "s", "s_")}
            FROM users AS u LEFT JOIN sessions AS s ON s.id = $2
            WHERE u.id = $1
            """,
            user_id,
            session_id,
        )
        if row is None:
            raise NotFound(_NO_SUCH_USER, code="user_not_found")
        return _user(row), None if row["s_id"] is None else _session(row, "s_")

    async def get_for_update(self, user_id: int) -> User:
        row = await self._fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE", user_id
        )
        if row is None:
            raise NotFound(_NO_SUCH_USER, code="user_not_found")
        return _user(row)

    async def find_by_email(self, email: str) -> User | None:
        row = await self._fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users WHERE lower(email) = lower($1)", email
        )
        return None if row is None else _user(row)

    async def find_by_nickname(self, nickname: str) -> User | None:
        row = await self._fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users WHERE lower(nickname) = lower($1)", nickname
        )
        return None if row is None else _user(row)

    async def update(self, user: User) -> User:
        row = await self._fetchrow(
            f"""
            UPDATE users SET email = $2, nickname = $3, password_hash = $4,
                email_verified = $5, role = $6, status = $7, suspended_until = $8,
                token_version = $9, name = $10, surname = $11, bio = $12, time_zone = $13,
                avatar_key = $14, created_at = $15, private = $16
            WHERE id = $1
            RETURNING {_USER_COLUMNS}
            """,
            user.id,
            *_user_values(user)[:13],  # not the ranking fields: the ranking repository's
            user.created_at,
            user.private,
        )
        if row is None:
            raise NotFound(_NO_SUCH_USER, code="user_not_found")
        return _user(row)

    async def delete(self, user_id: int) -> None:
        # Codes, sessions (and so their refresh tokens) and identities go by ON DELETE CASCADE.
        await self._execute("DELETE FROM users WHERE id = $1", user_id)

    async def search(self, where: UserFilter, after_id: int | None, limit: int) -> list[User]:
        """A prefix of the email or the nickname is the range [prefix, its successor) of
        lower(email) / lower(nickname) in code-point order (the ~>=~ and ~<~ operators of
        text_pattern_ops), so users_email_key and users_nickname_key serve it whatever the
        collation. The statement is planned for its values every time: a generic plan
        (which a prepared statement may switch to after five runs) cannot tell a rare
        prefix from a common one and walks users_pkey instead."""
        args: list[Any] = [max(0, limit)]

        def param(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        conditions = ["true"]
        if after_id is not None:
            conditions.append(f"id > {param(after_id)}")
        if where.role is not None:
            conditions.append(f"role = {param(where.role)}")
        if where.status is not None:
            conditions.append(f"status = {param(where.status)}")
        query = (where.query or "").strip().lower()
        if "\x00" in query:
            return []  # text never holds NUL: nothing starts with it
        if query:
            # Until the unit of work ends (its other statements just plan each time too).
            await self._execute("SET LOCAL plan_cache_mode = force_custom_plan")
            low, high = param(query), _prefix_end(query)
            columns = ("email", "nickname") if where.by_email else ("nickname",)
            if high is None:
                matches = [f"starts_with(lower({c}), {low})" for c in columns]
            else:
                up = param(high)
                matches = [f"(lower({c}) ~>=~ {low} AND lower({c}) ~<~ {up})" for c in columns]
            conditions.append(f"({' OR '.join(matches)})")
        rows = await self._fetch(
            f"SELECT {_USER_COLUMNS} FROM users WHERE {' AND '.join(conditions)} "
            "ORDER BY id LIMIT $1",
            *args,
        )
        return [_user(row) for row in rows]

    async def count_with_role(self, role: Role) -> int:
        # Lock the counted rows: of two transactions that each demote a different admin
        # after counting two, the second waits for the first and then counts one. Rows
        # are locked in id order so that concurrent counters queue instead of deadlocking.
        count = await self._fetchval(
            """
            SELECT count(*) FROM (
                SELECT id FROM users WHERE role = $1 ORDER BY id FOR UPDATE
            ) AS locked
            """,
            role.value,
        )
        return int(count)


class PostgresCodeRepository(Repository):
    async def put(self, code: VerificationCode) -> None:
        await self._execute(
            """
            INSERT INTO verification_codes
                (user_id, purpose, code_hash, created_at, expires_at, attempts)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (user_id, purpose) DO UPDATE SET
                code_hash = EXCLUDED.code_hash,
                created_at = EXCLUDED.created_at,
                expires_at = EXCLUDED.expires_at,
                attempts = EXCLUDED.attempts
            """,
            code.user_id,
            code.purpose.value,
            code.code_hash,
            code.created_at,
            code.expires_at,
            code.attempts,
        )

    async def get(self, user_id: int, purpose: CodePurpose) -> VerificationCode | None:
        # The row is held until the unit of work ends: checking a code is read, compare,
        # then count or delete, and without the lock concurrent checks all read the same
        # row, so one code signs in twice and wrong tries go past the limit.
        row = await self._fetchrow(
            f"""
            SELECT {_CODE_COLUMNS} FROM verification_codes
            WHERE user_id = $1 AND purpose = $2
            FOR UPDATE
            """,
            user_id,
            purpose.value,
        )
        return None if row is None else _code(row)

    async def record_failure(self, user_id: int, purpose: CodePurpose) -> int:
        attempts = await self._fetchval(
            """
            UPDATE verification_codes SET attempts = attempts + 1
            WHERE user_id = $1 AND purpose = $2
            RETURNING attempts
            """,
            user_id,
            purpose.value,
        )
        return 0 if attempts is None else int(attempts)

    async def delete(self, user_id: int, purpose: CodePurpose) -> None:
        await self._execute(
            "DELETE FROM verification_codes WHERE user_id = $1 AND purpose = $2",
            user_id,
            purpose.value,
        )


class PostgresSessionRepository(Repository):
    async def add(self, session: Session) -> Session:
        row = await self._fetchrow(
            f"""
            INSERT INTO sessions (user_id, created_at, last_used_at, device_name, ip, revoked_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            RETURNING {_SESSION_COLUMNS}
            """,
            session.user_id,
            session.created_at,
            session.last_used_at,
            session.device_name,
            session.ip,
            session.revoked_at,
        )
        assert row is not None
        return _session(row)

    async def get(self, session_id: int) -> Session | None:
        row = await self._fetchrow(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = $1", session_id
        )
        return None if row is None else _session(row)

    async def list_for_user(self, user_id: int) -> list[Session]:
        rows = await self._fetch(
            f"""
            SELECT {_SESSION_COLUMNS} FROM sessions
            WHERE user_id = $1 AND revoked_at IS NULL
            ORDER BY last_used_at DESC, id DESC
            """,
            user_id,
        )
        return [_session(row) for row in rows]

    async def page_for_user(self, user_id: int, after_id: int | None, limit: int) -> list[Session]:
        rows = await self._keyset_page(
            f"""
            SELECT {_SESSION_COLUMNS} FROM sessions
            WHERE user_id = $1 AND id > $2
            ORDER BY id
            LIMIT $3
            """,
            user_id,
            after_id,
            limit,
        )
        return [_session(row) for row in rows]

    async def touch(self, session_id: int, at: datetime, ip: str | None) -> None:
        # An empty or missing ip keeps the one we had, as the memory adapter does.
        await self._execute(
            """
            UPDATE sessions SET last_used_at = $2, ip = coalesce(nullif($3, ''), ip)
            WHERE id = $1
            """,
            session_id,
            at,
            ip,
        )

    async def revoke(self, session_id: int, at: datetime) -> None:
        await self._execute(
            "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            session_id,
            at,
        )

    async def revoke_all(self, user_id: int, at: datetime, keep: int | None = None) -> int:
        status = await self._execute(
            """
            UPDATE sessions SET revoked_at = $2
            WHERE user_id = $1 AND revoked_at IS NULL AND ($3::bigint IS NULL OR id <> $3)
            """,
            user_id,
            at,
            keep,
        )
        return _affected(status)

    async def delete_ended(self, revoked_before: datetime, idle_before: datetime) -> int:
        # Their refresh tokens and devices go by ON DELETE CASCADE.
        status = await self._execute(
            "DELETE FROM sessions WHERE revoked_at < $1 OR last_used_at < $2",
            revoked_before,
            idle_before,
        )
        return int(status.rsplit(" ", 1)[-1])

    async def used_from(self, user_id: int, ip: str) -> bool:
        # Through sessions_user_id_idx: one account holds few sessions.
        return bool(await self._fetchval(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE user_id = $1 AND ip = $2)",
            user_id,
            ip,
        ))

    async def add_refresh_token(self, token_hash: str, session_id: int, at: datetime) -> None:
        await self._execute(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
            token_hash,
            session_id,
            at,
        )

    async def use_refresh_token(
        self, token_hash: str, at: datetime, nonce: str | None = None
    ) -> RefreshUse | None:
        # The conditional UPDATE is the atomic step: a concurrent caller blocks on the row
        # lock, then re-checks "used_at IS NULL", finds it false and updates nothing; its
        # read below then sees what the winner committed.
        session_id = await self._fetchval(
            """
            UPDATE refresh_tokens SET used_at = $2, rotation_nonce = $3
            WHERE token_hash = $1 AND used_at IS NULL
            RETURNING session_id
            """,
            token_hash,
            at,
            nonce,
        )
        if session_id is not None:
            return RefreshUse(session_id, False, at, nonce)
        found = await self.find_refresh_token(token_hash)
        if found is None:
            return None
        return RefreshUse(found.session_id, True, found.used_at, found.nonce)

    async def find_refresh_token(self, token_hash: str) -> RefreshUse | None:
        row = await self._fetchrow(
            """
            SELECT session_id, used_at, rotation_nonce FROM refresh_tokens
            WHERE token_hash = $1
            """,
            token_hash,
        )
        if row is None:
            return None
        return RefreshUse(
            row["session_id"], row["used_at"] is not None, row["used_at"], row["rotation_nonce"]
        )


class PostgresIdentityRepository(Repository):
    async def find(self, provider: str, subject: str) -> ExternalIdentity | None:
        row = await self._fetchrow(
            f"""
            SELECT {_IDENTITY_COLUMNS} FROM external_identities
            WHERE provider = $1 AND subject = $2
            """,
            provider,
            subject,
        )
        return None if row is None else _identity(row)

    async def add(self, identity: ExternalIdentity) -> None:
        await self._execute(
            """
            INSERT INTO external_identities (provider, subject, user_id, email, created_at)
            VALUES ($1, $2, $3, $4, $5)
            """,
            identity.provider,
            identity.subject,
            identity.user_id,
            identity.email,
            identity.created_at,
        )

    async def list_for_user(self, user_id: int) -> list[ExternalIdentity]:
        rows = await self._fetch(
            f"""
            SELECT {_IDENTITY_COLUMNS} FROM external_identities
            WHERE user_id = $1
            ORDER BY created_at, provider, subject
            """,
            user_id,
        )
        return [_identity(row) for row in rows]
