"""The pronunciation dictionary of text-to-speech: built-in readings of abbreviations, and administrators' entries.

Anyone signed in reads it; administrators (those who manage the shared library) add a term, change a reading or
remove their entry, which brings a default term back to its built-in reading. Every change is audited. The audio
adapter reads `pronunciation_overrides` at each synthesis, so a change applies to the next text read.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import NotFound, PermissionDenied
from broadcast.domain.pronunciations import Pronunciation, check_spoken, check_term
from broadcast.services.context import Actor, audit
from broadcast.services.ports import Clock, UnitOfWork


@dataclass(frozen=True)
class PronunciationView:
    term: str
    spoken: str  # the reading in force
    default: str | None  # the built-in reading, for a default term
    entry: Pronunciation | None  # the administrators' entry, if any


def _view(term: str, defaults: Mapping[str, str], entry: Pronunciation | None) -> PronunciationView:
    spoken = entry.spoken if entry is not None else defaults[term]
    return PronunciationView(term, spoken, defaults.get(term), entry)


def _require_admin(actor: Actor) -> None:
    # The dictionary is shared by every area, as the shared library is: its administrators manage it.
    actor.require(Action.MANAGE_USERS, None)


def pronunciation_overrides(uow: UnitOfWork) -> dict[str, str]:
    """The administrators' entries, term -> reading (the synthesizer merges them over the defaults)."""
    with uow:
        return {e.term: e.spoken for e in uow.pronunciations.all()}


def list_pronunciations(uow: UnitOfWork, principal: Principal,
                        defaults: Mapping[str, str]) -> list[PronunciationView]:
    """Every term with its reading in force, by term."""
    if not principal.may(Action.READ, None):
        raise PermissionDenied(f"Tài khoản {principal.username} không có quyền xem từ điển phát âm.")
    with uow:
        entries = {e.term: e for e in uow.pronunciations.all()}
    return [_view(term, defaults, entries.get(term)) for term in sorted({*defaults, *entries})]


def set_pronunciation(uow: UnitOfWork, clock: Clock, actor: Actor, defaults: Mapping[str, str], *, term: str,
                      spoken: str) -> PronunciationView:
    _require_admin(actor)
    term, spoken = check_term(term), check_spoken(spoken)
    with uow:
        before = uow.pronunciations.get(term)
        entry = Pronunciation(term, spoken, clock.now(), actor.name)
        uow.pronunciations.put(entry)
        audit(uow, clock, actor, "pronunciation.set", "pronunciation", term, spoken=spoken,
              previous=before.spoken if before else defaults.get(term))
        uow.commit()
    return _view(term, defaults, entry)


def delete_pronunciation(uow: UnitOfWork, clock: Clock, actor: Actor, defaults: Mapping[str, str],
                         term: str) -> PronunciationView | None:
    """Remove the administrators' entry; the default reading in force afterwards, or None for a term that has none."""
    _require_admin(actor)
    with uow:
        before = uow.pronunciations.get(term)
        if before is None:
            raise NotFound(f"Từ điển phát âm không có mục do quản trị viên đặt cho “{term}”.",
                           code="pronunciation_not_found")
        uow.pronunciations.delete(term)
        audit(uow, clock, actor, "pronunciation.delete", "pronunciation", term, previous=before.spoken,
              default=defaults.get(term))
        uow.commit()
    return _view(term, defaults, None) if term in defaults else None
