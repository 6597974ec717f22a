"""Emergency broadcasts: start, stop, reach, list, and CAP 1.2 alerts."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from broadcast.services import cap as cap_service
from broadcast.services import emergencies as service
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas_emergency import CapResultOut, EmergencyIn, EmergencyOut

router = APIRouter(prefix="/emergencies", tags=["emergencies"])


@router.post("", response_model=EmergencyOut, status_code=201, responses=errors(403, 404))
def start(body: EmergencyIn, container: ContainerDep, uow: UowDep, actor: ActorDep,
          principal: PrincipalDep) -> EmergencyOut:
    emergency = service.start_emergency(uow, container.emergency_tools(), actor, service.EmergencyRequest(
        reason=body.reason, areas=body.targets.areas, zones=body.targets.zones, devices=body.targets.devices,
        audio_id=body.audio_id, text=body.text, voice=body.voice, stream_url=body.stream_url,
        stream_minutes=body.stream_minutes, expires_in_minutes=body.expires_in_minutes, expires_at=body.expires_at,
        volume=body.volume, test_only=body.test_only))
    container.wake_delivery()
    return EmergencyOut.of(service.get_emergency(uow, container.clock, principal, emergency.id))


@router.post("/cap", response_model=CapResultOut, responses={201: {"model": CapResultOut}, **errors(403, 404)},
             openapi_extra={"requestBody": {"required": True, "content": {
                 media: {"schema": {"type": "string"}} for media in ("application/cap+xml", "application/xml")}}})
async def import_cap(request: Request, response: Response, container: ContainerDep, uow: UowDep,
                     actor: ActorDep, principal: PrincipalDep) -> CapResultOut:
    """A CAP 1.2 alert as the raw XML body (application/cap+xml or application/xml)."""
    data = await request.body()
    fetch = container.cap_fetcher()
    outcome = await run_in_threadpool(cap_service.import_cap, uow, container.emergency_tools(), actor, data,
                                      fetch=fetch)
    view = None
    if outcome.emergency is not None:
        view = await run_in_threadpool(service.get_emergency, uow, container.clock, principal, outcome.emergency.id)
    if outcome.action in ("started", "stopped"):
        container.wake_delivery()
    response.status_code = 201 if outcome.action == "started" else 200
    return CapResultOut.of(outcome, view)


@router.get("", response_model=list[EmergencyOut])
def list_emergencies(container: ContainerDep, uow: UowDep, principal: PrincipalDep, status: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     offset: Annotated[int, Query(ge=0)] = 0) -> list[EmergencyOut]:
    views = service.list_emergencies(uow, container.clock, principal, status=status, limit=limit, offset=offset)
    return [EmergencyOut.of(v) for v in views]


@router.get("/{emergency_id}", response_model=EmergencyOut, responses=errors(403, 404))
def get_emergency(emergency_id: int, container: ContainerDep, uow: UowDep, principal: PrincipalDep) -> EmergencyOut:
    return EmergencyOut.of(service.get_emergency(uow, container.clock, principal, emergency_id))


@router.post("/{emergency_id}/stop", response_model=EmergencyOut, responses=errors(403, 404, 409))
def stop(emergency_id: int, request: Request, container: ContainerDep, uow: UowDep, actor: ActorDep,
         principal: PrincipalDep) -> EmergencyOut:
    service.stop_emergency(uow, container.clock, container.signer, actor, emergency_id)
    container.wake_delivery()
    return EmergencyOut.of(service.get_emergency(uow, container.clock, principal, emergency_id))
