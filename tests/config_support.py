"""The runtime settings for tests that build services by hand: what the composition root
builds, from ``Settings()`` defaults (the only place they are written) plus overrides in
the environment's form (``allowed_email_domains="bsu.by,*.edu"``)."""

from __future__ import annotations

from typing import Any

from adapters.config import Settings
from adapters.container import runtime_config as _runtime_config
from momentic_core.ports import Clock, UnitOfWorkFactory
from momentic_core.services.config import Config


def runtime_config(uow: UnitOfWorkFactory, clock: Clock, **overrides: Any) -> Config:
    return _runtime_config(Settings(**overrides), uow, clock)
