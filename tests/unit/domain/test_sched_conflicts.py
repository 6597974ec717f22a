"""Precedence, overlap detection and the drop-the-loser timeline resolution."""
from __future__ import annotations

import hashlib
import itertools
import json
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcast.domain.conflicts import (
    Decision,
    Occurrence,
    decide,
    detect_conflicts,
    find_overlaps,
    overlaps,
    precedence_key,
)
from broadcast.domain.priority import Priority
from broadcast.domain.timeline import TimelineItem, canonical_json, item_id_for, resolve, timeline_fingerprint

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=HCM)


def occ(sid: str, minute: int, length: int, priority: Priority = Priority.NORMAL, rank: int = 0) -> Occurrence:
    start = T0 + timedelta(minutes=minute)
    return Occurrence(sid, start, start + timedelta(minutes=length), priority, rank)


def test_priority_order_and_parse() -> None:
    assert Priority.EMERGENCY > Priority.PRIORITY > Priority.NORMAL
    assert max([Priority.NORMAL, Priority.EMERGENCY, Priority.PRIORITY]) is Priority.EMERGENCY
    assert Priority.parse("priority") is Priority.PRIORITY
    with pytest.raises(Exception) as info:
        Priority.parse("urgent")
    assert info.value.code == "priority.invalid"


@pytest.mark.parametrize(
    ("a", "b", "winner", "decision"),
    [
        (occ("a", 0, 10), occ("b", 5, 10, Priority.PRIORITY), "b", Decision.PRIORITY),
        (occ("a", 5, 10, Priority.EMERGENCY), occ("b", 0, 30, Priority.PRIORITY), "a", Decision.PRIORITY),
        (occ("a", 0, 10, rank=2), occ("b", 5, 10, rank=1), "b", Decision.RANK),
        (occ("a", 5, 10), occ("b", 0, 10), "b", Decision.EARLIER_START),
        (occ("b", 0, 10), occ("a", 0, 20), "a", Decision.TIE),
    ],
)
def test_decide(a: Occurrence, b: Occurrence, winner: str, decision: Decision) -> None:
    won, lost, how = decide(a, b)
    assert won.schedule_id == winner and how is decision
    assert decide(b, a)[0] is won  # symmetric


def test_detect_conflicts_groups_devices_and_flags_decisions() -> None:
    shared = (occ("commune-news", 0, 15), occ("province-law", 10, 10, Priority.PRIORITY), occ("music", 30, 5))
    other = (occ("commune-news", 0, 15), occ("weather", 5, 5))
    conflicts = detect_conflicts({"d1": shared, "d2": shared, "d3": other, "d4": (occ("music", 30, 5),)})
    assert [(c.winner_schedule_id, c.loser_schedule_id, c.devices, c.decided_by) for c in conflicts] == [
        ("province-law", "commune-news", ("d1", "d2"), Decision.PRIORITY),  # sorted by the loser's start
        ("commune-news", "weather", ("d3",), Decision.EARLIER_START),
    ]
    assert conflicts[1].needs_decision and not conflicts[0].needs_decision
    assert conflicts[1].suggested_start == T0 + timedelta(minutes=15)
    assert "trùng với lịch commune-news" in conflicts[1].message and "quyết định thứ tự" in conflicts[1].message


def test_touching_items_do_not_overlap() -> None:
    assert not overlaps(occ("a", 0, 10), occ("b", 10, 10))
    assert find_overlaps([occ("a", 0, 10), occ("b", 10, 10)]) == []


def _brute_resolve(slots: list[Occurrence]) -> list[Occurrence]:
    kept: list[Occurrence] = []
    for slot in sorted(slots, key=precedence_key):
        if not any(overlaps(slot, k) for k in kept):
            kept.append(slot)
    return sorted(kept, key=lambda s: s.start)


@pytest.mark.parametrize("seed", range(5))
def test_resolve_matches_brute_force_and_never_lets_lower_class_win(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        slots = [
            occ(f"s{i}", rng.randint(0, 300), rng.randint(1, 60), rng.choice(list(Priority)), rng.randint(0, 3))
            for i in range(rng.randint(0, 25))
        ]
        kept, dropped = resolve(slots)
        assert kept == _brute_resolve(slots)
        assert all(a.end <= b.start for a, b in itertools.pairwise(kept))
        assert len(kept) + len(dropped) == len(slots)
        for c in dropped:
            assert c.winner_start < c.loser_end and c.loser_start < c.winner_end
            winner = next(k for k in kept if k.schedule_id == c.winner_schedule_id)
            loser = next(s for s in slots if s.schedule_id == c.loser_schedule_id)
            assert winner.priority >= loser.priority


def test_fingerprint_tracks_content_and_item_ids_are_stable() -> None:
    start = T0
    item = TimelineItem(item_id_for("s1", start), start, start + timedelta(minutes=5), Priority.NORMAL, 80, "s1", "p1")
    assert item.item_id == item_id_for("s1", start.astimezone(ZoneInfo("UTC")))
    assert item.item_id != item_id_for("s1", start + timedelta(days=1))
    assert item.to_dict()["start"] == "2026-03-02T06:00:00+07:00"
    louder = TimelineItem(item.item_id, item.start, item.end, item.priority, 90, "s1", "p1")
    assert timeline_fingerprint((item,)) == timeline_fingerprint((item,))
    assert timeline_fingerprint((item,)) != timeline_fingerprint((louder,))
    assert timeline_fingerprint(()) != timeline_fingerprint((item,))
    later = TimelineItem("occ-x", start + timedelta(hours=1), start + timedelta(hours=2), Priority.EMERGENCY, 100, "s2",
                         "Luật \"Hòa giải\" số 3")
    expected = json.dumps([i.to_dict() for i in (item, later)], sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)
    assert canonical_json((item, later)) == expected.encode()
    assert timeline_fingerprint((item, later)) == hashlib.sha256(expected.encode()).hexdigest()
