"""Routes each push to its platform's gateway (APNs for iOS, FCM for Android); a
platform without credentials goes to the log."""

from __future__ import annotations

from momentic_core.model.devices import Platform, PushMessage, PushResult
from momentic_core.ports import PushGateway


class PlatformPushGateway:
    def __init__(self, gateways: dict[Platform, PushGateway], fallback: PushGateway) -> None:
        self._gateways = gateways
        self._fallback = fallback

    async def deliver(self, message: PushMessage) -> PushResult:
        return await self._gateways.get(message.platform, self._fallback).deliver(message)

    async def close(self) -> None:
        for gateway in self._gateways.values():
            close = getattr(gateway, "close", None)
            if close is not None:
                await close()
