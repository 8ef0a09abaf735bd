"""Rules a review of moderation and engagement asked for: nobody judges their own case,
the BeReal lock covers every read of a locked moment's engagement, a block does not stop
authors deleting their words, held videos earn nothing, and relation changes reach the
sockets."""

from __future__ import annotations

import functools

import attrs
import pytest
from config_support import runtime_config

from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.uow import InMemoryUnitOfWork
from momentic_core.errors import Forbidden, NotFound
from momentic_core.model.accounts import Principal, Role
from momentic_core.model.events import Event, RelationChanged
from momentic_core.model.moderation import CaseFilter
from momentic_core.services.engagement import Engagement, Live, Notifier
from momentic_core.services.moderation import REPORTS_PER_DAY, Moderation
from momentic_core.services.social import Friends
from momentic_core.services.throttle import Throttle

from .ranking_support import World, make_world


def _moderation(world: World) -> Moderation:
    uow = functools.partial(InMemoryUnitOfWork, world.store, clock=world.clock)
    return Moderation(uow=uow, clock=world.clock, scorer=world.scorer, config=world.config)


def _locked_engagement(world: World) -> tuple[Engagement, Live]:
    uow = functools.partial(InMemoryUnitOfWork, world.store, clock=world.clock)
    config = runtime_config(uow, world.clock, bereal_lock=True)
    throttle = Throttle(InMemoryRateLimiter(world.clock), multiplier=1000, config=config)
    engagement = Engagement(uow=uow, clock=world.clock, throttle=throttle,
                            notifier=Notifier(), scorer=world.scorer, config=config)
    return engagement, Live(uow=uow, clock=world.clock, config=config)


async def _reported_video(world: World, owner: Principal, mod: Moderation) -> int:
    video = await world.ready_post(owner)
    for n in range(3):
        reporter = await world.add_user(f"reporter{n}")
        await mod.report(reporter, "video", video.id, "spam")
    return video.id


async def test_a_moderator_neither_sees_nor_judges_cases_about_them() -> None:
    world = make_world()
    mod = _moderation(world)
    suspect = await world.add_user("suspect", role=Role.MODERATOR)
    other = await world.add_user("other", role=Role.MODERATOR)
    await _reported_video(world, suspect, mod)
    assert await mod.cases(suspect, CaseFilter(), None, 10) == []
    [view] = await mod.cases(other, CaseFilter(), None, 10)
    with pytest.raises(NotFound):
        await mod.case(suspect, view.case.id)
    for attempt in (mod.assign(suspect, view.case.id),
                    mod.resolve(suspect, view.case.id, "dismiss", "mine")):
        with pytest.raises(Forbidden) as caught:
            await attempt
        assert caught.value.code == "own_case"


async def test_a_moderator_cannot_decide_their_own_appeal() -> None:
    world = make_world()
    mod = _moderation(world)
    author = await world.add_user("author", role=Role.MODERATOR)
    admin = await world.add_user("admin", role=Role.ADMIN)
    video_id = await _reported_video(world, author, mod)
    [view] = await mod.cases(admin, CaseFilter(), None, 10)
    await mod.resolve(admin, view.case.id, "remove", "spam")
    appeal = await mod.appeal(author, view.case.id, "it was fine")
    with pytest.raises(Forbidden) as caught:
        await mod.decide_appeal(author, appeal.id, True, "fine by me")
    assert caught.value.code == "own_case"
    assert world.store.videos[video_id].status.value == "removed"


async def test_a_moderator_cannot_remove_an_admins_content() -> None:
    world = make_world()
    mod = _moderation(world)
    admin = await world.add_user("boss", role=Role.ADMIN)
    moderator = await world.add_user("mod", role=Role.MODERATOR)
    await _reported_video(world, admin, mod)
    [view] = await mod.cases(moderator, CaseFilter(), None, 10)
    with pytest.raises(Forbidden) as caught:
        await mod.resolve(moderator, view.case.id, "remove", "no")
    assert caught.value.code == "insufficient_role"
    await mod.resolve(moderator, view.case.id, "dismiss", "fine")  # dismissing is fine


async def test_the_bereal_lock_covers_comments_reactors_and_the_live_channel() -> None:
    world = make_world()
    engagement, live = _locked_engagement(world)
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    await world.befriend(ann.user_id, bob.user_id)
    video = await world.ready_post(ann, visibility="friends")
    comment = await engagement.comment(ann, video.id, "my day")
    await engagement.react(ann, video.id, "heart")
    # bob has not posted today: the moment is locked for him everywhere.
    for attempt in (
        engagement.comments(bob, video.id, None, None, 10),
        engagement.reactors(bob, video.id, None, 10),
        engagement.comment_view(bob, comment.comment.id),
        engagement.replies(bob, comment.comment.id, None, 10),
        live.authorize(bob, f"video:{video.id}"),
    ):
        with pytest.raises(Forbidden) as caught:
            await attempt
        assert caught.value.code == "moment_locked"
    await world.ready_post(bob)  # once he posts, it opens
    assert [c.comment.body for c in await engagement.comments(bob, video.id, None, None, 10)] \
        == ["my day"]
    assert await live.authorize(bob, f"video:{video.id}") == f"video:{video.id}"


