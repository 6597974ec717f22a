"""The approver's inbox: schedules waiting for a decision in the areas where the principal approves, each with what
is needed to decide (the programme's audio to listen to, how many devices it reaches) and whether the principal may
decide on it at all (the four-eyes rule of domain/scheduling.py `check_decision`)."""
from __future__ import annotations

from dataclasses import dataclass

from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import DomainError
from broadcast.domain.scheduling import MediaRef, Programme, Schedule, ScheduleStatus, check_decision
from broadcast.services.areas import get_area
from broadcast.services.planning import target_chains
from broadcast.services.ports import UnitOfWork
from broadcast.services.programmes import playable, programme_of
from broadcast.services.schedule_checks import devices_reached, reach_counts

INBOX_LIMIT = 100


@dataclass(frozen=True)
class Awaiting:
    schedule: Schedule
    programme: Programme
    media: tuple[MediaRef, ...]  # the programme's ready audio, in order: what the devices will play
    stream_url: str | None  # a relay plays from outside; nothing to listen to here
    reached: int  # devices
    refusal: str | None  # why this principal may not decide (None: may approve or reject)


def decision_refusal(uow: UnitOfWork, principal: Principal, schedule: Schedule) -> str | None:
    """The message the workflow would answer an approval with, for the rules known before the gate runs: the
    state, four eyes, and the approver role over the schedule's area and every target."""
    try:
        check_decision(schedule, principal.username)
        for chain in (get_area(uow, schedule.area_code).chain(), *target_chains(uow, schedule.targets)):
            principal.require(Action.APPROVE_SCHEDULES, chain)
    except DomainError as exc:
        return exc.message
    return None


def _awaiting(uow: UnitOfWork, principal: Principal, schedule: Schedule, reached: int) -> Awaiting:
    programme = programme_of(uow, schedule.programme_id)
    ready = playable(uow, [programme])[programme.id]
    return Awaiting(schedule, programme, ready.media, ready.stream_url, reached,
                    decision_refusal(uow, principal, schedule))


def approval_inbox(uow: UnitOfWork, principal: Principal, *, limit: int = INBOX_LIMIT) -> list[Awaiting]:
    """Submitted schedules owned by the areas where the principal approves, the longest waiting first."""
    with uow:
        scope = frozenset(principal.areas_for(Action.APPROVE_SCHEDULES))
        if not scope:
            return []
        found = uow.schedules.list(within_areas=scope, status=ScheduleStatus.SUBMITTED.value, limit=limit)
        ordered = sorted(found, key=lambda s: (s.submitted_at is None, s.submitted_at, s.id))
        reached = reach_counts(uow, [s.targets for s in ordered])
        return [_awaiting(uow, principal, s, n) for s, n in zip(ordered, reached, strict=True)]


def awaiting(uow: UnitOfWork, principal: Principal, schedule: Schedule) -> Awaiting:
    """One schedule as the inbox shows it (the caller has read it through services.schedules.get_schedule)."""
    with uow:
        return _awaiting(uow, principal, schedule, len(devices_reached(uow, schedule.targets)))
