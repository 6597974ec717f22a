"""Recurrence expansion checked against python-dateutil over seeded random rules, plus parsing and validation."""
from __future__ import annotations

import random
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as du

from broadcast.domain.errors import InvalidInput
from broadcast.domain.recurrence import MAX_OCCURRENCES, Freq, RRule, Timing, parse_rrule

ZONES = ["Asia/Ho_Chi_Minh", "UTC", "Europe/Berlin", "America/New_York"]
DU_DAYS = [du.MO, du.TU, du.WE, du.TH, du.FR, du.SA, du.SU]
CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def _random_case(rng: random.Random) -> dict:
    tz = rng.choice(ZONES)
    zone = ZoneInfo(tz)
    freq = rng.choice(["DAILY", "WEEKLY"])
    interval = rng.choice([1, 1, 1, 2, 3, 4, 7, 10])
    byday = sorted(rng.sample(range(7), rng.randint(0, 7))) if rng.random() < 0.7 else []
    wkst = rng.randrange(7) if rng.random() < 0.3 else 0
    # Hours 5..21 keep clear of DST gaps (02:00-03:00) in the DST zones, like real broadcast hours.
    dtstart = datetime(2025, 1, 1, rng.randint(5, 21), rng.choice([0, 15, 30, 45]), rng.choice([0, 0, 30])) + timedelta(
        days=rng.randint(0, 700)
    )
    if freq == "DAILY" and interval % 7 == 0 and byday and dtstart.weekday() not in byday:
        # A rule that can never match makes dateutil walk to year 9999; it is covered by the validation test.
        byday.append(dtstart.weekday())
        byday.sort()
    parts = [f"FREQ={freq}"]
    if interval != 1 or rng.random() < 0.2:
        parts.append(f"INTERVAL={interval}")
    if byday:
        parts.append("BYDAY=" + ",".join(CODES[d] for d in byday))
    if wkst or rng.random() < 0.1:
        parts.append(f"WKST={CODES[wkst]}")
    bound = rng.choice(["count", "until_date", "until_utc", "until_local", "validity"])
    du_kwargs: dict = {}
    valid_until = None
    if bound == "count":
        count = rng.randint(1, 60)
        parts.append(f"COUNT={count}")
        du_kwargs["count"] = count
    elif bound == "until_date":
        until_day = dtstart.date() + timedelta(days=rng.randint(-3, 300))
        parts.append(f"UNTIL={until_day:%Y%m%d}")
        du_kwargs["until"] = datetime.combine(until_day, time(23, 59, 59), tzinfo=zone)
    elif bound == "until_utc":
        until = (dtstart + timedelta(days=rng.randint(0, 300), minutes=rng.choice([-1, 0, 1]))).replace(tzinfo=zone)
        until_utc = until.astimezone(UTC)
        parts.append(f"UNTIL={until_utc:%Y%m%dT%H%M%SZ}")
        du_kwargs["until"] = until_utc.astimezone(zone)
    elif bound == "until_local":
        until = dtstart + timedelta(days=rng.randint(0, 300), seconds=rng.choice([-1, 0, 1]))
        parts.append(f"UNTIL={until:%Y%m%dT%H%M%S}")
        du_kwargs["until"] = until.replace(tzinfo=zone)
    else:
        valid_until = (dtstart + timedelta(days=rng.randint(1, 300))).replace(tzinfo=zone)
        du_kwargs["until"] = valid_until - timedelta(seconds=1)
    valid_from = None
    if rng.random() < 0.3:
        valid_from = (dtstart + timedelta(days=rng.randint(-5, 60), hours=rng.randint(0, 23))).replace(tzinfo=zone)
        if valid_until is not None and valid_from >= valid_until:
            valid_from = None
    reference = du.rruleset()
    reference.rrule(
        du.rrule(
            du.DAILY if freq == "DAILY" else du.WEEKLY,
            dtstart=dtstart.replace(tzinfo=zone),
            interval=interval,
            byweekday=[DU_DAYS[d] for d in byday] or None,
            wkst=wkst,
            **du_kwargs,
        )
    )
    all_ref = list(reference)
    exdates = rng.sample(all_ref, min(len(all_ref), rng.randint(0, 3))) if all_ref else []
    for ex in exdates:
        reference.exdate(ex)
    return {
        "tz": tz,
        "text": ";".join(parts),
        "dtstart": dtstart,
        "exdates": [ex.replace(tzinfo=None) for ex in exdates],
        "valid_from": valid_from,
        "valid_until": valid_until,
        "reference": list(reference),
    }


