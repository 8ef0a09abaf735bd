"""DeviceRepository and NotificationSettingsRepository contracts: memory and PostgreSQL
alike. A token is unique and moves between accounts; a revoked session's devices go, and
a deleted user's."""

from __future__ import annotations

import asyncio
from datetime import date, time, timedelta
from typing import Any

import attrs
import pytest

from momentic_core.errors import NotFound
from momentic_core.model.devices import (
    ApnsEnvironment,
    Device,
    NotificationSettings,
    Platform,
    PushKind,
)
from momentic_core.model.jobs import DeliverPushes

from .support import T0, Adapters, add_session, add_user, add_video

APNS = "ab" * 32


def _device(user_id: int, session_id: int, **fields: Any) -> Device:
    values: dict[str, Any] = dict(
        id=0, user_id=user_id, session_id=session_id, platform=Platform.IOS, token=APNS,
        created_at=T0, last_seen_at=T0, app_version="1.4.0", locale="ru-BY",
        apns_environment=ApnsEnvironment.SANDBOX,
    )
    values.update(fields)
    return Device(**values)


async def _owner(backend: Adapters) -> tuple[int, int]:
    user = await add_user(backend)
    session = await add_session(backend, user.id)
    return user.id, session.id


async def test_register_stores_then_refreshes_the_same_token(backend: Adapters) -> None:
    uid, sid = await _owner(backend)
    async with backend.uow() as tx:
        stored, previous = await tx.devices.register(_device(uid, sid))
    assert previous is None and stored.id > 0
    assert stored == attrs.evolve(_device(uid, sid), id=stored.id)
    later = T0 + timedelta(days=1)
    async with backend.uow() as tx:
        again, previous = await tx.devices.register(_device(
            uid, sid, created_at=later, last_seen_at=later, app_version="1.5.0", locale=None,
        ))
    assert previous == uid
    assert again == attrs.evolve(stored, last_seen_at=later, app_version="1.5.0", locale=None)
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.list_for_user(uid) == [again]
        assert await tx.devices.count_for_user(uid) == 1


async def test_a_token_registered_by_another_account_moves(backend: Adapters) -> None:
    a, a_session = await _owner(backend)
    b, b_session = await _owner(backend)
    async with backend.uow() as tx:
        await tx.devices.register(_device(a, a_session))
    later = T0 + timedelta(hours=2)
    async with backend.uow() as tx:
        moved, previous = await tx.devices.register(
            _device(b, b_session, created_at=later, last_seen_at=later)
        )
    assert previous == a
    assert moved.user_id == b and moved.session_id == b_session and moved.created_at == later
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.list_for_user(a) == []
        assert await tx.devices.list_for_user(b) == [moved]


async def test_list_is_mine_oldest_first_and_delete_only_mine(backend: Adapters) -> None:
    uid, sid = await _owner(backend)
    other, other_sid = await _owner(backend)
    fcm = "f" * 40 + ":APA91b" + "x" * 100
    async with backend.uow() as tx:
        one, _ = await tx.devices.register(_device(uid, sid))
        two, _ = await tx.devices.register(_device(
            uid, sid, platform=Platform.ANDROID, token=fcm, apns_environment=None,
        ))
        theirs, _ = await tx.devices.register(_device(other, other_sid, token="cd" * 32))
    async with backend.uow() as tx:
        assert await tx.devices.list_for_user(uid) == [one, two]
        assert not await tx.devices.delete(uid, theirs.id)
        assert await tx.devices.delete(uid, one.id)
        assert not await tx.devices.delete(uid, one.id)
        assert await tx.devices.list_for_user(uid) == [two]
        assert not await tx.devices.delete_token(two.id, theirs.token), "id and token"
        assert not await tx.devices.delete_token(theirs.id, two.token), "id and token"
        assert await tx.devices.list_for_user(uid) == [two]
        assert await tx.devices.delete_token(theirs.id, theirs.token)
        assert not await tx.devices.delete_token(theirs.id, theirs.token)
        assert await tx.devices.list_for_user(other) == []


