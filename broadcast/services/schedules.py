"""The approval workflow: an officer drafts and submits, a leader approves or rejects, anyone may cancel.

Submit and approve check the area policy (quiet hours, weekdays, daily minutes; emergencies exempt) and report
overlaps on shared devices; same-class overlaps nobody has ordered are refused with the list (HTTP 409) until
the approver gives a rank or the officer shifts a start.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from broadcast.domain.scheduling import (
    Programme,
    Schedule,
    ScheduleStatus,
    TargetSet,
    after_edit,
    check_cancel,
    check_decision,
    check_submit,
    check_volume,
    edited_by,
)
from broadcast.domain.text import clean_text
from broadcast.services.areas import get_area
from broadcast.services.context import Actor, audit
from broadcast.services.planning import (
    conflict_dicts,
    conflicts_for,
    load_plan,
    policy_violations,
    target_chains,
    unresolved,
    violation_dicts,
)
from broadcast.services.ports import Clock, ScheduleUnitOfWork
from broadcast.services.programmes import may_read_programme, programme_of, require_playable


@dataclass(frozen=True)
class ScheduleDraft:
    programme_id: int
    targets: TargetSet
    start_local: str
    volume: int = 80
    rrule: str | None = None
    exdates: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    area_code: str | None = None  # owner; default: the programme's area


@dataclass(frozen=True)
class Outcome:
    schedule: Schedule
    conflicts: list[dict]


def _check_timing(schedule: Schedule, tz: str, now: datetime) -> None:
    schedule.timing(tz).validate(now)


def _load(uow: ScheduleUnitOfWork, schedule_id: int) -> Schedule:
    schedule = uow.schedules.get(schedule_id, for_update=True)
    if schedule is None:
        raise NotFound(f"Không tìm thấy lịch phát số {schedule_id}.", code="schedule_not_found")
    return schedule


def _require_on_targets(uow: ScheduleUnitOfWork, actor: Actor, action: Action, schedule: Schedule) -> None:
    actor.require(action, get_area(uow, schedule.area_code).chain())
    for chain in target_chains(uow, schedule.targets):
        actor.require(action, chain)


def _usable_programme(uow: ScheduleUnitOfWork, actor: Actor, programme_id: int) -> Programme:
    """Whoever writes or approves a schedule must be allowed to read its programme (the API's rule), so no
    officer gets another area's programme signed into his area's devices."""
    programme = uow.programmes.get(programme_id)
    if programme is None:
        raise NotFound(f"Không tìm thấy chương trình số {programme_id}.", code="programme_not_found")
    if actor.principal is not None and not may_read_programme(uow, actor.principal, programme):
        raise PermissionDenied(f"Lịch phát chỉ được dùng chương trình mà người soạn và người duyệt đều được xem: "
                               f"tài khoản {actor.name} không có quyền xem chương trình số {programme_id}.",
                               code="programme_not_readable")
    return programme


def _fill(draft: ScheduleDraft, base: Schedule) -> Schedule:
    check_volume(draft.volume)
    return replace(base, programme_id=draft.programme_id, targets=draft.targets, start_local=draft.start_local,
                   volume=draft.volume, rrule=draft.rrule or None, exdates=tuple(draft.exdates),
                   valid_from=draft.valid_from, valid_until=draft.valid_until)


def create_schedule(uow: ScheduleUnitOfWork, clock: Clock, actor: Actor, draft: ScheduleDraft, tz: str) -> Schedule:
    with uow:
        programme = _usable_programme(uow, actor, draft.programme_id)
        now = clock.now()
        schedule = _fill(draft, Schedule(id=0, programme_id=programme.id, status=ScheduleStatus.DRAFT,
                                         targets=draft.targets, start_local=draft.start_local, volume=draft.volume,
                                         area_code=draft.area_code or programme.area_code, author=actor.name,
                                         created_at=now, editors=(actor.name,)))
        _require_on_targets(uow, actor, Action.EDIT_SCHEDULES, schedule)
        _check_timing(schedule, tz, now)
        schedule = uow.schedules.add(schedule)
        audit(uow, clock, actor, "schedule.create", "schedule", schedule.id, area_code=schedule.area_code,
              programme_id=programme.id)
        uow.commit()
        return schedule


def edit_schedule(uow: ScheduleUnitOfWork, clock: Clock, actor: Actor, schedule_id: int, draft: ScheduleDraft,
                  tz: str) -> Schedule:
    with uow:
        current = _load(uow, schedule_id)
        _require_on_targets(uow, actor, Action.EDIT_SCHEDULES, current)
        status = after_edit(current)
        _usable_programme(uow, actor, draft.programme_id)
        edited = replace(_fill(draft, current), status=status, approver=None, decided_at=None,
                         editors=edited_by(current, actor.name))
        _require_on_targets(uow, actor, Action.EDIT_SCHEDULES, edited)
        now = clock.now()
        _check_timing(edited, tz, now)
        if status is ScheduleStatus.SUBMITTED:
            _gate(uow, edited, tz, now)
        saved = uow.schedules.save(edited, at=now)
        audit(uow, clock, actor, "schedule.edit", "schedule", saved.id, area_code=saved.area_code,
              status=saved.status.value, was=current.status.value)
        uow.commit()
        return saved


def _gate(uow: ScheduleUnitOfWork, schedule: Schedule, tz: str, now: datetime, *,
          allow_undecided: bool = False) -> list[dict]:
    """Policy and conflicts for a schedule about to be submitted or approved; returns the overlaps found.

    `allow_undecided`: an officer may submit despite same-class overlaps, leaving the order to the approver.
    """
    programme = programme_of(uow, schedule.programme_id)
    require_playable(uow, programme)
    plan = load_plan(uow, tz, candidate=schedule)
    violations = policy_violations(uow, plan, str(schedule.id), now, tz)
    if violations:
        raise InvalidInput(f"Lịch phát vi phạm quy định phát thanh của địa bàn ({len(violations)} buổi).",
                           code="policy_violation", details=violation_dicts(violations))
    conflicts = conflicts_for(plan, str(schedule.id), now)
    blocking = unresolved(conflicts)
    if blocking and not allow_undecided:
        raise Conflict("Lịch phát trùng giờ với lịch cùng mức ưu tiên trên cùng cụm loa; cần chọn thứ tự hoặc dời giờ.",
                       code="schedule_conflict", details=conflict_dicts(blocking))
    return conflict_dicts(conflicts)


def submit_schedule(uow: ScheduleUnitOfWork, clock: Clock, actor: Actor, schedule_id: int, tz: str, *,
                    leave_order_to_approver: bool = False) -> Outcome:
    with uow:
        schedule = _load(uow, schedule_id)
        _require_on_targets(uow, actor, Action.EDIT_SCHEDULES, schedule)
        check_submit(schedule)
        now = clock.now()
        _check_timing(schedule, tz, now)
        resolved = _gate(uow, schedule, tz, now, allow_undecided=leave_order_to_approver)
        saved = uow.schedules.save(replace(schedule, status=ScheduleStatus.SUBMITTED, submitted_at=now,
                                           rejection_reason=None), at=now)
        audit(uow, clock, actor, "schedule.submit", "schedule", saved.id, area_code=saved.area_code)
        uow.commit()
        return Outcome(saved, resolved)


def approve_schedule(uow: ScheduleUnitOfWork, clock: Clock, actor: Actor, schedule_id: int, tz: str, *,
                     rank: int | None = None, on_approved: Callable[[], None] | None = None) -> Outcome:
    """The approver holds the approver role for every target, may read the programme and neither wrote nor changed
    the schedule; `rank` orders same-class overlaps (lower plays)."""
    with uow:
        schedule = _load(uow, schedule_id)
        _require_on_targets(uow, actor, Action.APPROVE_SCHEDULES, schedule)
        check_decision(schedule, actor.name)
        _usable_programme(uow, actor, schedule.programme_id)
        if rank is not None:  # ordering overlaps is part of the approver's decision, not a change of content
            if not -1000 <= rank <= 1000:
                raise InvalidInput("Thứ tự phải từ -1000 đến 1000.", code="invalid_rank")
            schedule = replace(schedule, rank=rank)
        now = clock.now()
        _check_timing(schedule, tz, now)
        resolved = _gate(uow, schedule, tz, now)
        saved = uow.schedules.save(replace(schedule, status=ScheduleStatus.APPROVED, approver=actor.name,
                                           decided_at=now), at=now)
        audit(uow, clock, actor, "schedule.approve", "schedule", saved.id, area_code=saved.area_code,
              rank=saved.rank, overlaps=len(resolved))
        uow.commit()
    if on_approved:
        on_approved()
    return Outcome(saved, resolved)


def reject_schedule(uow: ScheduleUnitOfWork, clock: Clock, actor: Actor, schedule_id: int, reason: str) -> Schedule:
    reason = clean_text(reason, "Lý do từ chối", multiline=True)
    if not reason or len(reason) > 1000:
        raise InvalidInput("Cần ghi lý do từ chối (tối đa 1000 ký tự).", code="reason_required")
    with uow:
        schedule = _load(uow, schedule_id)
        _require_on_targets(uow, actor, Action.APPROVE_SCHEDULES, schedule)
        check_decision(schedule, actor.name)
        now = clock.now()
        saved = uow.schedules.save(replace(schedule, status=ScheduleStatus.REJECTED, approver=actor.name,
                                           decided_at=now, rejection_reason=reason), at=now)
        audit(uow, clock, actor, "schedule.reject", "schedule", saved.id, area_code=saved.area_code, reason=reason)
        uow.commit()
        return saved


def cancel_schedule(uow: ScheduleUnitOfWork, clock: Clock, actor: Actor, schedule_id: int,
                    on_cancelled: Callable[[], None] | None = None) -> Schedule:
    with uow:
        schedule = _load(uow, schedule_id)
        area_chain = get_area(uow, schedule.area_code).chain()
        if not (actor.principal is None or actor.principal.may(Action.EDIT_SCHEDULES, area_chain)):
            actor.require(Action.APPROVE_SCHEDULES, area_chain)
        check_cancel(schedule)
        now = clock.now()
        was = schedule.status
        saved = uow.schedules.save(replace(schedule, status=ScheduleStatus.CANCELLED), at=now)
        audit(uow, clock, actor, "schedule.cancel", "schedule", saved.id, area_code=saved.area_code, was=was.value)
        uow.commit()
    if on_cancelled and was is ScheduleStatus.APPROVED:
        on_cancelled()
    return saved


def get_schedule(uow: ScheduleUnitOfWork, principal: Principal, schedule_id: int) -> Schedule:
    with uow:
        schedule = uow.schedules.get(schedule_id)
        if schedule is None:
            raise NotFound(f"Không tìm thấy lịch phát số {schedule_id}.", code="schedule_not_found")
        principal.require(Action.READ, get_area(uow, schedule.area_code).chain())
        return schedule


def list_schedules(uow: ScheduleUnitOfWork, principal: Principal, *, status: str | None, programme_id: int | None,
                   limit: int, offset: int) -> Sequence[Schedule]:
    with uow:
        return uow.schedules.list(within_areas=frozenset(principal.areas_for(Action.READ)), status=status,
                                  programme_id=programme_id, limit=limit, offset=offset)
