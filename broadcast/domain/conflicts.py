"""Overlaps between scheduled occurrences on shared devices, and who wins.

Precedence (decision): higher class first (emergency > priority > normal); within a class the lower `rank`
(the approver's explicit order) wins; if the ranks are equal the occurrence that starts first keeps its slot
and the other is the one to shift or drop; the schedule id breaks an exact tie so results are deterministic.
A conflict decided only by start time or id is flagged `needs_decision`: Circular 39/2020 lets a commune user
choose the order inside a class, and the report suggests the shifted start (the winner's end) as an option.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from broadcast.domain.priority import Priority


class Slot(Protocol):
    @property
    def schedule_id(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def priority(self) -> Priority: ...
    @property
    def rank(self) -> int: ...
    @property
    def start_ts(self) -> float: ...  # start.timestamp(), cached: comparisons run in hot loops
    @property
    def end_ts(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One playing of a schedule: [start, end), aware datetimes."""

    schedule_id: str
    start: datetime
    end: datetime
    priority: Priority = Priority.NORMAL
    rank: int = 0
    start_ts: float = field(init=False, repr=False, compare=False)
    end_ts: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_ts", self.start.timestamp())
        object.__setattr__(self, "end_ts", self.end.timestamp())


class Decision(StrEnum):
    PRIORITY = "priority"
    RANK = "rank"
    EARLIER_START = "earlier_start"
    TIE = "tie"


def precedence_key(slot: Slot) -> tuple[int, int, float, str]:
    """Sort key: smaller plays; see the module docstring for the order."""
    return (-slot.priority.level, slot.rank, slot.start_ts, slot.schedule_id)


def decide(a: Slot, b: Slot) -> tuple[Slot, Slot, Decision]:
    """(winner, loser, what decided it) for two overlapping occurrences."""
    winner, loser = (a, b) if precedence_key(a) <= precedence_key(b) else (b, a)
    if winner.priority != loser.priority:
        return winner, loser, Decision.PRIORITY
    if winner.rank != loser.rank:
        return winner, loser, Decision.RANK
    if winner.start != loser.start:
        return winner, loser, Decision.EARLIER_START
    return winner, loser, Decision.TIE


def overlaps(a: Slot, b: Slot) -> bool:
    return a.start_ts < b.end_ts and b.start_ts < a.end_ts


@dataclass(frozen=True, slots=True)
class ScheduleConflict:
    winner_schedule_id: str
    winner_start: datetime
    winner_end: datetime
    loser_schedule_id: str
    loser_start: datetime
    loser_end: datetime
    decided_by: Decision
    devices: tuple[str, ...] = ()

    @property
    def needs_decision(self) -> bool:
        return self.decided_by in (Decision.EARLIER_START, Decision.TIE)

    @property
    def suggested_start(self) -> datetime:
        """Where the loser could be shifted to: right after the winner ends."""
        return self.winner_end

    @property
    def message(self) -> str:
        why = {
            Decision.PRIORITY: "lịch có mức ưu tiên cao hơn được phát",
            Decision.RANK: "lịch được xếp thứ tự trước được phát",
            Decision.EARLIER_START: "cùng mức ưu tiên, lịch bắt đầu trước được giữ; cần cán bộ xã quyết định thứ tự",
            Decision.TIE: "cùng mức ưu tiên và cùng giờ; cần cán bộ xã quyết định thứ tự",
        }[self.decided_by]
        return (
            f"Lịch {self.loser_schedule_id} ({self.loser_start:%H:%M}–{self.loser_end:%H:%M} ngày "
            f"{self.loser_start:%d/%m/%Y}) trùng với lịch {self.winner_schedule_id} "
            f"({self.winner_start:%H:%M}–{self.winner_end:%H:%M}) trên {len(self.devices)} cụm loa: {why}"
        )

    def sort_key(self) -> tuple[float, str, float, str]:
        return (self.loser_start.timestamp(), self.loser_schedule_id, self.winner_start.timestamp(),
                self.winner_schedule_id)


def conflict_between(a: Slot, b: Slot, devices: tuple[str, ...] = ()) -> ScheduleConflict:
    winner, loser, decided_by = decide(a, b)
    return ScheduleConflict(
        winner.schedule_id, winner.start, winner.end, loser.schedule_id, loser.start, loser.end, decided_by, devices
    )


def find_overlaps(slots: Iterable[Slot]) -> list[tuple[Slot, Slot]]:
    """All overlapping pairs in one device's occurrences (sweep by start, O(n log n + pairs))."""
    ordered = sorted(slots, key=lambda s: (s.start_ts, s.schedule_id))
    pairs: list[tuple[Slot, Slot]] = []
    active: list[Slot] = []
    for slot in ordered:
        active = [a for a in active if a.end_ts > slot.start_ts]
        pairs.extend((a, slot) for a in active if a.schedule_id != slot.schedule_id or a.start_ts != slot.start_ts)
        active.append(slot)
    return pairs


def detect_conflicts(device_occurrences: Mapping[str, Sequence[Slot]]) -> list[ScheduleConflict]:
    """Overlaps on shared devices, one record per pair of occurrences with every device it affects.

    Devices given the very same sequence object (a shared group timeline) are swept once.
    """
    by_sequence: dict[int, tuple[Sequence[Slot], list[str]]] = {}
    for device_id, slots in device_occurrences.items():
        by_sequence.setdefault(id(slots), (slots, []))[1].append(device_id)
    devices_by_pair: dict[tuple[str, float, str, float], list[str]] = defaultdict(list)
    pair_of: dict[tuple[str, float, str, float], tuple[Slot, Slot]] = {}
    for slots, device_ids in by_sequence.values():
        for a, b in find_overlaps(slots):
            winner, loser, _ = decide(a, b)
            key = (winner.schedule_id, winner.start_ts, loser.schedule_id, loser.start_ts)
            devices_by_pair[key].extend(device_ids)
            pair_of[key] = (a, b)
    conflicts = [
        conflict_between(*pair_of[key], devices=tuple(sorted(set(devices)))) for key, devices in devices_by_pair.items()
    ]
    return sorted(conflicts, key=ScheduleConflict.sort_key)