async def test_revoking_a_session_removes_its_devices_only(backend: Adapters) -> None:
    uid, phone = await _owner(backend)
    tablet = (await add_session(backend, uid)).id
    third = (await add_session(backend, uid)).id
    async with backend.uow() as tx:
        await tx.devices.register(_device(uid, phone))
        kept, _ = await tx.devices.register(_device(uid, tablet, token="cd" * 32))
        await tx.devices.register(_device(uid, third, token="ef" * 32))
    async with backend.uow() as tx:
        await tx.sessions.revoke(phone, T0)
    async with backend.uow(read_only=True) as tx:
        assert [d.session_id for d in await tx.devices.list_for_user(uid)] == [tablet, third]
    async with backend.uow() as tx:
        await tx.sessions.revoke_all(uid, T0, keep=tablet)
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.list_for_user(uid) == [kept]


async def test_deleting_the_user_removes_devices_and_settings(backend: Adapters) -> None:
    uid, sid = await _owner(backend)
    async with backend.uow() as tx:
        await tx.devices.register(_device(uid, sid))
        await tx.notification_settings.save(uid, NotificationSettings(enabled=frozenset()))
    async with backend.uow() as tx:
        await tx.users.delete(uid)
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.list_for_user(uid) == []
        assert await tx.notification_settings.get(uid) == NotificationSettings()
    again, again_sid = await _owner(backend)
    async with backend.uow() as tx:  # the token is free again
        _, previous = await tx.devices.register(_device(again, again_sid))
    assert previous is None


async def test_register_for_a_missing_user_or_session_is_not_found(backend: Adapters) -> None:
    uid, sid = await _owner(backend)
    with pytest.raises(NotFound) as missing_user:
        async with backend.uow() as tx:
            await tx.devices.register(_device(987654, sid))
    assert missing_user.value.code == "user_not_found"
    with pytest.raises(NotFound) as missing_session:
        async with backend.uow() as tx:
            await tx.devices.register(_device(uid, 987654))
    assert missing_session.value.code == "session_not_found"


async def test_notification_settings_default_then_saved(backend: Adapters) -> None:
    uid, _ = await _owner(backend)
    async with backend.uow(read_only=True) as tx:
        assert await tx.notification_settings.get(uid) == NotificationSettings()
    quiet = NotificationSettings(
        enabled=frozenset({PushKind.MOMENT, PushKind.COMMENTS}),
        quiet_start=time(22, 30), quiet_end=time(7, 0),
    )
    async with backend.uow() as tx:
        await tx.notification_settings.save(uid, quiet)
    async with backend.uow(read_only=True) as tx:
        assert await tx.notification_settings.get(uid) == quiet
    async with backend.uow() as tx:
        await tx.notification_settings.save(uid, NotificationSettings())
    async with backend.uow(read_only=True) as tx:
        assert await tx.notification_settings.get(uid) == NotificationSettings()
    with pytest.raises(NotFound) as gone:
        async with backend.uow() as tx:
            await tx.notification_settings.save(987654, quiet)
    assert gone.value.code == "user_not_found"


async def test_claim_marks_each_key_once_and_goes_with_the_unit_of_work(
    backend: Adapters,
) -> None:
    async with backend.uow() as tx:
        assert await tx.devices.claim(["a", "b", "a"], T0) == {"a", "b"}
    async with backend.uow() as tx:
        assert await tx.devices.claim(["b", "c"], T0) == {"c"}
    with pytest.raises(RuntimeError):
        async with backend.uow() as tx:
            assert await tx.devices.claim(["d"], T0) == {"d"}
            raise RuntimeError("rolled back")
    async with backend.uow() as tx:
        assert await tx.devices.claim(["d"], T0) == {"d"}, "a rollback leaves it free"