async def test_a_block_does_not_stop_either_author_deleting_a_comment() -> None:
    world = make_world()
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    video = await world.ready_post(ann)
    first = await world.engagement.comment(bob, video.id, "one")
    second = await world.engagement.comment(bob, video.id, "two")
    async with world.uow() as tx:
        await tx.social.add_block(ann.user_id, bob.user_id, world.clock.now())
    await world.engagement.delete_comment(ann, first.comment.id)  # the video's author
    await world.engagement.delete_comment(bob, second.comment.id)  # the comment's author
    assert world.store.comments == {}


async def test_unreacting_on_a_held_video_moves_no_points() -> None:
    world = make_world()
    mod = _moderation(world)
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    staff = await world.add_user("staff", role=Role.MODERATOR)
    video = await world.ready_post(ann)
    await world.engagement.react(bob, video.id, "flame")
    for n in range(3):
        await mod.report(await world.add_user(f"r{n}"), "video", video.id, "spam")
    held = world.user(ann.user_id).rating  # the hold took the video's points away
    await world.engagement.unreact(staff, video.id)  # nothing of staff's: a no-op
    await world.engagement.unreact(
        attrs.evolve(bob, role=Role.MODERATOR), video.id
    )  # (bob can no longer see it; as staff he can)
    assert world.user(ann.user_id).rating == held
    async with world.uow() as tx:
        await world.scorer.recompute(tx, [ann.user_id])
    assert world.user(ann.user_id).rating == held


async def test_blocks_and_unfriends_tell_both_sockets() -> None:
    world = make_world()
    heard: list[Event] = []
    world.store.listeners.append(heard.append)
    uow = functools.partial(InMemoryUnitOfWork, world.store, clock=world.clock)
    friends = Friends(uow=uow, clock=world.clock,
                      throttle=Throttle(InMemoryRateLimiter(world.clock), config=world.config))
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    await world.befriend(ann.user_id, bob.user_id)
    await friends.unfriend(ann, bob.user_id)
    await friends.block(ann, bob.user_id)
    changes = [(e.channel, e.other_id) for e in heard if isinstance(e, RelationChanged)]
    pair = [(f"user:{ann.user_id}", bob.user_id), (f"user:{bob.user_id}", ann.user_id)]
    assert changes == pair * 2
    live = Live(uow=uow, clock=world.clock, config=world.config)
    assert await live.blocked_ids(bob) == {ann.user_id}


async def test_staff_remove_someone_elses_content_through_a_case_only() -> None:
    """A staff DELETE of someone else's video or comment is refused (moderation_required):
    a hard delete would skip the rank rule, the audit trail, the author's notification and
    the appeal. The case does all of these; the content stays, removed and restorable."""
    world = make_world()
    mod = _moderation(world)
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    staff = await world.add_user("staff", role=Role.MODERATOR)
    boss = await world.add_user("boss", role=Role.ADMIN)
    video = await world.ready_post(ann)
    comment = await world.engagement.comment(bob, video.id, "rude")
    for actor in (staff, boss):
        for attempt in (world.videos.delete(actor, video.id),
                        world.engagement.delete_comment(actor, comment.comment.id)):
            with pytest.raises(Forbidden) as caught:
                await attempt
            assert caught.value.code == "moderation_required"
    assert video.id in world.store.videos and comment.comment.id in world.store.comments
    assert world.store.audit == {}

    # The moderation route: a report, then the case resolved with remove.
    await mod.report(staff, "video", video.id, "spam")
    [view] = await mod.cases(boss, CaseFilter(), None, 10)
    await mod.resolve(boss, view.case.id, "remove", "spam")
    assert world.store.videos[video.id].status.value == "removed"
    assert [e.action for e in world.store.audit.values()] == ["case.resolve"]
    assert [n.text for n in world.store.notifications.values()
            if n.user_id == ann.user_id and n.kind.value == "moderation"] == ["remove: spam"]
    await mod.appeal(ann, view.case.id, "it was fine")

    # Staff still delete what is theirs, and a video's author any comment on it.
    mine = await world.ready_post(staff)
    await world.videos.delete(staff, mine.id)
    await world.engagement.delete_comment(ann, comment.comment.id)
    assert mine.id not in world.store.videos and world.store.comments == {}


async def test_staff_reports_are_not_capped() -> None:
    """Staff open cases by reporting (their deletes go through cases): the daily report
    cap is for users."""
    world = make_world()
    mod = _moderation(world)
    staff = await world.add_user("staff", role=Role.MODERATOR)
    targets = [await world.add_user(f"t{n}") for n in range(REPORTS_PER_DAY + 1)]
    for target in targets:
        await mod.report(staff, "user", target.user_id, "spam")
    assert len(world.store.reports) == REPORTS_PER_DAY + 1
