from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from broadcast.domain.scheduling import LegalRef
from broadcast.services import programmes as service
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas_schedule import ProgrammeIn, ProgrammeOut

router = APIRouter(prefix="/programmes", tags=["programmes"])


@router.post("", response_model=ProgrammeOut, status_code=201, responses=errors(403, 404))
def create(body: ProgrammeIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> ProgrammeOut:
    draft = service.ProgrammeDraft(
        title=body.title, area_code=body.area_code, topic=body.topic, language=body.language, source=body.source,
        priority=body.priority, asset_ids=tuple(body.audio_ids), stream_url=body.stream_url,
        stream_duration_ms=body.stream_duration_s * 1000 if body.stream_duration_s else None,
        legal_refs=tuple(LegalRef(**r.model_dump()) for r in body.legal_refs))
    return ProgrammeOut.of(service.create_programme(uow, container.clock, actor, draft))


@router.get("", response_model=list[ProgrammeOut])
def list_all(uow: UowDep, principal: PrincipalDep, topic: str | None = None,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100,
             offset: Annotated[int, Query(ge=0)] = 0) -> list[ProgrammeOut]:
    return [ProgrammeOut.of(p) for p in service.list_programmes(uow, principal, topic=topic, limit=limit,
                                                                offset=offset)]


@router.get("/{programme_id}", response_model=ProgrammeOut, responses=errors(403, 404))
def get_one(programme_id: int, uow: UowDep, principal: PrincipalDep) -> ProgrammeOut:
    return ProgrammeOut.of(service.get_programme(uow, principal, programme_id))