async def test_a_moment_page_fanned_out_twice_at_once_queues_each_device_once(
    backend: Adapters,
) -> None:
    """Two workers (or instances) take the same page of the same moment: every device
    gets one delivery job, and a third try later queues none."""
    import asyncio

    from adapters.memory.clock import ManualClock
    from adapters.push.logging import LoggingPushSender
    from momentic_core.model.jobs import DeliverPushes, PushMoment
    from momentic_core.services.push import Pushes

    clock = ManualClock(T0)
    users = []
    for n in range(5):
        uid, sid = await _owner(backend)
        async with backend.uow() as tx:
            await tx.devices.register(_device(uid, sid, token=f"{n:02x}" * 32))
        users.append(uid)
    async with backend.uow() as tx:  # one of them switched the moment off
        await tx.notification_settings.save(
            users[0], NotificationSettings(enabled=frozenset(PushKind) - {PushKind.MOMENT}))
    pushes = Pushes(uow=backend.uow, clock=clock, gateway=LoggingPushSender())
    payload = PushMoment(user_ids=users, zone="Europe/Minsk", day=date(2026, 1, 5), at=T0,
                         window=timedelta(minutes=2))
    first, second = await asyncio.gather(
        pushes.fan_out_moment(payload), pushes.fan_out_moment(payload))
    assert sorted([first.queued, second.queued]) == [0, 4]
    assert (await pushes.fan_out_moment(payload)).queued == 0
    runner = backend.job_runner(clock)
    tokens = []
    while (job := await runner.claim([DeliverPushes.kind], timedelta(minutes=1))) is not None:
        assert isinstance(job.message, DeliverPushes)
        for message in job.message.messages:
            tokens.append(message.token)
            assert message.data["kind"] == "moment"
        await runner.complete(job.id, attempt=job.attempts)
    assert sorted(tokens) == [f"{n:02x}" * 32 for n in range(1, 5)]


async def test_a_pages_deliveries_come_before_the_pages_queued_after_them(
    backend: Adapters, clock: Any,
) -> None:
    """The announcement queues the zone's pages faster than workers fan them out: page 1
    and 2 are queued, a worker fans out page 1, then page 3 is queued. Page 1's
    deliveries are due at the moment, so the next job taken is them, not page 2 (due when
    queued, before page 1's fan-out): the first pushes go out while pages are still
    being queued and fanned out. Each delivery expires when the window closes."""
    from adapters.push.logging import LoggingPushSender
    from momentic_core.model.jobs import DeliverPushes, PushMoment
    from momentic_core.model.ranking import Moment
    from momentic_core.services.push import Pushes

    # (the clock of the backend's units of work: the pages are due when queued by it)
    moment = Moment(day=clock.now().date(), time_zone="Europe/Minsk", at=clock.now(),
                    window=timedelta(minutes=2))
    clock.advance(timedelta(seconds=1))
    users = []
    for n in range(3):
        uid, sid = await _owner(backend)
        async with backend.uow() as tx:
            await tx.devices.register(_device(uid, sid, token=f"{n:02x}" * 32))
        users.append(uid)
    pushes = Pushes(uow=backend.uow, clock=clock, gateway=LoggingPushSender())
    runner = backend.job_runner(clock)
    kinds = [PushMoment.kind, DeliverPushes.kind]
    await pushes.send_moment([users[0]], moment)
    await pushes.send_moment([users[1]], moment)
    clock.advance(timedelta(seconds=1))
    taken = []
    while (job := await runner.claim(kinds, timedelta(minutes=1))) is not None:
        if isinstance(job.message, PushMoment):
            taken.append(("page", job.message.user_ids[0]))
            await pushes.fan_out_moment(job.message)
            if job.message.user_ids == [users[0]]:
                await pushes.send_moment([users[2]], moment)  # the announcement reads on
        else:
            assert isinstance(job.message, DeliverPushes)
            assert job.run_at == moment.at
            [m] = job.message.messages
            assert m.expires_at == moment.window_ends_at
            taken.append(("push", m.user_id))
        await runner.complete(job.id, attempt=job.attempts)
        clock.advance(timedelta(milliseconds=10))
    assert taken == [("page", users[0]), ("push", users[0]), ("page", users[1]),
                     ("push", users[1]), ("page", users[2]), ("push", users[2])]


