"""The pronunciation dictionary of text-to-speech: read by anyone signed in, changed by administrators."""
from __future__ import annotations

from fastapi import APIRouter, Response

from broadcast.services import pronunciations as service
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas_speech import PronunciationIn, PronunciationOut

router = APIRouter(prefix="/pronunciations", tags=["pronunciations"])


@router.get("", response_model=list[PronunciationOut], responses=errors(403))
def list_all(container: ContainerDep, uow: UowDep, principal: PrincipalDep) -> list[PronunciationOut]:
    """Every abbreviation with its reading in force: the built-in ones and the administrators' entries."""
    views = service.list_pronunciations(uow, principal, container.audio.default_pronunciations)
    return [PronunciationOut.of(v) for v in views]


@router.put("/{term}", response_model=PronunciationOut, responses=errors(403))
def put(term: str, body: PronunciationIn, container: ContainerDep, uow: UowDep,
        actor: ActorDep) -> PronunciationOut:
    """Set how `term` is read (whole word, case-sensitive); for a built-in term this replaces its reading."""
    return PronunciationOut.of(service.set_pronunciation(uow, container.clock, actor,
                                                         container.audio.default_pronunciations, term=term,
                                                         spoken=body.spoken))


@router.delete("/{term}", response_model=PronunciationOut, responses={
    204: {"description": "Đã xóa; từ này không còn trong từ điển."}, **errors(403, 404)})
def delete(term: str, container: ContainerDep, uow: UowDep, actor: ActorDep) -> PronunciationOut | Response:
    """Remove the administrators' entry: a built-in term is read the built-in way again (200), another is gone
    (204)."""
    view = service.delete_pronunciation(uow, container.clock, actor, container.audio.default_pronunciations, term)
    return PronunciationOut.of(view) if view is not None else Response(status_code=204)
