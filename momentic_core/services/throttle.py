"""Rate limits on everything guessable or costly, shared across app instances."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import attrs

from momentic_core.errors import RateLimited
from momentic_core.model.accounts import RateDecision
from momentic_core.ports import RateLimiter, UnitOfWork
from momentic_core.services.config import Config


@attrs.frozen
class Limit:
    count: int
    window: timedelta


def _m(n: int) -> timedelta:
    return timedelta(minutes=n)


DEFAULT_LIMITS: dict[str, Limit] = {
    "register:ip": Limit(20, _m(60)),
    "login:ip": Limit(30, _m(5)),
    # Sign-in guesses at one account count per address, so whoever guesses locks out their
    # own address, not the owner; and per account from everywhere, with a higher ceiling
    # past which only an address the account signed in from before gets in (with the
    # right password: services.accounts).
    "login:account_ip": Limit(10, _m(15)),
    "login:account": Limit(50, _m(15)),
    "password:user": Limit(10, _m(15)),  # the current password, to change it or leave
    # Two-factor codes (services.mfa): per account, and per address at the sign-in step.
    "mfa:user": Limit(10, _m(15)),
    "mfa:ip": Limit(30, _m(5)),
    "email_change:user": Limit(5, _m(60)),  # each mails a code to a new address
    "verify:ip": Limit(30, _m(15)),
    "verify:account": Limit(10, _m(15)),
    "resend:ip": Limit(20, _m(60)),
    "resend:account": Limit(3, _m(15)),
    "reset:ip": Limit(20, _m(60)),
    "reset:account": Limit(3, _m(15)),
    "refresh:ip": Limit(120, _m(5)),
    "social:ip": Limit(60, _m(5)),
    "upload:user": Limit(60, _m(60)),
    "friend_request:user": Limit(100, _m(60 * 24)),
    "avatar:user": Limit(20, _m(60)),
    "reaction:user": Limit(300, _m(1)),
    "comment:user": Limit(30, _m(1)),
    "view:user": Limit(300, _m(1)),  # POST /v1/videos/{id}/view, as reactions
    "export:user": Limit(3, _m(60)),  # GET /v1/me/export reads everything of an account
    # GET /v1/search tells which nicknames exist and what descriptions say: guessable.
    "search:user": Limit(60, _m(1)),
    # A time zone changes twice a day at most: each zone has its own daily moment, and
    # trying zones one after another would find an open window (README: ranking).
    "time_zone:user": Limit(2, _m(60 * 24)),
    "api:user": Limit(600, _m(1)),
    "api:ip": Limit(1200, _m(1)),
    "share:ip": Limit(120, _m(1)),  # share pages opened by guests (services.shares)
}

# Counted on every request, reads included. No read may write to the database, so a
# deployment without a shared counter store (Redis) keeps these per process, and every
# other limit (sign-ins, codes, writes) in the database (README: rate limits).
PER_REQUEST_LIMITS = frozenset({"api:user", "api:ip", "share:ip"})


class Throttle:
    """Counts events per (limit name, key) and refuses those over the limit."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        config: Config,
        limits: dict[str, Limit] | None = None,
        multiplier: float = 1.0,
        in_transaction: bool = False,
    ) -> None:
        """``in_transaction``: the limiter keeps its shared counters in the store of the
        units of work (no Redis), so a check given a unit of work (``check(tx=)``) counts
        there, in that transaction (``UnitOfWork.rate_limits``)."""
        self._limiter = limiter
        self._in_transaction = in_transaction
        self._multiplier = multiplier
        self._config = config  # admins' overrides, applied without a restart
        self.limits = {
            name: Limit(max(1, int(limit.count * multiplier)), limit.window)
            for name, limit in (DEFAULT_LIMITS if limits is None else limits).items()
        }

    async def limit(self, name: str) -> Limit:
        """The limit in force: an admin's override, else the default (both scaled)."""
        override = (await self._config.current()).rate_limits.get(name)
        if override is not None:
            count, seconds = override
            return Limit(max(1, int(count * self._multiplier)), timedelta(seconds=seconds))
        return self.limits[name]

    async def allow(self, name: str, key: str) -> bool:
        """Count one event and say whether it is within the limit, without raising."""
        limit = await self.limit(name)
        return (await self._limiter.hit(f"{name}:{key}", limit.count, limit.window)).allowed

    async def check(self, name: str, key: str) -> RateDecision:
        """Count one event; raises RateLimited(code="rate_limited") when over the limit."""
        return (await self.check_many([(name, key)]))[0]

    async def write_limit(self, name: str, key: str) -> WriteLimit:
        """``check`` for a limit on one unit of work's own write. Call before the unit of
        work (the limit in force may be read from the store), then ``check(tx)`` in it.
        Where the shared counters are the store's (``in_transaction``), the event is
        counted there, in that transaction: no transaction of its own, and a refused or
        failed write is not counted (the count, already at the limit, keeps refusing
        until the window ends). Otherwise it is counted (and may raise) here, now."""
        limit = await self.limit(name)
        if self._in_transaction and name not in PER_REQUEST_LIMITS:
            return WriteLimit(f"{name}:{key}", limit)
        await self.check(name, key)
        return WriteLimit(None, limit)

    async def check_many(self, events: Sequence[tuple[str, str]]) -> list[RateDecision]:
        """``check`` for several (name, key) events at once: all are counted, then the
        first one over its limit raises."""
        decisions = await self.count_many(events)
        for decision in decisions:
            refuse(decision)
        return decisions

    async def count_many(self, events: Sequence[tuple[str, str]]) -> list[RateDecision]:
        """Count several (name, key) events at once and say how each stands, without
        raising: the caller decides (``refuse``) which of them refuse what."""
        hits = []
        for name, key in events:
            limit = await self.limit(name)
            hits.append((f"{name}:{key}", limit.count, limit.window))
        return await self._limiter.hit_many(hits)


@attrs.frozen
class WriteLimit:
    """``Throttle.write_limit``: the event still to count in the unit of work, if any."""

    key: str | None
    limit: Limit

    async def check(self, tx: UnitOfWork) -> None:
        """Raises RateLimited(code="rate_limited") when over the limit."""
        if self.key is not None:
            refuse(await tx.rate_limits.hit(self.key, self.limit.count, self.limit.window))


def refuse(
    decision: RateDecision, *, detail: str | None = None, code: str | None = None
) -> None:
    """Raises RateLimited(code="rate_limited", or ``code``, with ``detail``) when
    ``decision`` is over its limit."""
    if not decision.allowed:
        raise RateLimited(
            detail or "Too many attempts; try again later.",
            retry_after=max(1, decision.reset_after),
            limit=decision.limit,
            code=code,
        )