async def test_register_on_a_revoked_or_someone_elses_session_is_refused(
    backend: Adapters,
) -> None:
    """A request that passed its token check just before its session was revoked must
    not leave a device behind the revocation (the trigger removed the session's devices
    already): the live session is checked in the registering statement."""
    uid, sid = await _owner(backend)
    other, other_sid = await _owner(backend)
    async with backend.uow() as tx:
        await tx.sessions.revoke(sid, T0)
    for user, session in ((uid, sid), (uid, other_sid)):
        with pytest.raises(NotFound) as refused:
            async with backend.uow() as tx:
                await tx.devices.register(_device(user, session))
        assert refused.value.code == "session_not_found"
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.list_for_user(uid) == []
        assert await tx.devices.list_for_user(other) == []


async def test_deliverable_only_to_the_same_device_token_user_and_live_session(
    backend: Adapters,
) -> None:
    a, a_session = await _owner(backend)  # the session was last used at T0
    b, b_session = await _owner(backend)
    async with backend.uow() as tx:
        device, _ = await tx.devices.register(_device(a, a_session))
        other, _ = await tx.devices.register(_device(a, a_session, token="cd" * 32))
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.deliverable(device.id, APNS, a, T0)
        assert not await tx.devices.deliverable(device.id, APNS, b, T0), "not b's"
        assert not await tx.devices.deliverable(other.id, APNS, a, T0), "not that row's token"
        cut_off = T0 + timedelta(seconds=1)
        assert not await tx.devices.deliverable(device.id, APNS, a, cut_off), (
            "a session idle since before the cut-off is dead")
    async with backend.uow() as tx:  # a shared phone: b signs in and registers the token
        moved, _ = await tx.devices.register(_device(b, b_session))
    assert moved.id == device.id
    async with backend.uow(read_only=True) as tx:
        assert not await tx.devices.deliverable(device.id, APNS, a, T0), "moved to b"
        assert await tx.devices.deliverable(device.id, APNS, b, T0)
    async with backend.uow() as tx:
        await tx.sessions.revoke(b_session, T0)
        await tx.sessions.revoke(a_session, T0)
    async with backend.uow(read_only=True) as tx:
        assert not await tx.devices.deliverable(device.id, APNS, b, T0)
        assert not await tx.devices.deliverable(other.id, "cd" * 32, a, T0)


async def test_prune_claims_deletes_only_the_older_ones(backend: Adapters) -> None:
    async with backend.uow() as tx:
        await tx.devices.claim(["old", "older"], T0)
        await tx.devices.claim(["new"], T0 + timedelta(days=3))
    async with backend.uow() as tx:
        assert await tx.devices.prune_claims(T0 + timedelta(days=3)) == 2
    async with backend.uow() as tx:
        assert await tx.devices.prune_claims(T0 + timedelta(days=3)) == 0
        assert await tx.devices.claim(["old", "new"], T0) == {"old"}, "old is free again"


async def test_the_janitor_prunes_push_claims_older_than_three_days(backend: Adapters) -> None:
    from adapters.memory.blobs import InMemoryBlobStore
    from adapters.memory.clock import ManualClock
    from momentic_core.services.processing import Janitor

    async with backend.uow() as tx:
        await tx.devices.claim(["moment:1:2026-01-05"], T0)
        await tx.devices.claim(["n:7"], T0 + timedelta(days=2))
    clock = ManualClock(T0 + timedelta(days=3, minutes=1))
    blobs = InMemoryBlobStore("http://media.test", b"k", clock=clock)
    janitor = Janitor(uow=backend.uow, blobs=blobs,
                     clock=clock)
    assert (await janitor.run())["push_claims"] == 1
    async with backend.uow() as tx:
        assert await tx.devices.claim(["moment:1:2026-01-05", "n:7"], T0) == {
            "moment:1:2026-01-05"}


