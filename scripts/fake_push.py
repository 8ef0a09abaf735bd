"""Try push delivery locally: start the fake APNs and FCM servers (HTTP/2) of the tests
(tests/push_support.py) on loopback, write a throwaway APNs key and FCM service account
under var/fake-push/, and print the MOMENTIC_* settings that point the app at them.
Every push the fakes accept is printed. Ctrl-C stops them.

    .venv/bin/python scripts/fake_push.py            # then, in another shell:
    env $(cat var/fake-push/env) make run
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from push_support import FakeApns, FakeFcm, p8_key  # noqa: E402

APNS_PORT, FCM_PORT, FCM_TOKEN_PORT = 8443, 8444, 8445
KEY_ID, TEAM_ID, TOPIC = "FAKEKEY123", "FAKETEAM12", "app.momentic.ios"


async def main() -> None:
    out = ROOT / "var" / "fake-push"
    out.mkdir(parents=True, exist_ok=True)
    key = p8_key()
    (out / "apns.p8").write_text(key)
    apns = await FakeApns(key, KEY_ID, TEAM_ID, TOPIC).start(APNS_PORT)
    fcm = await FakeFcm().start(FCM_PORT, token_port=FCM_TOKEN_PORT)
    (out / "fcm.json").write_text(json.dumps(fcm.account()))
    env = {
        "MOMENTIC_APNS_KEY": str(out / "apns.p8"), "MOMENTIC_APNS_KEY_ID": KEY_ID,
        "MOMENTIC_APNS_TEAM_ID": TEAM_ID, "MOMENTIC_APNS_TOPIC": TOPIC,
        "MOMENTIC_APNS_URL": apns.url, "MOMENTIC_APNS_SANDBOX_URL": apns.url,
        "MOMENTIC_FCM_SERVICE_ACCOUNT": str(out / "fcm.json"), "MOMENTIC_FCM_URL": fcm.url,
    }
    (out / "env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    print(f"fake APNs on {apns.url}, fake FCM on {fcm.url}; settings in {out / 'env'}:")
    for k, v in env.items():
        print(f"  {k}={v}")
    seen = 0, 0
    try:
        while True:
            await asyncio.sleep(0.5)
            for push in apns.received[seen[0]:]:
                print("APNs", push["token"][:12], json.dumps(push["payload"], ensure_ascii=False))
            for push in fcm.received[seen[1]:]:
                print("FCM ", push["token"][:12], json.dumps(push["notification"],
                                                            ensure_ascii=False))
            seen = len(apns.received), len(fcm.received)
    finally:
        await apns.stop()
        await fcm.stop()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
