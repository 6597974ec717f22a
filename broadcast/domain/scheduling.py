"""Programmes and schedules as officers see them, and the approval workflow's rules."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from broadcast.domain.errors import Conflict, InvalidInput, PermissionDenied
from broadcast.domain.priority import Priority
from broadcast.domain.recurrence import Timing, parse_rrule

SOURCES = {"commune": "Xã, phường", "province": "Tỉnh", "central": "Trung ương", "justice": "Sở Tư pháp"}


@dataclass(frozen=True)
class LegalRef:
    law: str  # e.g. "Luật Hòa giải ở cơ sở"
    number: str = ""  # e.g. "35/2013/QH13"
    article: str = ""  # e.g. "Điều 9"


@dataclass(frozen=True)
class MediaRef:
    asset_id: int
    sha256: str
    bytes: int
    duration_ms: int


@dataclass(frozen=True)
class Programme:
    id: int
    title: str
    topic: str
    language: str
    source: str
    priority: Priority
    area_code: str
    created_by: str
    created_at: datetime
    asset_ids: tuple[int, ...] = ()
    stream_url: str | None = None
    stream_duration_ms: int | None = None
    legal_refs: tuple[LegalRef, ...] = ()
    bulletin_id: str | None = None
    relay_channel_id: int | None = None  # a relay of a catalogued channel; stream_url is then the channel's URL


@dataclass(frozen=True)
class TargetSet:
    areas: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    exclude_areas: tuple[str, ...] = ()
    exclude_zones: tuple[str, ...] = ()
    exclude_devices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetSet:
        return cls(**{k: tuple(dict.fromkeys(data.get(k) or ())) for k in cls.__dataclass_fields__})

    @property
    def empty(self) -> bool:
        return not (self.areas or self.zones or self.devices)


class ScheduleStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


STATUS_LABELS = {ScheduleStatus.DRAFT: "bản nháp", ScheduleStatus.SUBMITTED: "chờ duyệt",
                 ScheduleStatus.APPROVED: "đã duyệt", ScheduleStatus.REJECTED: "bị từ chối",
                 ScheduleStatus.CANCELLED: "đã hủy"}


@dataclass(frozen=True)
class Schedule:
    id: int
    programme_id: int
    status: ScheduleStatus
    targets: TargetSet
    start_local: str  # "YYYY-MM-DDTHH:MM:SS", wall-clock in the configured timezone
    volume: int
    area_code: str
    author: str
    created_at: datetime
    rrule: str | None = None
    exdates: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    rank: int = 0
    approver: str | None = None
    rejection_reason: str | None = None
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    editors: tuple[str, ...] = ()  # who changed the content, first change first; none of them may decide on it

    def timing(self, tz: str) -> Timing:
        try:
            start = datetime.fromisoformat(self.start_local).replace(tzinfo=None)
            exdates = frozenset(datetime.fromisoformat(d).replace(tzinfo=None) for d in self.exdates)
        except ValueError:
            raise InvalidInput("Thời điểm phát phải có dạng YYYY-MM-DDTHH:MM:SS.",
                               code="timing.invalid_start") from None
        if self.rrule:
            return Timing.recurring(start, parse_rrule(self.rrule), tz, exdates, self.valid_from, self.valid_until)
        return Timing(start=start, tz=tz, valid_from=self.valid_from, valid_until=self.valid_until)


def check_volume(volume: int) -> None:
    if not 0 <= volume <= 100:
        raise InvalidInput("Âm lượng phải từ 0 đến 100.", code="invalid_volume")


def _require(status: ScheduleStatus, allowed: set[ScheduleStatus], action: str) -> None:
    if status not in allowed:
        raise Conflict(f"Không thể {action} lịch đang ở trạng thái “{STATUS_LABELS[status]}”.",
                       code="invalid_transition")


def after_edit(schedule: Schedule) -> ScheduleStatus:
    """An edit of an approved schedule goes back to the approver; a rejected one becomes a draft again."""
    _require(schedule.status, {ScheduleStatus.DRAFT, ScheduleStatus.SUBMITTED, ScheduleStatus.APPROVED,
                               ScheduleStatus.REJECTED}, "sửa")
    if schedule.status is ScheduleStatus.APPROVED:
        return ScheduleStatus.SUBMITTED
    if schedule.status is ScheduleStatus.REJECTED:
        return ScheduleStatus.DRAFT
    return schedule.status


def check_submit(schedule: Schedule) -> None:
    _require(schedule.status, {ScheduleStatus.DRAFT, ScheduleStatus.REJECTED}, "gửi duyệt")


def edited_by(schedule: Schedule, username: str) -> tuple[str, ...]:
    """The editors after `username` changed the content (each name once)."""
    return tuple(dict.fromkeys((*schedule.editors, username)))


def check_decision(schedule: Schedule, approver: str) -> None:
    """Four eyes: neither the author nor anyone who changed the content decides on it."""
    _require(schedule.status, {ScheduleStatus.SUBMITTED}, "duyệt hoặc từ chối")
    if schedule.author == approver:
        raise PermissionDenied("Người soạn lịch không được tự duyệt lịch của mình.", code="self_approval")
    if approver in schedule.editors:
        raise PermissionDenied("Người đã sửa nội dung lịch phát không được tự duyệt hoặc từ chối lịch này.",
                               code="self_approval")


def check_cancel(schedule: Schedule) -> None:
    _require(schedule.status, {ScheduleStatus.DRAFT, ScheduleStatus.SUBMITTED, ScheduleStatus.APPROVED,
                               ScheduleStatus.REJECTED}, "hủy")


def with_status(schedule: Schedule, status: ScheduleStatus, **changes: Any) -> Schedule:
    return replace(schedule, status=status, **changes)