async def test_a_queued_delivery_goes_only_to_the_device_it_was_queued_for(
    backend: Adapters,
) -> None:
    """A delivery job looks its devices up again at sending: a token that moved to
    another account (a shared phone), a signed-out or idle-expired session drops the
    push."""
    from adapters.memory.clock import ManualClock
    from momentic_core.model.devices import PushMessage, PushOutcome, PushResult
    from momentic_core.model.jobs import PushDelivery
    from momentic_core.services.push import Pushes

    sent: list[PushMessage] = []

    class Recording:
        async def deliver(self, message: PushMessage) -> PushResult:
            sent.append(message)
            return PushResult(PushOutcome.SENT)

    clock = ManualClock(T0 + timedelta(days=1))
    pushes = Pushes(uow=backend.uow, clock=clock, gateway=Recording(),
                    session_ttl=timedelta(days=60))

    async def deliver(item: PushDelivery) -> dict[str, int]:  # unmarked: sent each time
        return await pushes.deliver_job(DeliverPushes([item]))

    a, a_session = await _owner(backend)
    b, b_session = await _owner(backend)
    async with backend.uow() as tx:
        device, _ = await tx.devices.register(_device(a, a_session))
    message = PushMessage(device_id=device.id, platform=Platform.IOS, token=APNS,
                          title="t", body="b", apns_environment=ApnsEnvironment.SANDBOX)
    for_a = PushDelivery.of(message, a)
    assert await deliver(for_a) == {"sent": 1}
    async with backend.uow() as tx:  # b signs in on the phone: the row is b's now
        moved, _ = await tx.devices.register(_device(b, b_session))
    assert moved.id == device.id
    assert await deliver(for_a) == {"dropped": 1}
    for_b = PushDelivery.of(message, b)
    assert await deliver(for_b) == {"sent": 1}
    legacy = attrs.evolve(for_a, user_id=None)  # queued before deliveries carried the user
    assert await deliver(legacy) == {"dropped": 1}
    clock.advance(timedelta(days=60))  # b's session idle past its ttl, never revoked
    assert await deliver(for_b) == {"dropped": 1}
    clock.advance(timedelta(days=-60))
    async with backend.uow() as tx:
        await tx.sessions.revoke(b_session, clock.now())
    assert await deliver(for_b) == {"dropped": 1}
    assert [m.device_id for m in sent] == [device.id, device.id]


async def test_a_registration_racing_the_revocation_leaves_no_device(backend: Adapters) -> None:
    """The revocation is written, not yet committed, when the registration starts: the
    registration waits for it and is refused, and a registration committed first is
    removed by the revocation (whichever order, no device of a revoked session stays)."""
    import asyncio

    uid, sid = await _owner(backend)
    revoked = asyncio.Event()
    release = asyncio.Event()

    async def revoke() -> None:
        async with backend.uow() as tx:
            await tx.sessions.revoke(sid, T0)
            revoked.set()
            await release.wait()

    async def register() -> None:
        await revoked.wait()
        async with backend.uow() as tx:
            await tx.devices.register(_device(uid, sid))

    revoking = asyncio.create_task(revoke())
    registering = asyncio.create_task(register())
    await asyncio.sleep(0.2)
    assert not registering.done(), "the registration waits for the revocation"
    release.set()
    await revoking
    with pytest.raises(NotFound) as refused:
        await registering
    assert refused.value.code == "session_not_found"
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.list_for_user(uid) == []

    other = (await add_session(backend, uid)).id
    async with backend.uow() as tx:  # registered first: the revocation takes it along
        await tx.devices.register(_device(uid, other))
        await tx.sessions.revoke(other, T0)
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.list_for_user(uid) == []


