"""Request and response bodies of the emergency API."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from broadcast.services.cap import CapOutcome
from broadcast.services.emergencies import MAX_TARGETS, EmergencyView, Reach


class _Forbid(BaseModel):
    # Not strict: expires_at arrives as an RFC 3339 string.
    model_config = ConfigDict(extra="forbid")


class TargetsIn(_Forbid):
    areas: list[str] = Field(default_factory=list, max_length=MAX_TARGETS)
    zones: list[str] = Field(default_factory=list, max_length=MAX_TARGETS)
    devices: list[str] = Field(default_factory=list, max_length=MAX_TARGETS)


class EmergencyIn(_Forbid):
    targets: TargetsIn
    reason: str = Field(max_length=1000)
    audio_id: int | None = None
    text: str | None = Field(default=None, max_length=20_000)
    voice: str = "vi"
    stream_url: str | None = Field(default=None, max_length=500)
    stream_minutes: int | None = None
    expires_in_minutes: int | None = None
    expires_at: datetime | None = None
    volume: int = 100
    test_only: bool = False


class ReachOut(BaseModel):
    tracked: int
    received: int  # took the command (any stage from received on, rejected/expired excluded)
    ready: int
    playing: int
    played: int
    preempted: int
    failed: int
    missed: int
    expired: int
    rejected: int
    not_reached: int  # no ack at all
    stages: dict[str, int]  # furthest stage per device -> devices

    @classmethod
    def of(cls, reach: Reach | None) -> ReachOut | None:
        if reach is None:
            return None
        stage = reach.stages.get
        return cls(tracked=reach.tracked, received=reach.received, ready=stage("ready", 0),
                   playing=stage("playing", 0), played=stage("played", 0), preempted=stage("preempted", 0),
                   failed=stage("failed", 0), missed=stage("missed", 0), expired=stage("expired", 0),
                   rejected=stage("rejected", 0), not_reached=reach.not_reached, stages=dict(reach.stages))


class EmergencyOut(BaseModel):
    id: int
    status: str  # active | stopped | expired
    reason: str
    targets: dict  # areas, zones, devices as asked
    topics: dict  # zones and devices the commands were published to
    area_code: str
    audio_id: int | None
    stream_url: str | None
    text: str | None
    volume: int | None
    ends_at: str | None
    cmd_id: str | None
    stop_cmd_id: str | None
    test_only: bool
    source: str
    external_id: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime
    stopped_at: datetime | None
    reach: ReachOut | None = None
    stop_reach: ReachOut | None = None

    @classmethod
    def of(cls, view: EmergencyView) -> EmergencyOut:
        e, t = view.emergency, view.emergency.targets
        return cls(id=e.id, status=view.status, reason=e.reason,
                   targets={k: t.get(k, []) for k in ("areas", "zones", "devices")}, topics=t.get("publish", {}),
                   area_code=e.area_code, audio_id=e.audio_id, stream_url=e.stream_url, text=e.text,
                   volume=t.get("volume"), ends_at=t.get("end"), cmd_id=e.cmd_id, stop_cmd_id=e.stop_cmd_id,
                   test_only=e.test_only, source=e.source, external_id=e.external_id, created_by=e.created_by,
                   created_at=e.created_at, expires_at=e.expires_at, stopped_at=e.stopped_at,
                   reach=ReachOut.of(view.reach), stop_reach=ReachOut.of(view.stop_reach))


class CapResultOut(BaseModel):
    action: str  # started | duplicate | stopped | ignored
    message: str
    emergency: EmergencyOut | None
    stopped: list[int]

    @classmethod
    def of(cls, outcome: CapOutcome, view: EmergencyView | None) -> CapResultOut:
        return cls(action=outcome.action, message=outcome.message,
                   emergency=EmergencyOut.of(view) if view else None, stopped=list(outcome.stopped))
