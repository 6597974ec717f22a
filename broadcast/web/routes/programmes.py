from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from broadcast.domain.scheduling import LegalRef
from broadcast.services import programmes as service
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas_schedule import ProgrammeIn, ProgrammeOut

router = APIRouter(prefix="/programmes", tags=["programmes"])


def _draft(body: ProgrammeIn) -> service.ProgrammeDraft:
    return service.ProgrammeDraft(
        title=body.title, area_code=body.area_code, topic=body.topic, language=body.language, source=body.source,
        priority=body.priority, asset_ids=tuple(body.audio_ids), stream_url=body.stream_url,
        stream_duration_ms=body.stream_duration_s * 1000 if body.stream_duration_s else None,
        relay_channel_id=body.relay_channel_id, legal_refs=tuple(LegalRef(**r.model_dump()) for r in body.legal_refs))


@router.post("", response_model=ProgrammeOut, status_code=201, responses=errors(403, 404))
def create(body: ProgrammeIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> ProgrammeOut:
    return ProgrammeOut.of(service.create_programme(uow, container.clock, actor, _draft(body)))


@router.put("/{programme_id}", response_model=ProgrammeOut, responses=errors(403, 404, 409))
def update(programme_id: int, body: ProgrammeIn, uow: UowDep, container: ContainerDep,
           actor: ActorDep) -> ProgrammeOut:
    """Replace a programme that no schedule uses yet (409 once one does: make a new programme instead)."""
    return ProgrammeOut.of(service.update_programme(uow, container.clock, actor, programme_id, _draft(body)))


@router.get("", response_model=list[ProgrammeOut], responses=errors(403, 404))
def list_all(uow: UowDep, principal: PrincipalDep, topic: str | None = None,
             area_code: Annotated[str | None, Query(max_length=16)] = None,
             q: Annotated[str | None, Query(max_length=100)] = None,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100,
             offset: Annotated[int, Query(ge=0)] = 0) -> list[ProgrammeOut]:
    """The programmes of the caller's areas and the province programmes its communes reuse, newest first; `q`
    searches the titles ignoring case and diacritics."""
    return [ProgrammeOut.of(p) for p in service.list_programmes(uow, principal, topic=topic, limit=limit,
                                                                offset=offset, area_code=area_code, query=q)]


@router.get("/{programme_id}", response_model=ProgrammeOut, responses=errors(403, 404))
def get_one(programme_id: int, uow: UowDep, principal: PrincipalDep) -> ProgrammeOut:
    return ProgrammeOut.of(service.get_programme(uow, principal, programme_id))