async def test_batch_reads_answer_as_the_single_ones(backend: Adapters) -> None:
    """list_for_users, get_many, deliverable_many, claimed and unread_counts: what a page
    of the moment reads in one statement each."""
    from momentic_core.model.engagement import Notification, NotificationKind

    a, a_session = await _owner(backend)
    b, b_session = await _owner(backend)
    c, _ = await _owner(backend)  # no device, no settings
    async with backend.uow() as tx:
        a1, _ = await tx.devices.register(_device(a, a_session, token="a1" * 32))
        b1, _ = await tx.devices.register(_device(b, b_session, token="b1" * 32))
        a2, _ = await tx.devices.register(_device(a, a_session, token="a2" * 32))
        quiet = NotificationSettings(enabled=frozenset({PushKind.MOMENT}),
                                     quiet_start=time(22), quiet_end=time(7))
        await tx.notification_settings.save(b, quiet)
        for n in range(3):
            await tx.notifications.add(Notification(
                id=0, user_id=a, kind=NotificationKind.FRIEND_REQUEST, actor_id=b,
                created_at=T0 + timedelta(seconds=n)))
        await tx.devices.claim(["k1", "k2"], T0)
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.list_for_users([c, b, a]) == [a1, a2, b1]
        assert await tx.devices.list_for_users([c]) == []
        assert await tx.notification_settings.get_many([a, b, c]) == {
            a: NotificationSettings(), b: quiet, c: NotificationSettings()}
        assert await tx.notifications.unread_counts([a, b, c]) == {a: 3, b: 0, c: 0}
        assert await tx.devices.claimed(["k2", "k3", "k1"]) == {"k1", "k2"}
        targets = [(a1.id, a1.token, a), (b1.id, b1.token, a), (a2.id, "ff" * 32, a),
                   (b1.id, b1.token, b), (987654, "ee" * 32, a)]
        assert await tx.devices.deliverable_many(targets, T0) == {a1.id, b1.id}
        assert await tx.devices.deliverable_many(targets, T0 + timedelta(seconds=1)) == set()
    async with backend.uow() as tx:
        await tx.sessions.revoke(b_session, T0)
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.deliverable_many(targets, T0) == {a1.id}


async def test_posted_for_moment_is_who_answered_that_moment(backend: Adapters) -> None:
    from momentic_core.model.videos import VideoStatus

    moment = T0 + timedelta(hours=3)
    on_time, late, failed, other_day, never = [
        (await _owner(backend))[0] for _ in range(5)]
    await add_video(backend, on_time, moment_at=moment, on_time=True)
    await add_video(backend, late, moment_at=moment, on_time=False,
                    status=VideoStatus.PROCESSING)
    await add_video(backend, failed, moment_at=moment, status=VideoStatus.FAILED)
    await add_video(backend, other_day, moment_at=moment - timedelta(days=1))
    async with backend.uow(read_only=True) as tx:
        assert await tx.ranking.posted_for_moment(
            [on_time, late, failed, other_day, never], moment) == {on_time, late}
        assert await tx.ranking.posted_for_moment([never], moment) == set()


async def test_a_retried_delivery_batch_sends_only_what_is_not_settled(
    backend: Adapters,
) -> None:
    """One of three pushes of a batch gets a 503: the job raises (the worker retries it
    with backoff) and its next attempt sends that one alone; a dead token is forgotten
    in the same round."""
    from adapters.memory.clock import ManualClock
    from momentic_core.model.devices import PushMessage, PushOutcome, PushResult
    from momentic_core.model.jobs import DeliverPushes, PushDelivery
    from momentic_core.services.push import Pushes, PushRetry

    answers: dict[str, PushOutcome] = {}
    sent: list[str] = []

    class Gateway:
        async def deliver(self, message: PushMessage) -> PushResult:
            sent.append(message.token)
            return PushResult(answers.get(message.token, PushOutcome.SENT))

    clock = ManualClock(T0)
    pushes = Pushes(uow=backend.uow, clock=clock, gateway=Gateway(), concurrency=2)
    uid, sid = await _owner(backend)
    tokens = [f"{n:02x}" * 32 for n in range(3)]
    async with backend.uow() as tx:
        devices = [(await tx.devices.register(_device(uid, sid, token=t)))[0] for t in tokens]
    batch = DeliverPushes([
        PushDelivery.of(PushMessage(device_id=d.id, platform=Platform.IOS, token=d.token,
                                    title="t", body="b",
                                    apns_environment=ApnsEnvironment.SANDBOX),
                        uid, f"moment:2026-01-05:{d.id}")
        for d in devices])
    answers[tokens[1]] = PushOutcome.RETRY
    answers[tokens[2]] = PushOutcome.INVALID_TOKEN
    with pytest.raises(PushRetry, match="1 of 3"):
        await pushes.deliver_job(batch)
    assert sorted(sent) == sorted(tokens)
    async with backend.uow(read_only=True) as tx:
        assert [d.token for d in await tx.devices.list_for_user(uid)] == tokens[:2]
    del answers[tokens[1]]
    sent.clear()
    assert await pushes.deliver_job(batch) == {"sent": 1}
    assert sent == [tokens[1]]
    sent.clear()
    assert await pushes.deliver_job(batch) == {}, "all settled: nothing sent again"
    assert sent == []


