"""Bodies of the programme, schedule and policy API."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from broadcast.domain.scheduling import STATUS_LABELS, Programme, Schedule, TargetSet
from broadcast.web.schemas import StrictModel


class LegalRefIn(StrictModel):
    law: str = Field(max_length=300)
    number: str = Field(default="", max_length=64)
    article: str = Field(default="", max_length=64)


class ProgrammeIn(StrictModel):
    title: str = Field(max_length=300)
    area_code: str = Field(max_length=16)
    topic: str = "other"
    language: str = "vi"
    source: str = "commune"
    priority: str = "normal"
    audio_ids: list[int] = Field(default_factory=list, max_length=50)
    stream_url: str | None = Field(default=None, max_length=500)
    stream_duration_s: int | None = Field(default=None, ge=1, le=4 * 3600)
    relay_channel_id: int | None = None  # relay a catalogued channel (GET /relay-channels) for stream_duration_s
    legal_refs: list[LegalRefIn] = Field(default_factory=list, max_length=20)


class ProgrammeOut(BaseModel):
    id: int
    title: str
    area_code: str
    topic: str
    language: str
    source: str
    priority: str
    audio_ids: list[int]
    stream_url: str | None
    stream_duration_s: int | None
    relay_channel_id: int | None = None
    legal_refs: list[dict]
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, p: Programme) -> ProgrammeOut:
        return cls(id=p.id, title=p.title, area_code=p.area_code, topic=p.topic, language=p.language,
                   source=p.source, priority=p.priority.value, audio_ids=list(p.asset_ids), stream_url=p.stream_url,
                   stream_duration_s=p.stream_duration_ms // 1000 if p.stream_duration_ms else None,
                   relay_channel_id=p.relay_channel_id, legal_refs=[r.__dict__ for r in p.legal_refs],
                   created_by=p.created_by, created_at=p.created_at)


class TargetsIn(StrictModel):
    areas: list[str] = Field(default_factory=list, max_length=500)
    zones: list[str] = Field(default_factory=list, max_length=500)
    devices: list[str] = Field(default_factory=list, max_length=10000)
    exclude_areas: list[str] = Field(default_factory=list, max_length=500)
    exclude_zones: list[str] = Field(default_factory=list, max_length=500)
    exclude_devices: list[str] = Field(default_factory=list, max_length=10000)

    def to_domain(self) -> TargetSet:
        return TargetSet.from_dict(self.model_dump())


class ScheduleIn(StrictModel):
    programme_id: int
    targets: TargetsIn
    start: str = Field(description="Giờ địa phương YYYY-MM-DDTHH:MM[:SS] (Asia/Ho_Chi_Minh)", max_length=25)
    rrule: str | None = Field(default=None, max_length=500, description="RFC 5545: FREQ=DAILY|WEEKLY; BYDAY; ...")
    exdates: list[str] = Field(default_factory=list, max_length=500)
    volume: int = Field(default=80, ge=0, le=100)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    area_code: str | None = None


class SubmitIn(StrictModel):
    leave_order_to_approver: bool = False  # submit despite same-class overlaps; the approver decides the order


class ApproveIn(StrictModel):
    rank: int | None = None


class RejectIn(StrictModel):
    reason: str = Field(max_length=1000)


class ScheduleOut(BaseModel):
    id: int
    programme_id: int
    status: str
    status_label: str
    targets: dict
    start: str
    rrule: str | None
    exdates: list[str]
    volume: int
    rank: int
    valid_from: datetime | None
    valid_until: datetime | None
    area_code: str
    author: str
    editors: list[str] = Field(description="Ai đã sửa nội dung lịch (không được duyệt lịch này)")
    approver: str | None
    rejection_reason: str | None
    submitted_at: datetime | None
    decided_at: datetime | None
    conflicts: list[dict] = Field(default_factory=list)

    @classmethod
    def of(cls, s: Schedule, conflicts: list[dict] | None = None) -> ScheduleOut:
        return cls(id=s.id, programme_id=s.programme_id, status=s.status.value, status_label=STATUS_LABELS[s.status],
                   targets=s.targets.to_dict(), start=s.start_local, rrule=s.rrule, exdates=list(s.exdates),
                   volume=s.volume, rank=s.rank, valid_from=s.valid_from, valid_until=s.valid_until,
                   area_code=s.area_code, author=s.author, editors=list(s.editors), approver=s.approver,
                   rejection_reason=s.rejection_reason, submitted_at=s.submitted_at, decided_at=s.decided_at,
                   conflicts=conflicts or [])


class PolicyIn(StrictModel):
    windows: list[str] | None = Field(default=None, max_length=12, description='["05:30-07:00", "17:00-19:00"]')
    max_minutes_per_day: int | None = Field(default=None, ge=0, le=1440)
    weekdays: list[int] | None = Field(default=None, max_length=7, description="0 = Thứ Hai ... 6 = Chủ nhật")