def _stamp(values) -> list[tuple[float, tuple]]:
    return [(v.timestamp(), (v.year, v.month, v.day, v.hour, v.minute, v.second)) for v in values]


@pytest.mark.parametrize("seed", range(8))
def test_expansion_matches_dateutil_over_random_rules(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        case = _random_case(rng)
        timing = Timing.recurring(
            case["dtstart"], case["text"], case["tz"], case["exdates"], case["valid_from"], case["valid_until"]
        )
        lo = case["valid_from"]
        expected = [d for d in case["reference"] if lo is None or d >= lo]
        assert _stamp(timing.occurrences()) == _stamp(expected), case["text"]
        # A random window inside: the jump must land on exactly the same slice.
        a = case["dtstart"].replace(tzinfo=ZoneInfo(case["tz"])) + timedelta(hours=rng.randint(-48, 24 * 200))
        b = a + timedelta(hours=rng.randint(0, 24 * 40))
        in_window = [d for d in expected if a <= d < b]
        assert _stamp(timing.occurrences(a, b)) == _stamp(in_window), (case["text"], a, b)


def test_window_far_from_dtstart_jumps_instead_of_walking() -> None:
    daily = Timing.recurring(datetime(2000, 1, 1, 6), "FREQ=DAILY;BYDAY=MO,TH;UNTIL=90000101")
    weekly = Timing.recurring(datetime(2000, 1, 1, 6), "FREQ=WEEKLY;INTERVAL=3;BYDAY=SA,SU;UNTIL=90000101")
    a = datetime(8000, 6, 1, tzinfo=UTC)
    began = clock.perf_counter()
    for _ in range(300):
        got_daily = list(daily.occurrences(a, a + timedelta(days=7)))
        got_weekly = list(weekly.occurrences(a, a + timedelta(days=21)))
    elapsed = clock.perf_counter() - began
    assert [d.weekday() for d in got_daily] == sorted(d.weekday() for d in got_daily) or len(got_daily) == 2
    assert {d.weekday() for d in got_daily} == {0, 3} and len(got_daily) == 2
    assert {d.weekday() for d in got_weekly} == {5, 6} and len(got_weekly) == 2
    # Walking ~2.2 million days per call would take seconds per call; the jump takes microseconds.
    assert elapsed < 1.0


def test_parse_round_trip_and_defaults() -> None:
    rule = parse_rrule("RRULE:freq=weekly;byday=fr,mo;interval=2;until=20261231T170000Z")
    assert rule.freq is Freq.WEEKLY and rule.interval == 2 and rule.byday == frozenset({0, 4})
    assert rule.until == datetime(2026, 12, 31, 17, tzinfo=UTC)
    assert rule.to_string() == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;UNTIL=20261231T170000Z"
    assert parse_rrule(rule.to_string()) == rule
    assert parse_rrule("FREQ=DAILY;COUNT=3;").to_string() == "FREQ=DAILY;COUNT=3"
    assert parse_rrule("FREQ=DAILY;UNTIL=20260105").until == date(2026, 1, 5)


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=1", "recurrence.unsupported", "MONTHLY"),
        ("FREQ=YEARLY", "recurrence.unsupported", "YEARLY"),
        ("FREQ=DAILY;BYHOUR=6,17", "recurrence.unsupported", "BYHOUR"),
        ("FREQ=WEEKLY;BYSETPOS=1;BYDAY=MO", "recurrence.unsupported", "BYSETPOS"),
        ("FREQ=WEEKLY;BYDAY=1MO", "recurrence.unsupported", "1MO"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20260101", "recurrence.invalid", "COUNT"),
        ("FREQ=DAILY;INTERVAL=0", "recurrence.invalid", "INTERVAL"),
        ("FREQ=DAILY;COUNT=-1", "recurrence.invalid", "COUNT"),
        ("FREQ=DAILY;UNTIL=20260231", "recurrence.invalid", "UNTIL"),
        ("FREQ=DAILY;FREQ=WEEKLY", "recurrence.invalid", "FREQ"),
        ("INTERVAL=2", "recurrence.invalid", "FREQ"),
        ("FREQ=WEEKLY;BYDAY=XX", "recurrence.invalid", "XX"),
        ("FREQ=DAILY;FOO=1", "recurrence.invalid", "FOO"),
        ("", "recurrence.invalid", "trống"),
    ],
)
def test_parse_refuses_with_clear_code(text: str, code: str, needle: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_rrule(text)
    assert info.value.code == code
    assert needle in info.value.message


NOW = datetime(2026, 3, 1, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def _code(timing: Timing) -> str | None:
    try:
        timing.validate(NOW)
    except InvalidInput as exc:
        return exc.code
    return None


def test_validate_once() -> None:
    assert _code(Timing.once(datetime(2026, 3, 1, 9, 0))) is None
    assert _code(Timing.once(datetime(2026, 3, 1, 7, 59))) == "timing.start_in_past"
    # An aware start is converted to the zone's wall clock: 00:30 UTC is 07:30 in Hanoi, before NOW.
    assert _code(Timing.once(datetime(2026, 3, 1, 0, 30, tzinfo=UTC))) == "timing.start_in_past"


def test_validate_recurring_bounds_and_cap() -> None:
    start = datetime(2026, 3, 2, 6, 0)
    assert _code(Timing.recurring(start, "FREQ=DAILY")) == "recurrence.unbounded"
    assert _code(Timing.recurring(start, "FREQ=DAILY", valid_until=datetime(2027, 3, 2))) is None
    assert _code(Timing.recurring(start, f"FREQ=DAILY;COUNT={MAX_OCCURRENCES}")) is None
    assert _code(Timing.recurring(start, f"FREQ=DAILY;COUNT={MAX_OCCURRENCES + 1}")) == "recurrence.too_many"
    assert _code(Timing.recurring(start, "FREQ=DAILY;UNTIL=20500101")) == "recurrence.too_many"
    # Every other day, only Mondays: INTERVAL=7 from a Monday never lands on a Tuesday.
    assert _code(Timing.recurring(start, "FREQ=DAILY;INTERVAL=7;BYDAY=TU;COUNT=5")) == "recurrence.empty"
    both_excluded = Timing.recurring(start, "FREQ=DAILY;COUNT=2", exdates={start, start + timedelta(days=1)})
    assert _code(both_excluded) == "recurrence.empty"
    ended = Timing.recurring(datetime(2026, 1, 1, 6), "FREQ=DAILY;UNTIL=20260215")
    assert _code(ended) == "recurrence.empty"
    with pytest.raises(InvalidInput) as info:
        Timing.recurring(start, "FREQ=DAILY;COUNT=3", valid_from=datetime(2026, 5, 1), valid_until=datetime(2026, 4, 1))
    assert info.value.code == "timing.invalid_validity"


def test_validity_clips_but_count_is_from_dtstart() -> None:
    timing = Timing.recurring(
        datetime(2026, 3, 2, 6, 0), "FREQ=DAILY;COUNT=10", valid_from=datetime(2026, 3, 5),
        valid_until=datetime(2026, 3, 8),
    )
    assert [d.day for d in timing.occurrences()] == [5, 6, 7]


def test_rrule_refuses_bad_values_directly() -> None:
    with pytest.raises(InvalidInput):
        RRule(Freq.DAILY, interval=0)
    with pytest.raises(InvalidInput):
        RRule(Freq.WEEKLY, byday=frozenset({7}))