async def _batch_of(backend: Adapters, count: int) -> tuple[DeliverPushes, list[str]]:
    """A delivery batch to ``count`` devices of one user, and their tokens."""
    from momentic_core.model.devices import PushMessage
    from momentic_core.model.jobs import PushDelivery

    uid, sid = await _owner(backend)
    tokens = [f"{n:064x}" for n in range(count)]
    async with backend.uow() as tx:
        devices = [(await tx.devices.register(_device(uid, sid, token=t)))[0] for t in tokens]
    return DeliverPushes([
        PushDelivery.of(PushMessage(device_id=d.id, platform=Platform.IOS, token=d.token,
                                    title="t", body="b",
                                    apns_environment=ApnsEnvironment.SANDBOX),
                        uid, f"moment:2026-01-05:{d.id}")
        for d in devices]), tokens


async def test_a_slow_answer_does_not_hold_back_the_rest_of_a_batch(backend: Adapters) -> None:
    """Two pushes in flight at a time: the first one's answer comes only after every
    other push of the batch went out, so the others must go through the second slot (a
    sliding window; a round of two would wait for it forever), and all are marked."""
    from adapters.memory.clock import ManualClock
    from momentic_core.model.devices import PushMessage, PushOutcome, PushResult
    from momentic_core.services.push import Pushes

    batch, tokens = await _batch_of(backend, 6)
    others_sent = asyncio.Event()
    sent: list[str] = []

    class Gateway:
        async def deliver(self, message: PushMessage) -> PushResult:
            sent.append(message.token)
            if message.token == tokens[0]:
                await others_sent.wait()
            elif len(sent) == len(tokens):
                others_sent.set()
            return PushResult(PushOutcome.SENT)

    pushes = Pushes(uow=backend.uow, clock=ManualClock(T0), gateway=Gateway(), concurrency=2)
    # The timeout only turns a regression (a hang) into a failure.
    assert await asyncio.wait_for(pushes.deliver_job(batch), 60) == {"sent": 6}
    assert sent[0] == tokens[0] and sorted(sent) == sorted(tokens)
    assert await pushes.deliver_job(batch) == {}, "every push was marked settled"


async def test_at_most_the_window_of_pushes_is_ever_sent_and_not_marked(
    backend: Adapters,
) -> None:
    """What a kill -9 of the worker can send twice: at every send, the pushes already
    sent (answered or in flight) that are not marked settled, with this one, are at most
    the concurrency. Some answers are slow, so the window slides unevenly."""
    from adapters.memory.clock import ManualClock
    from momentic_core.model.devices import PushMessage, PushOutcome, PushResult
    from momentic_core.services.push import Pushes

    batch, tokens = await _batch_of(backend, 40)
    keys = [f"sent:{m.key}" for m in batch.messages]
    started: list[str] = []
    unmarked: list[int] = []

    class Gateway:
        async def deliver(self, message: PushMessage) -> PushResult:
            async with backend.uow(read_only=True) as tx:
                marked = len(await tx.devices.claimed(keys))
            started.append(message.token)
            unmarked.append(len(started) - marked)
            for _ in range(int(message.token, 16) % 3 * 5):
                await asyncio.sleep(0)
            return PushResult(PushOutcome.SENT)

    pushes = Pushes(uow=backend.uow, clock=ManualClock(T0), gateway=Gateway(), concurrency=4)
    assert await pushes.deliver_job(batch) == {"sent": 40}
    assert sorted(started) == sorted(tokens)
    assert max(unmarked) <= 4, unmarked
    async with backend.uow(read_only=True) as tx:
        assert await tx.devices.claimed(keys) == set(keys)


