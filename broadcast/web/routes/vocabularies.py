"""The vocabularies a client offers its users: topics, languages, sources and the others, with Vietnamese labels."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from broadcast.domain.vocabularies import vocabularies
from broadcast.web.deps import PrincipalDep

router = APIRouter(tags=["vocabularies"])


class Choice(BaseModel):
    code: str  # what the API takes and returns
    label: str  # what a person reads


class VocabulariesOut(BaseModel):
    topics: list[Choice]
    languages: list[Choice]
    sources: list[Choice]
    priorities: list[Choice]
    voices: list[Choice]
    profiles: list[Choice]
    audio_statuses: list[Choice]


@router.get("/vocabularies", response_model=VocabulariesOut)
def list_vocabularies(_principal: PrincipalDep) -> VocabulariesOut:
    """Each code the API accepts for a topic, language, source, class (priority), voice or content profile, and
    the label to show for it."""
    return VocabulariesOut.model_validate(vocabularies())
