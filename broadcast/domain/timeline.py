"""A device's timeline: items that never overlap, built from competing occurrences.

Decision: an occurrence that overlaps one with higher precedence is dropped whole, never truncated. A cut
bulletin is worse than a missing one (the listener hears half a sentence), and a drop is easy to report and
to fix by shifting the schedule. Items are placed in precedence order (see conflicts.precedence_key), so a
lower class can never push out a higher one, and an item dropped for a winner frees nothing it did not hold.
"""
from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from broadcast.domain.conflicts import ScheduleConflict, Slot, conflict_between, precedence_key
from broadcast.domain.priority import Priority

S = TypeVar("S", bound=Slot)


@dataclass(frozen=True, slots=True)
class TimelineItem:
    item_id: str
    start: datetime
    end: datetime
    priority: Priority
    volume: int
    schedule_id: str
    programme_id: str
    rank: int = 0
    start_ts: float = field(init=False, repr=False, compare=False)
    end_ts: float = field(init=False, repr=False, compare=False)
    # Canonical JSON of this item, made once: one item appears in the timelines of many groups.
    _json: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_ts", self.start.timestamp())
        object.__setattr__(self, "end_ts", self.end.timestamp())
        object.__setattr__(self, "_json", self._canonical())

    def to_dict(self) -> dict[str, object]:
        """Protocol v1 fields (RFC 3339, second precision, local offset) plus the schedule and programme ids."""
        return {
            "item_id": self.item_id,
            "start": self.start.isoformat(timespec="seconds"),
            "end": self.end.isoformat(timespec="seconds"),
            "priority": self.priority.value,
            "volume": self.volume,
            "schedule_id": self.schedule_id,
            "programme_id": self.programme_id,
        }

    def canonical_bytes(self) -> bytes:
        return self._json


    def _canonical(self) -> bytes:
        """json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False), written out
        by hand because it runs for every expanded occurrence (a test checks the two agree)."""
        return (
            f'{{"end":"{self.end.isoformat(timespec="seconds")}","item_id":{_string(self.item_id)},'
            f'"priority":"{self.priority.value}","programme_id":{_string(self.programme_id)},'
            f'"schedule_id":{_string(self.schedule_id)},"start":"{self.start.isoformat(timespec="seconds")}",'
            f'"volume":{int(self.volume)}}}'
        ).encode()


_string = json.encoder.encode_basestring  # JSON string literal, non-ASCII kept (ensure_ascii=False)


def item_id_for(schedule_id: str, start: datetime | float) -> str:
    """Deterministic id: the same schedule at the same instant is the same item in every version."""
    instant = int(start if isinstance(start, (int, float)) else start.timestamp())
    return "occ-" + hashlib.sha256(f"{schedule_id}@{instant}".encode()).hexdigest()[:20]


def resolve(slots: Iterable[S]) -> tuple[list[S], list[ScheduleConflict]]:
    """(kept, sorted by start; one ScheduleConflict per dropped occurrence naming the item that beat it)."""
    starts: list[float] = []  # placed intervals, sorted by start, pairwise disjoint
    placed: list[S] = []
    dropped: list[ScheduleConflict] = []
    for slot in sorted(slots, key=precedence_key):
        s, e = slot.start_ts, slot.end_ts
        i = bisect_left(starts, s)
        blocker = None
        if i > 0 and placed[i - 1].end_ts > s:
            blocker = placed[i - 1]
        elif i < len(placed) and starts[i] < e:
            blocker = placed[i]
        if blocker is not None:
            dropped.append(conflict_between(blocker, slot))
            continue
        starts.insert(i, s)
        placed.insert(i, slot)
    dropped.sort(key=ScheduleConflict.sort_key)
    return placed, dropped


def canonical_json(timeline: Sequence[TimelineItem]) -> bytes:
    """Canonical bytes, the same rules as protocol signing: sorted keys, no spaces, UTF-8.

    Equal to json.dumps([item.to_dict() ...], sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    assembled from each item's cached bytes.
    """
    return b"[" + b",".join(item.canonical_bytes() for item in timeline) + b"]"


def timeline_fingerprint(timeline: Sequence[TimelineItem]) -> str:
    """sha256 of the canonical JSON: publish a new version only when this changes."""
    return hashlib.sha256(canonical_json(timeline)).hexdigest()