async def test_the_second_reminder_goes_once_to_those_who_have_not_posted(
    backend: Adapters,
) -> None:
    """When the moment's window closes, a page of its zone: who posted for the moment,
    switched the moment off or is in quiet hours (with the moment not overriding them)
    gets nothing; the others get one reminder each, in their language, with the moment's
    collapse id, even when two workers fan the page out at once. While the setting is
    off, nothing."""
    import asyncio

    from adapters.memory.clock import ManualClock
    from momentic_core.model.jobs import DeliverPushes, PushMoment, PushReminder
    from momentic_core.model.ranking import Moment
    from momentic_core.services.push import Pushes

    moment = Moment(day=T0.date(), time_zone="Europe/Minsk", at=T0,
                    window=timedelta(minutes=2))
    clock = ManualClock(moment.window_ends_at + timedelta(seconds=1))  # 15:02 in Minsk
    poster, switched_off, quiet, ru, en = [(await _owner(backend)) for _ in range(5)]
    for n, (uid, sid) in enumerate((poster, switched_off, quiet, ru, en)):
        async with backend.uow() as tx:
            await tx.devices.register(_device(
                uid, sid, token=f"{n:02x}" * 32, locale="en-GB" if uid == en[0] else "ru"))
    await add_video(backend, poster[0], moment_at=moment.at, on_time=True)
    async with backend.uow() as tx:
        await tx.notification_settings.save(switched_off[0], NotificationSettings(
            enabled=frozenset(PushKind) - {PushKind.MOMENT}))
        await tx.notification_settings.save(quiet[0], NotificationSettings(
            quiet_start=time(14), quiet_end=time(16)))
    on = [False]

    async def reminder_on() -> bool:
        return on[0]

    pushes = Pushes(uow=backend.uow, clock=clock, gateway=None,  # type: ignore[arg-type]
                    reminder_on=reminder_on, moment_overrides_quiet_hours=False)
    ids = [u for u, _ in (poster, switched_off, quiet, ru, en)]
    page = PushReminder.of(ids, moment)
    assert (await pushes.fan_out_reminder(page)).queued == 0, "off"
    on[0] = True
    first, second = await asyncio.gather(
        pushes.fan_out_reminder(page), pushes.fan_out_reminder(page))
    assert sorted([first.queued, second.queued]) == [0, 2]
    assert (await pushes.fan_out_reminder(page)).queued == 0
    assert (await pushes.fan_out_moment(PushMoment.of(ids, moment))).queued == 3, (
        "the moment is its own")
    runner = backend.job_runner(clock)
    reminders = {}
    while (job := await runner.claim([DeliverPushes.kind], timedelta(minutes=1))) is not None:
        assert isinstance(job.message, DeliverPushes)
        for m in job.message.messages:
            if m.data["kind"] == "moment_reminder":
                reminders[m.user_id] = m
                assert job.run_at == moment.window_ends_at
                assert m.expires_at == moment.reminder_ends_at
            else:
                assert job.run_at == moment.at and m.expires_at == moment.window_ends_at
        await runner.complete(job.id, attempt=job.attempts)
    assert sorted(reminders) == sorted([ru[0], en[0]])
    assert reminders[ru[0]].title == "Ещё не поздно для Momentic"
    assert reminders[en[0]].title == "Still time to Momentic"
    assert reminders[en[0]].collapse_id == f"moment-{moment.day.isoformat()}"
