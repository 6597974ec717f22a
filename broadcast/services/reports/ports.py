"""What reports and daily aggregates need from storage: plain records and one repository Protocol.

Kept apart from services/ports.py so the report code can grow without touching the shared ports module.
All datetimes are aware UTC; days are local calendar days (Asia/Ho_Chi_Minh by default).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol


@dataclass(frozen=True)
class PresenceEvent:
    device_id: str
    online: bool
    at: datetime


@dataclass(frozen=True)
class PlayedItem:
    """One item (or command) played in one commune: its proof-of-play rows folded together."""

    commune_code: str
    item_id: str
    programme_id: int | None
    emergency_id: int | None
    priority: str | None
    plays: int  # devices that played it
    planned_start: datetime | None
    planned_end: datetime | None
    first_started: datetime | None
    last_ended: datetime | None
    live_session_id: int | None = None


@dataclass(frozen=True)
class ContentFacts:
    """What a programme or an emergency was about, for the airtime breakdown."""

    topic: str
    language: str
    source: str  # commune | province | central | justice | other


@dataclass(frozen=True)
class DeviceSpan:
    device_id: str
    commune_code: str
    created_at: datetime


@dataclass(frozen=True)
class EmergencyReach:
    emergency_id: int
    commune_code: str
    tracked: int  # devices the emergency was meant to reach in this commune
    reached: int  # of which took the command (received or later, not rejected or expired)


@dataclass(frozen=True)
class AirtimeAggregate:
    day: date
    commune_code: str
    source: str
    topic: str
    language: str
    priority: str
    items: int
    plays: int
    seconds: int


@dataclass(frozen=True)
class CommuneDay:
    day: date
    commune_code: str
    played: int = 0
    missed: int = 0
    failed: int = 0
    preempted: int = 0
    powered_off: int = 0  # missed while the amplifier was switched off on purpose (reason power_off)
    devices: int = 0
    uptime_ratio: float | None = None
    emergencies: int = 0
    emergency_devices: int = 0
    emergency_reached: int = 0


@dataclass(frozen=True)
class Decision:
    """A schedule's way through approval: who owns it, how it ended, and when."""

    area_code: str
    status: str
    submitted_at: datetime
    decided_at: datetime


@dataclass(frozen=True)
class DeviceCount:
    commune_code: str
    devices: int
    online: int


class ReportRepository(Protocol):
    # presence (written by the device inbox)
    def online_flags(self, device_ids: Iterable[str], *, lock: bool = False) -> dict[str, bool | None]: ...
    def add_presence(self, events: Sequence[PresenceEvent]) -> int: ...

    # inputs of one day's aggregates; area None: every commune
    def played_items(self, start: datetime, end: datetime, area: str | None) -> list[PlayedItem]: ...
    def outcome_counts(self, start: datetime, end: datetime, area: str | None) -> dict[tuple[str, str], int]: ...
    def programme_facts(self, programme_ids: Iterable[int]) -> dict[int, ContentFacts]: ...
    def emergency_facts(self, emergency_ids: Iterable[int]) -> dict[int, ContentFacts]: ...
    def live_facts(self, session_ids: Iterable[int]) -> dict[int, ContentFacts]: ...
    def device_spans(self, until: datetime, area: str | None) -> list[DeviceSpan]: ...
    def presence_before(self, at: datetime, area: str | None) -> dict[str, bool]: ...
    def presence_events(self, start: datetime, end: datetime, area: str | None) -> list[PresenceEvent]: ...
    def emergency_reach(self, start: datetime, end: datetime, area: str | None) -> list[EmergencyReach]: ...

    # stored aggregates
    def replace_day(self, day: date, airtime: Sequence[AirtimeAggregate], communes: Sequence[CommuneDay], *,
                    computed_at: datetime) -> None: ...
    def computed_days(self, first: date, last: date) -> dict[date, datetime]: ...
    def airtime(self, first: date, last: date, area: str) -> list[AirtimeAggregate]: ...
    def commune_days(self, first: date, last: date, area: str) -> list[CommuneDay]: ...
    def late_play_times(self, recorded_after: datetime, start: datetime,
                        end: datetime) -> list[tuple[datetime, datetime]]: ...
    def first_activity(self) -> datetime | None: ...

    # read directly (never purged)
    def decisions(self, start: datetime, end: datetime, area: str) -> list[Decision]: ...
    def device_counts(self, area: str) -> list[DeviceCount]: ...
    def area_names(self, codes: Iterable[str]) -> dict[str, str]: ...
