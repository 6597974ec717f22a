from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from broadcast.domain.areas import AreaLevel
from broadcast.services import areas as area_service
from broadcast.services import device_zones
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas import AreaOut, ZoneIn, ZoneOut
from broadcast.web.schemas_devices import ZoneDevicesIn, ZoneDevicesOut

router = APIRouter(tags=["areas"])
Limit = Annotated[int, Query(ge=1, le=5000)]
Offset = Annotated[int, Query(ge=0)]


@router.get("/areas", response_model=list[AreaOut], responses=errors(404))
def list_areas(uow: UowDep, _principal: PrincipalDep, level: AreaLevel | None = None, parent: str | None = None,
               q: Annotated[str | None, Query(max_length=100)] = None, limit: Limit = 100,
               offset: Offset = 0) -> list[AreaOut]:
    found = area_service.list_areas(uow, level=level, parent_code=parent, query=q, limit=limit, offset=offset)
    return [AreaOut.of(a) for a in found]


@router.get("/areas/{code}", response_model=AreaOut, responses=errors(404))
def get_area(code: str, uow: UowDep, _principal: PrincipalDep) -> AreaOut:
    return AreaOut.of(area_service.get_area(uow, code))


@router.post("/zones", response_model=ZoneOut, status_code=201, responses=errors(403, 404, 409))
def create_zone(body: ZoneIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> ZoneOut:
    zone = area_service.create_zone(uow, container.clock, actor, commune_code=body.commune_code, name=body.name,
                                    kind=body.kind, slug=body.slug, description=body.description)
    return ZoneOut.of(zone)


@router.get("/zones", response_model=list[ZoneOut], responses=errors(403, 404))
def list_zones(uow: UowDep, principal: PrincipalDep, commune: str | None = None, limit: Limit = 100,
               offset: Offset = 0) -> list[ZoneOut]:
    return [ZoneOut.of(z) for z in area_service.list_zones(uow, principal, commune_code=commune, limit=limit,
                                                           offset=offset)]


@router.put("/zones/{zone_id}/devices", response_model=ZoneDevicesOut, responses=errors(403, 404))
def set_zone_devices(zone_id: str, body: ZoneDevicesIn, uow: UowDep, container: ContainerDep,
                     actor: ActorDep) -> ZoneDevicesOut:
    """The zone's devices become exactly these (devices of its commune); the others leave it. Audited."""
    members = device_zones.set_zone_members(uow, container.clock, actor, zone_id, body.devices)
    container.wake_compile()
    return ZoneDevicesOut(zone_id=zone_id, devices=members)
