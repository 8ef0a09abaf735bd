"""Streaks (``policies.streaks``) and the daily moment (``policies.moments``): examples and
hypothesis properties, across time zones with DST (30-minute DST in Lord Howe, the day
Samoa skipped, Nepal's 15-minute offset) and around their transitions."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from momentic_core.model.accounts import User
from momentic_core.model.ranking import StreakState
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.policies import moments, streaks
from momentic_core.policies.moments import MomentRules
from momentic_core.services.ranking import Moments

from .server_zone import server_time_zone

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Asia/Kathmandu",
)
ONE_DAY = timedelta(days=1)


# ---------------------------------------------------------------------------- helpers


def offset(at: datetime, tz: ZoneInfo) -> timedelta:
    """The zone's UTC offset at an instant."""
    value = at.astimezone(tz).utcoffset()
    assert value is not None
    return value


@functools.cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """UTC instants (to the hour) at which the zone's offset changes, in a few years that
    hold DST changes, Samoa's skipped day (2011-12-30) and Nepal's move to +05:45 (1986)."""
    tz = ZoneInfo(zone)
    found = []
    for start in (datetime(1985, 6, 1, tzinfo=UTC), datetime(2011, 1, 1, tzinfo=UTC),
                  datetime(2020, 6, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)):
        at = start
        before = at.astimezone(tz).utcoffset()
        for _ in range(2 * 366 * 24):
            at += timedelta(hours=1)
            offset = at.astimezone(tz).utcoffset()
            if offset != before:
                found.append(at)
                before = offset
    return tuple(found)


@functools.cache
def transition_days(zone: str) -> tuple[date, ...]:
    """Local days on which the zone's offset changes (an empty tuple for UTC)."""
    tz = ZoneInfo(zone)
    days = set()
    for at in transitions(zone):
        days.add((at - timedelta(seconds=1)).astimezone(tz).date())
        days.add(at.astimezone(tz).date())
    return tuple(sorted(days))


def test_the_zones_under_test_really_change_their_offsets() -> None:
    assert transitions("UTC") == ()
    for zone in ZONES[1:]:
        assert transitions(zone), zone
    assert date(2011, 12, 29) in transition_days("Pacific/Apia")  # the day before the skip
    # Lord Howe's DST is half an hour.
    lh = ZoneInfo("Australia/Lord_Howe")
    at = transitions("Australia/Lord_Howe")[0]
    shift = offset(at, lh) - offset(at - timedelta(hours=1), lh)
    assert abs(shift) == timedelta(minutes=30)


