"""GET /api/v1/playlog: proof of play as JSON pages, or the whole selection as a CSV file for Excel."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from broadcast.services import playlog as playlog_service
from broadcast.services.ports import PlayLogEntry, PlayLogQuery
from broadcast.web.deps import ContainerDep, PrincipalDep, UowDep
from broadcast.web.downloads import attachment
from broadcast.web.openapi import errors

router = APIRouter(prefix="/playlog", tags=["playlog"])


class PlayLogOut(BaseModel):
    device_id: str
    commune_code: str
    commune_name: str
    item_id: str
    title: str
    schedule_id: int | None
    programme_id: int | None
    emergency_id: int | None
    live_session_id: int | None  # a live broadcast (GET /api/v1/live/{id})
    priority: str | None
    planned_start: datetime | None
    planned_end: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    outcome: str
    outcome_label: str
    reason: str | None
    recorded_at: datetime

    @classmethod
    def of(cls, e: PlayLogEntry) -> PlayLogOut:
        return cls(**{**e.__dict__, "outcome_label": playlog_service.OUTCOME_LABELS_VI.get(e.outcome, e.outcome)})


def _wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("accept", "")


@router.get("", response_model=list[PlayLogOut],
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv"},
                       **errors(403, 404)})
def list_playlog(request: Request, uow: UowDep, container: ContainerDep, principal: PrincipalDep,
                 area: str | None = None, device: str | None = None, programme: int | None = None,
                 schedule: int | None = None, emergency: int | None = None, live: int | None = None,
                 outcome: str | None = None,
                 since: Annotated[datetime | None, Query(alias="from")] = None,
                 until: Annotated[datetime | None, Query(alias="to")] = None,
                 by: Literal["planned", "recorded"] = "planned",
                 q: Annotated[str | None, Query(max_length=100, description="Part of the title")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
                 format: Literal["json", "csv"] | None = None):
    """Ordered by planned start. `from`/`to` without an offset are local time (the server's time zone).

    The CSV carries every matching row (no paging), UTF-8 with a BOM, Vietnamese headers and local times.
    """
    tz = container.settings.tz

    def aware(value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=tz) if value is not None and value.tzinfo is None else value

    query = PlayLogQuery(area_code=area, device_id=device, programme_id=programme, schedule_id=schedule,
                         emergency_id=emergency, live_session_id=live, outcome=outcome, since=aware(since),
                         until=aware(until),
                         by_recorded=by == "recorded", title_contains=(q or "").strip() or None, limit=limit,
                         offset=offset)
    if not _wants_csv(request, format):
        return [PlayLogOut.of(e) for e in playlog_service.list_playlog(uow, principal, query)]
    # Authorize before the first byte: a refusal must still be a 403, not a broken download.
    scoped = playlog_service.scoped_query(uow, principal, PlayLogQuery(**{**query.__dict__, "limit": None,
                                                                          "offset": 0}))
    rows = playlog_service.stream_playlog(container.uow(), scoped)
    return StreamingResponse(
        (chunk.encode() for chunk in playlog_service.csv_chunks(rows, tz)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(playlog_service.csv_file_name(container.clock.now(), tz))})
