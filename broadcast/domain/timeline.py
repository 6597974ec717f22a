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
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence, TypeVar

from broadcast.domain.conflicts import Conflict, Slot, conflict_between, precedence_key
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


def item_id_for(schedule_id: str, start: datetime) -> str:
    """Deterministic id: the same schedule at the same instant is the same item in every version."""
    instant = int(start.timestamp())
    return "occ-" + hashlib.sha256(f"{schedule_id}@{instant}".encode()).hexdigest()[:20]


def resolve(slots: Iterable[S]) -> tuple[list[S], list[Conflict]]:
    """(kept, sorted by start; one Conflict per dropped occurrence naming the item that beat it)."""
    starts: list[float] = []  # placed intervals, sorted by start, pairwise disjoint
    placed: list[S] = []
    dropped: list[Conflict] = []
    for slot in sorted(slots, key=precedence_key):
        s, e = slot.start.timestamp(), slot.end.timestamp()
        i = bisect_left(starts, s)
        blocker = None
        if i > 0 and placed[i - 1].end.timestamp() > s:
            blocker = placed[i - 1]
        elif i < len(placed) and starts[i] < e:
            blocker = placed[i]
        if blocker is not None:
            dropped.append(conflict_between(blocker, slot))
            continue
        starts.insert(i, s)
        placed.insert(i, slot)
    dropped.sort(key=Conflict.sort_key)
    return placed, dropped


def canonical_json(timeline: Sequence[TimelineItem]) -> bytes:
    """Canonical bytes, the same rules as protocol signing: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        [item.to_dict() for item in timeline], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def timeline_fingerprint(timeline: Sequence[TimelineItem]) -> str:
    """sha256 of the canonical JSON: publish a new version only when this changes."""
    return hashlib.sha256(canonical_json(timeline)).hexdigest()