@st.composite
def zone_and_anchor(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and a UTC instant near one of its offset changes (or a plain date)."""
    zone = draw(st.sampled_from(ZONES))
    known = transitions(zone)
    near_a_change = draw(st.booleans())
    if known and near_a_change:
        anchor = draw(st.sampled_from(known))
    else:
        anchor = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 400)))
    return zone, anchor.replace(minute=0)


@st.composite
def posting_history(draw: st.DrawFn) -> tuple[str, list[datetime]]:
    """A zone and up to 25 posting instants (UTC) around an anchor, dense enough in days
    to make runs of consecutive local days, with the odd gap and same-day repeat."""
    zone, anchor = draw(zone_and_anchor())
    day_offsets = st.integers(-8, 8)
    minutes = st.integers(0, 24 * 60 - 1)
    posts = draw(st.lists(st.tuples(day_offsets, minutes), max_size=25))
    return zone, [anchor + timedelta(days=d, minutes=m) for d, m in posts]


def local_date(at: datetime, zone: str) -> date:
    """The local calendar day of a UTC instant, through ``tzinfo.fromutc``."""
    tz = ZoneInfo(zone)
    return tz.fromutc(at.astimezone(UTC).replace(tzinfo=tz)).date()


def reference(times: list[datetime], zone: str) -> StreakState:
    """Brute force: the current streak counts consecutive local days back from the last
    posting day; the max is the longest run of consecutive days."""
    days = {local_date(t, zone) for t in times}
    if not days:
        return StreakState()
    last = max(days)
    current, day = 0, last
    while day in days:
        current += 1
        day -= ONE_DAY
    best = 0
    for first in days:
        if first - ONE_DAY in days:
            continue
        n = 0
        while first + n * ONE_DAY in days:
            n += 1
        best = max(best, n)
    return StreakState(current=current, max=best, last_day=last)


def incremental(times: list[datetime], zone: str) -> StreakState:
    """What ``Scorer.video_ready`` keeps: ``extend`` per video in processing order,
    rebuilding ``from_days`` of the videos ready so far when it answers None."""
    state = StreakState()
    ready: list[datetime] = []
    for at in times:
        ready.append(at)
        after = streaks.extend(state, streaks.local_day(at, zone))
        if after is None:
            after = streaks.from_days(streaks.local_day(t, zone) for t in ready)
        state = after
    return state


# ---------------------------------------------------------------------------- streaks


def test_consecutive_days_grow_the_streak_and_a_gap_restarts_it() -> None:
    d = date(2026, 3, 1)
    state = StreakState()
    for i in range(3):
        next_state = streaks.extend(state, d + i * ONE_DAY)
        assert next_state is not None
        state = next_state
    assert state == StreakState(3, 3, d + 2 * ONE_DAY)
    assert streaks.extend(state, d + 2 * ONE_DAY) == state  # a second post that day
    assert streaks.extend(state, d + 5 * ONE_DAY) == StreakState(1, 3, d + 5 * ONE_DAY)
    assert streaks.extend(state, d) is None  # an older day: the caller rebuilds


def test_a_berlin_night_owl_keeps_the_streak_through_the_spring_forward_night() -> None:
    # Posts at 23:30 local each night, 2026-03-27 .. 03-30 (DST starts 03-29 02:00).
    times = [
        datetime(2026, 3, 27, 22, 30, tzinfo=UTC),  # 23:30 CET
        datetime(2026, 3, 28, 22, 30, tzinfo=UTC),  # 23:30 CET
        datetime(2026, 3, 29, 21, 30, tzinfo=UTC),  # 23:30 CEST
        datetime(2026, 3, 30, 21, 30, tzinfo=UTC),
    ]
    assert incremental(times, "Europe/Berlin") == StreakState(4, 4, date(2026, 3, 30))
    # The same instants read in UTC fall on the same days; at 22:30 UTC they do not.
    assert incremental(times, "UTC").current == 4
    assert incremental(times, "Asia/Kathmandu").current == 4  # 04:15 / 03:15 next day


@st.composite
def shuffled_history(draw: st.DrawFn) -> tuple[str, list[datetime], list[datetime]]:
    """A posting history and the (random) order its videos finish processing in."""
    zone, times = draw(posting_history())
    return zone, times, draw(st.permutations(times))


@PROPERTY
@given(shuffled_history())
@example(("UTC", [datetime(2026, 1, d, 9, tzinfo=UTC) for d in (1, 2, 3, 5, 6)],
          [datetime(2026, 1, d, 9, tzinfo=UTC) for d in (6, 2, 1, 5, 3)]))
def test_the_incremental_streak_equals_the_brute_force_one(
    history: tuple[str, list[datetime], list[datetime]],
) -> None:
    zone, times, order = history
    expected = reference(times, zone)
    assert incremental(order, zone) == expected
    assert streaks.from_days(local_date(t, zone) for t in times) == expected


def test_samoa_skipped_a_day_so_the_29th_and_31st_are_not_consecutive() -> None:
    # A day that does not exist in the zone is a gap like any other (no special case).
    times = [datetime(2011, 12, 29, 20, tzinfo=UTC), datetime(2011, 12, 30, 20, tzinfo=UTC)]
    assert [local_date(t, "Pacific/Apia") for t in times] == [date(2011, 12, 29),
                                                              date(2011, 12, 31)]
    assert incremental(times, "Pacific/Apia") == StreakState(1, 1, date(2011, 12, 31))


def test_current_at_reads_a_streak_as_broken_once_its_last_day_is_before_yesterday() -> None:
    last = date(2026, 5, 10)
    state = StreakState(current=4, max=6, last_day=last)
    assert streaks.current_at(state, last) == 4
    assert streaks.current_at(state, last + ONE_DAY) == 4
    assert streaks.current_at(state, last + 2 * ONE_DAY) == 0
    assert streaks.current_at(state, last + 400 * ONE_DAY) == 0
    assert streaks.current_at(StreakState(), last) == 0


@PROPERTY
@given(posting_history(), st.integers(0, 20))
def test_current_at_agrees_with_the_brute_force_streak_as_of_any_later_day(
    history: tuple[str, list[datetime]], days_later: int
) -> None:
    zone, times = history
    state = streaks.from_days(local_date(t, zone) for t in times)
    if state.last_day is None:
        assert streaks.current_at(state, date(2026, 1, 1)) == 0
        return
    today = state.last_day + days_later * ONE_DAY
    # Brute force: posting days among today and the days before it, counted back from
    # today (or from yesterday, when today has no post yet).
    days = {local_date(t, zone) for t in times}
    day = today if today in days else today - ONE_DAY
    alive = 0
    while day in days:
        alive += 1
        day -= ONE_DAY
    assert streaks.current_at(state, today) == alive


@st.composite
def history_with_processing(draw: st.DrawFn) -> tuple[str, list[tuple[datetime, datetime]]]:
    """(created, ready) pairs: processing takes from seconds to a few days."""
    zone, times = draw(posting_history())
    delays = st.one_of(st.integers(0, 3600), st.integers(0, 4 * 24 * 3600))
    return zone, [(t, t + timedelta(seconds=draw(delays))) for t in times]


@PROPERTY
@given(history_with_processing())
@example(  # a video posted at 23:50 and processed after the midnight job broke the streak
    ("UTC", [
        (datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 3, 1, 12, 1, tzinfo=UTC)),
        (datetime(2026, 3, 2, 23, 50, tzinfo=UTC), datetime(2026, 3, 4, 0, 30, tzinfo=UTC)),
    ])
)
def test_the_streak_survives_the_daily_break_job_running_between_late_videos(
    history: tuple[str, list[tuple[datetime, datetime]]],
) -> None:
    """Videos become ready in the order they finish processing; before each, the daily
    job stores 0 for broken streaks (as ``Scorer.break_streaks`` does). The max, the last
    day and the current streak (read with ``current_at``) still match the brute force."""
    zone, posts = history
    state = StreakState()
    ready: list[datetime] = []
    for created, done in sorted(posts, key=lambda p: p[1]):
        today = streaks.local_day(done, zone)
        if streaks.current_at(state, today) == 0 and state.current:
            state = StreakState(0, state.max, state.last_day)  # the break job
        ready.append(created)
        after = streaks.extend(state, streaks.local_day(created, zone))
        if after is None:
            after = streaks.from_days(streaks.local_day(t, zone) for t in ready)
        state = after
    expected = reference([c for c, _ in posts], zone)
    assert (state.max, state.last_day) == (expected.max, expected.last_day)
    if posts:
        today = streaks.local_day(max(d for _, d in posts), zone)
        assert streaks.current_at(state, today) == streaks.current_at(expected, today)


# ---------------------------------------------------------------------------- moments

RULES = MomentRules(secret=b"moment secret")


def wall(at: datetime, zone: str) -> datetime:
    return at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def exists(naive: datetime, zone: str) -> bool:
    tz = ZoneInfo(zone)
    return wall(naive.replace(tzinfo=tz).astimezone(UTC), zone) == naive


def check_in_window(rules: MomentRules, day: date, zone: str, at: datetime) -> None:
    """``at`` is local [start_hour, end_hour) of ``day``; or, where that wall time does
    not exist (a gap), it is that time moved forward by the gap."""
    start = datetime.combine(day, time(rules.start_hour))
    end = datetime.combine(day, time()) + timedelta(hours=rules.end_hour)
    local = wall(at, zone)
    if start <= local < end:
        return
    tz = ZoneInfo(zone)
    gap = offset(at, tz) - offset(at - timedelta(hours=25), tz)
    assert gap > timedelta(0), (day, zone, local)
    intended = local - gap
    assert start <= intended < end, (day, zone, local, gap)
    assert not exists(intended, zone), (day, zone, intended)


def test_the_moment_is_deterministic() -> None:
    day = date(2026, 6, 1)
    a = moments.moment_of(RULES, day, "Europe/Berlin")
    b = moments.moment_of(MomentRules(secret=b"moment secret"), day, "Europe/Berlin")
    assert a == b
    assert (a.day, a.time_zone, a.window) == (day, "Europe/Berlin", RULES.window)
    assert a.window_ends_at == a.at + timedelta(minutes=2)
    assert a.at.tzinfo is not None and a.at.utcoffset() == timedelta(0)


def test_the_moment_differs_across_days_zones_and_secrets() -> None:
    first = date(2026, 1, 1)
    times_of_day = {
        wall(moments.moment_of(RULES, first + i * ONE_DAY, "UTC").at, "UTC").time()
        for i in range(60)
    }
    assert len(times_of_day) >= 58  # 43 200 possible seconds: a repeat or two at most
    by_zone = {
        wall(moments.moment_of(RULES, first, zone).at, zone).time() for zone in ZONES
    }
    assert len(by_zone) >= len(ZONES) - 1
    other = MomentRules(secret=b"another secret")
    differing = sum(
        moments.moment_of(RULES, first + i * ONE_DAY, "UTC")
        != moments.moment_of(other, first + i * ONE_DAY, "UTC")
        for i in range(20)
    )
    assert differing >= 19


@st.composite
def day_and_zone(draw: st.DrawFn) -> tuple[date, str]:
    zone = draw(st.sampled_from(ZONES))
    special = transition_days(zone)
    on_a_change = draw(st.booleans())
    if special and on_a_change:
        return draw(st.sampled_from(special)), zone
    return draw(st.dates(date(1990, 1, 1), date(2040, 12, 31))), zone


@st.composite
def moment_rules(draw: st.DrawFn) -> MomentRules:
    start = draw(st.integers(0, 23))
    end = draw(st.integers(start + 1, 24))
    secret = draw(st.binary(min_size=1, max_size=16))
    return MomentRules(secret=secret, start_hour=start, end_hour=end)


@PROPERTY
@given(st.one_of(st.just(RULES), moment_rules()), day_and_zone())
@example(MomentRules(secret=b"s", start_hour=2, end_hour=3), (date(2026, 3, 29), "Europe/Berlin"))
@example(MomentRules(secret=b"s", start_hour=0, end_hour=24), (date(2011, 12, 30), "Pacific/Apia"))
@example(MomentRules(secret=b"s", start_hour=2, end_hour=3),
         (date(2026, 10, 4), "Australia/Lord_Howe"))
def test_the_moment_falls_in_the_local_window_even_on_dst_days(
    rules: MomentRules, where: tuple[date, str]
) -> None:
    day, zone = where
    moment = moments.moment_of(rules, day, zone)
    assert moment == moments.moment_of(rules, day, zone)
    check_in_window(rules, day, zone, moment.at)


def test_a_moment_in_the_spring_forward_gap_moves_forward_by_the_gap() -> None:
    # Every second of 02:00-03:00 on 2026-03-29 is missing in Berlin: 02:xx becomes 03:xx.
    rules = MomentRules(secret=b"gap", start_hour=2, end_hour=3)
    moment = moments.moment_of(rules, date(2026, 3, 29), "Europe/Berlin")
    local = wall(moment.at, "Europe/Berlin")
    assert local.date() == date(2026, 3, 29) and local.hour == 3
    assert moment.at.hour == 1  # 03:xx CEST is 01:xx UTC


@pytest.mark.parametrize("hours", [(0, 1), (1, 2), (3, 5), (9, 21), (0, 24)])
def test_bad_hours_are_refused_and_good_ones_accepted(hours: tuple[int, int]) -> None:
    MomentRules(secret=b"x", start_hour=hours[0], end_hour=hours[1])
    for bad in ((-1, 5), (5, 5), (6, 5), (0, 25)):
        with pytest.raises(ValueError, match="moment hours"):
            MomentRules(secret=b"x", start_hour=bad[0], end_hour=bad[1])


@PROPERTY
@given(day_and_zone(), st.integers(0, 119_999_999))
def test_a_post_inside_the_window_is_on_time(where: tuple[date, str], micros: int) -> None:
    day, zone = where
    moment = moments.moment_of(RULES, day, zone)
    created = moment.at + timedelta(microseconds=micros)  # < 2 minutes after it
    assert moments.punctuality(RULES, created, zone) == (moment.at, True)
    assert moments.late_by_seconds(moment.at, True, created) is None


@PROPERTY
@given(day_and_zone(), st.integers(0, 30 * 3600))
def test_a_post_after_the_window_is_late_by_the_seconds_since_the_moment(
    where: tuple[date, str], seconds: int
) -> None:
    day, zone = where
    moment = moments.moment_of(RULES, day, zone)
    created = moment.window_ends_at + timedelta(seconds=seconds)
    # The next moment: tomorrow's (or the day after's, when tomorrow was skipped).
    following = min(moments.moment_of(RULES, day + n * ONE_DAY, zone).at for n in (1, 2))
    if created >= following:
        return  # it answers that one then
    moment_at, on_time = moments.punctuality(RULES, created, zone)
    assert (moment_at, on_time) == (moment.at, False)
    assert moments.late_by_seconds(moment_at, on_time, created) == 120 + seconds


@PROPERTY
@given(day_and_zone(), st.integers(1, 24 * 3600))
def test_a_post_before_todays_moment_answers_yesterdays(
    where: tuple[date, str], seconds: int
) -> None:
    day, zone = where
    moment = moments.moment_of(RULES, day, zone)
    created = moment.at - timedelta(seconds=seconds)
    if streaks.local_day(created, zone) != day:
        return  # that is yesterday already
    yesterday = moments.moment_of(RULES, day - ONE_DAY, zone)
    if yesterday.at > created:  # yesterday was skipped (Samoa): its moment moved on
        yesterday = moments.moment_of(RULES, day - 2 * ONE_DAY, zone)
    moment_at, on_time = moments.punctuality(RULES, created, zone)
    assert (moment_at, on_time) == (yesterday.at, False)
    assert moments.late_by_seconds(moment_at, on_time, created) == int(
        (created - yesterday.at).total_seconds()
    )


def test_the_day_samoa_skipped_never_answers_a_post_made_before_its_moment() -> None:
    # 2011-12-30 did not exist in Apia: its moment is moved a whole day forward, onto the
    # 31st. A post on the 31st before both moments answers the 29th's moment.
    zone = "Pacific/Apia"
    skipped = moments.moment_of(RULES, date(2011, 12, 30), zone)
    assert wall(skipped.at, zone).date() == date(2011, 12, 31)
    first = min(skipped.at, moments.moment_of(RULES, date(2011, 12, 31), zone).at)
    created = first - timedelta(seconds=1)
    assert streaks.local_day(created, zone) == date(2011, 12, 31)
    answered = moments.moment_before(RULES, created, zone)
    assert answered.at <= created
    assert answered.day == date(2011, 12, 29)


def test_the_window_edges() -> None:
    moment = moments.moment_of(RULES, date(2026, 7, 1), "America/New_York")
    end = moment.window_ends_at
    assert moments.punctuality(RULES, moment.at, "America/New_York") == (moment.at, True)
    assert moments.punctuality(RULES, end - timedelta(microseconds=1), "America/New_York")[1]
    assert moments.punctuality(RULES, end, "America/New_York") == (moment.at, False)
    assert moments.late_by_seconds(moment.at, False, end) == 120
    assert moments.late_by_seconds(None, False, end) is None


@pytest.mark.parametrize("zone", ZONES)
def test_the_reminder_is_good_until_the_day_ends_before_the_next_moment(zone: str) -> None:
    """The second reminder's time (``Moment.reminder_ends_at``): the end of the moment's
    local day, so before the next day's moment; at least a window after its window."""
    tz = ZoneInfo(zone)
    for day in (date(2026, 3, 29), date(2026, 7, 1), date(2026, 11, 1)):
        moment = moments.moment_of(RULES, day, zone)
        ends = moment.reminder_ends_at
        assert ends.astimezone(tz).time() == time(0)
        assert ends.astimezone(tz).date() == day + ONE_DAY
        assert moment.window_ends_at < ends <= moments.moment_of(RULES, day + ONE_DAY, zone).at
    late = MomentRules(secret=RULES.secret, start_hour=23, end_hour=24)
    moment = attrs.evolve(moments.moment_of(late, date(2026, 7, 1), "UTC"),
                          at=datetime(2026, 7, 1, 23, 59, tzinfo=UTC))
    assert moment.reminder_ends_at == datetime(2026, 7, 2, 0, 3, tzinfo=UTC), (
        "a moment just before midnight: a window after the window")
    odd = attrs.evolve(moment, time_zone="Mars/Olympus")
    assert odd.reminder_ends_at == datetime(2026, 7, 2, 0, 3, tzinfo=UTC), "read as UTC"


def test_moments_stamp_a_new_post_in_its_authors_zone() -> None:
    zone = "Australia/Lord_Howe"
    moment = moments.moment_of(RULES, date(2026, 10, 4), zone)
    user = User(id=1, email="a@example.com", nickname="ann",
                created_at=datetime(2026, 1, 1, tzinfo=UTC), time_zone=zone)
    video = Video(id=0, author_id=1, description="", visibility=Visibility.PUBLIC,
                  status=VideoStatus.PROCESSING, created_at=moment.at + timedelta(seconds=30),
                  updated_at=moment.at)
    stamped = Moments(RULES).stamp(video, user)
    assert (stamped.moment_at, stamped.on_time) == (moment.at, True)
    late = Moments(RULES).stamp(
        attrs.evolve(video, created_at=moment.at + timedelta(minutes=5)), user
    )
    assert (late.moment_at, late.on_time) == (moment.at, False)


@pytest.mark.parametrize(
    ("day", "zone", "at"),
    [
        # 09:00 local plus HMAC-SHA256(secret, "day|zone") mod 12 h: for Minsk on
        # 2026-03-10, 24 732 s, so 15:52:12 local (UTC+3).
        (date(2026, 3, 10), "Europe/Minsk", datetime(2026, 3, 10, 12, 52, 12, tzinfo=UTC)),
        (date(2026, 7, 4), "America/New_York", datetime(2026, 7, 4, 19, 38, 19, tzinfo=UTC)),
        (date(2026, 12, 31), "UTC", datetime(2026, 12, 31, 14, 8, 7, tzinfo=UTC)),
    ],
)
def test_the_moment_of_a_day_is_the_same_in_every_release(
    day: date, zone: str, at: datetime
) -> None:
    # Every instance must agree, an old one and a new one during a rolling deploy too,
    # and stamped posts keep the moment they answered: the draw may not change silently.
    assert moments.moment_of(RULES, day, zone).at == at


def test_moments_spread_over_the_whole_window_in_every_zone() -> None:
    # Determinism and the window are not enough: a moment stuck at 09:00 every day has
    # both. Over four years of days in each zone (no DST change falls in 09-21), each of
    # the twelve hours gets its share, and the earliest and latest moments come within
    # minutes of the window's ends.
    days = [date(2024, 1, 1) + n * ONE_DAY for n in range(4 * 365)]
    for zone in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"):
        seconds = []
        for day in days:
            local = wall(moments.moment_of(RULES, day, zone).at, zone)
            seconds.append((local - datetime.combine(day, time(9))).total_seconds())
        assert all(0 <= s < 12 * 3600 for s in seconds), zone
        assert all(s == int(s) for s in seconds), zone  # whole seconds
        per_hour = [sum(1 for s in seconds if h * 3600 <= s < (h + 1) * 3600) for h in range(12)]
        share = len(days) / 12  # about 122
        assert all(0.6 * share < n < 1.4 * share for n in per_hour), (zone, per_hour)
        assert min(seconds) < 600 and max(seconds) > 12 * 3600 - 600, zone
        assert len(set(seconds)) > 0.95 * len(days), zone


def test_a_one_hour_window_is_never_overrun() -> None:
    # With a one-hour window, a moment drawn one second too wide would land at 10:00:00
    # on about one day in 3 600; 30 years of days in two zones would show it.
    rules = MomentRules(secret=b"narrow", start_hour=9, end_hour=10)
    first = date(2000, 1, 1)
    for zone in ("UTC", "Asia/Tokyo"):
        latest = max(
            wall(moments.moment_of(rules, first + n * ONE_DAY, zone).at, zone).time()
            for n in range(30 * 365)
        )
        assert time(9, 59, 0) <= latest < time(10), zone


def test_moments_are_in_utc_whatever_the_servers_own_zone() -> None:
    with server_time_zone("JST-9"):
        moment = moments.moment_of(RULES, date(2026, 6, 1), "Europe/Berlin")
        assert moment.at.utcoffset() == timedelta(0)
        assert moment.at.tzinfo is UTC
