"""Two-factor authentication (TOTP, RFC 6238) state of one account."""

from __future__ import annotations

from datetime import datetime

import attrs


@attrs.frozen
class Totp:
    """One account's authenticator. ``secret`` is sealed (``ports.Sealer``): the store
    never holds it in clear. Pending until ``confirmed_at``: a pending one is never asked
    for at sign-in. ``last_step`` is the RFC 6238 time step of the last code accepted, so a
    code (or an older one) is never accepted twice. ``recovery`` holds the hashes of the
    unused recovery codes."""

    user_id: int
    secret: str = attrs.field(repr=False)  # sealed; still never in a repr
    created_at: datetime
    confirmed_at: datetime | None = None
    last_step: int = -1
    recovery: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.confirmed_at is not None


@attrs.frozen
class MfaStatus:
    """What may be shown of an account's two-factor state: never the secret, nor the
    recovery codes' hashes."""

    enabled: bool
    pending: bool
    recovery_codes_left: int

    @classmethod
    def of(cls, totp: Totp | None) -> MfaStatus:
        if totp is None:
            return cls(enabled=False, pending=False, recovery_codes_left=0)
        return cls(enabled=totp.enabled, pending=not totp.enabled,
                   recovery_codes_left=len(totp.recovery))
