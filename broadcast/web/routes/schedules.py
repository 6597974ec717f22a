from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response

from broadcast.domain.errors import InvalidInput
from broadcast.services import schedules as service
from broadcast.services.calendar_feed import calendar_for_area
from broadcast.services.planning import occurrences, spec_for
from broadcast.services.policies import describe_policy, set_policy
from broadcast.services.programmes import playable, programme_of
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas_schedule import ApproveIn, PolicyIn, RejectIn, ScheduleIn, ScheduleOut, SubmitIn

router = APIRouter(tags=["schedules"])


def local_start(text: str, tz: str) -> str:
    """Accept 'YYYY-MM-DDTHH:MM[:SS]' local time (or with an offset, converted); store second precision."""
    from zoneinfo import ZoneInfo

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("Thời điểm phát phải có dạng YYYY-MM-DDTHH:MM.", code="timing.invalid_start") from None
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat(timespec="seconds")


def _draft(body: ScheduleIn, tz: str) -> service.ScheduleDraft:
    return service.ScheduleDraft(
        programme_id=body.programme_id, targets=body.targets.to_domain(), start_local=local_start(body.start, tz),
        volume=body.volume, rrule=body.rrule, exdates=tuple(local_start(d, tz) for d in body.exdates),
        valid_from=body.valid_from, valid_until=body.valid_until, area_code=body.area_code)


@router.post("/schedules", response_model=ScheduleOut, status_code=201, responses=errors(403, 404))
def create(body: ScheduleIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> ScheduleOut:
    tz = container.settings.timezone
    return ScheduleOut.of(service.create_schedule(uow, container.clock, actor, _draft(body, tz), tz))


@router.get("/schedules", response_model=list[ScheduleOut])
def list_all(uow: UowDep, principal: PrincipalDep, status: str | None = None, programme_id: int | None = None,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100,
             offset: Annotated[int, Query(ge=0)] = 0) -> list[ScheduleOut]:
    found = service.list_schedules(uow, principal, status=status, programme_id=programme_id, limit=limit,
                                   offset=offset)
    return [ScheduleOut.of(s) for s in found]


@router.get("/schedules/calendar.ics", responses=errors(403, 404))
def calendar(area: str, request: Request, uow: UowDep, container: ContainerDep, principal: PrincipalDep) -> Response:
    host = urlsplit(container.settings.public_url).hostname or "loaxa"
    body = calendar_for_area(uow, principal, area, container.settings.timezone, host=host)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="loaxa-{area}.ics"'})


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut, responses=errors(403, 404))
def get_one(schedule_id: int, uow: UowDep, principal: PrincipalDep) -> ScheduleOut:
    return ScheduleOut.of(service.get_schedule(uow, principal, schedule_id))


@router.put("/schedules/{schedule_id}", response_model=ScheduleOut, responses=errors(403, 404, 409))
def edit(schedule_id: int, body: ScheduleIn, uow: UowDep, container: ContainerDep,
         actor: ActorDep) -> ScheduleOut:
    tz = container.settings.timezone
    saved = service.edit_schedule(uow, container.clock, actor, schedule_id, _draft(body, tz), tz)
    container.wake_compile()  # an approved schedule that was edited stops playing until approved again
    return ScheduleOut.of(saved)


@router.post("/schedules/{schedule_id}/submit", response_model=ScheduleOut, responses=errors(403, 404, 409))
def submit(schedule_id: int, uow: UowDep, container: ContainerDep, actor: ActorDep,
           body: SubmitIn | None = None) -> ScheduleOut:
    outcome = service.submit_schedule(uow, container.clock, actor, schedule_id, container.settings.timezone,
                                      leave_order_to_approver=bool(body and body.leave_order_to_approver))
    return ScheduleOut.of(outcome.schedule, outcome.conflicts)


@router.post("/schedules/{schedule_id}/approve", response_model=ScheduleOut, responses=errors(403, 404, 409))
def approve(schedule_id: int, uow: UowDep, container: ContainerDep, actor: ActorDep,
            body: ApproveIn | None = None) -> ScheduleOut:
    outcome = service.approve_schedule(uow, container.clock, actor, schedule_id, container.settings.timezone,
                                       rank=body.rank if body else None, on_approved=container.wake_compile)
    return ScheduleOut.of(outcome.schedule, outcome.conflicts)


@router.post("/schedules/{schedule_id}/reject", response_model=ScheduleOut, responses=errors(403, 404, 409))
def reject(schedule_id: int, body: RejectIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> ScheduleOut:
    return ScheduleOut.of(service.reject_schedule(uow, container.clock, actor, schedule_id, body.reason))


@router.post("/schedules/{schedule_id}/cancel", response_model=ScheduleOut, responses=errors(403, 404, 409))
def cancel(schedule_id: int, uow: UowDep, container: ContainerDep, actor: ActorDep) -> ScheduleOut:
    return ScheduleOut.of(service.cancel_schedule(uow, container.clock, actor, schedule_id,
                                                  on_cancelled=container.wake_compile))


@router.get("/schedules/{schedule_id}/occurrences", responses=errors(403, 404))
def schedule_occurrences(schedule_id: int, uow: UowDep, container: ContainerDep, principal: PrincipalDep,
                         days: Annotated[int, Query(ge=1, le=366)] = 7) -> list[dict]:
    """When it plays over the next days (local time), whatever its state."""
    schedule = service.get_schedule(uow, principal, schedule_id)
    with uow:
        programme = programme_of(uow, schedule.programme_id)
        ready = playable(uow, [programme])[programme.id]
    spec = spec_for(schedule, programme, ready, container.settings.timezone)
    now = container.clock.now()
    return [{"start": o.start.isoformat(), "end": o.end.isoformat()}
            for o in occurrences(spec, now, now + timedelta(days=days))]


@router.get("/policies/{area_code}", responses=errors(403, 404))
def get_policy(area_code: str, uow: UowDep, principal: PrincipalDep) -> dict:
    return describe_policy(uow, principal, area_code)


@router.put("/policies/{area_code}", responses=errors(403, 404))
def put_policy(area_code: str, body: PolicyIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> dict:
    return set_policy(uow, container.clock, actor, area_code, windows=body.windows,
                      max_minutes_per_day=body.max_minutes_per_day, weekdays=body.weekdays)
