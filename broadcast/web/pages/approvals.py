"""Page 5, approvals: the leader's inbox of schedules waiting for a decision, where each can be listened to before
it is approved, rejected with a reason, or, when it overlaps an approved schedule of the same class, ordered.

Decisions go through services/schedules.py (approve_schedule, reject_schedule) as the API's do; their refusals
(four eyes, a state, an overlap nobody ordered) come back as a message on the page."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response

from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import DomainError, PermissionDenied
from broadcast.domain.recurrence_text import describe_rrule
from broadcast.domain.scheduling import STATUS_LABELS, ScheduleStatus
from broadcast.services import schedules as workflow
from broadcast.services.approval_inbox import approval_inbox, awaiting
from broadcast.services.schedule_checks import Checks, check_schedule, describe_targets
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.pages.schedules import Posted
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RANK_LIMIT = 1000
ORDERS = ("first", "after")  # this schedule plays before, or after, the approved ones it overlaps
NOT_LISTENED = "Hãy nghe nội dung chương trình và đánh dấu “Tôi đã nghe nội dung” trước khi duyệt."


def require_approver(principal: Principal) -> None:
    if not principal.areas_for(Action.APPROVE_SCHEDULES):
        raise PermissionDenied(f"Tài khoản {principal.username} không có quyền duyệt lịch phát.", code="forbidden")


def _sentence(item, tz: str) -> str:
    return describe_rrule(item.schedule.rrule, datetime.fromisoformat(item.schedule.start_local), tz)


@router.get("/duyet-lich", name="approvals")
def inbox_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal) -> Response:
    require_approver(principal)
    tz = container.settings.timezone
    items = approval_inbox(uow, principal)
    return request.app.state.pages.render(request, "approvals.html", items=items, checks=None,
                                          sentences={i.schedule.id: _sentence(i, tz) for i in items})


def rank_for(checks: Checks, order: str) -> int | None:
    """The rank that puts the schedule before (or after) every approved schedule it overlaps within its class."""
    others = [checks.ranks[sid] for c in checks.blocking for sid in (c.winner_schedule_id, c.loser_schedule_id)
              if sid != checks.candidate and sid in checks.ranks]
    if order not in ORDERS or not others:
        return None
    rank = min(others) - 1 if order == "first" else max(others) + 1
    return max(-RANK_LIMIT, min(RANK_LIMIT, rank))


def _checked(container, uow, principal: Principal, schedule_id: int):
    schedule = workflow.get_schedule(uow, principal, schedule_id)
    item = awaiting(uow, principal, schedule)
    checks = None
    if schedule.status is ScheduleStatus.SUBMITTED:
        checks = check_schedule(uow, principal, schedule, item.programme, container.settings.timezone,
                                container.clock.now())
    return item, checks


@router.get("/duyet-lich/{schedule_id:int}", name="approval")
def decision_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal,
                  schedule_id: int) -> Response:
    item, checks = _checked(container, uow, principal, schedule_id)
    s = item.schedule
    return request.app.state.pages.render(
        request, "approvals_detail.html", item=item, s=s, programme=item.programme, checks=checks,
        sentence=_sentence(item, container.settings.timezone), targets=describe_targets(uow, s.targets),
        reached=item.reached, status_labels=STATUS_LABELS)


def _back(request: Request, schedule_id: int) -> Response:
    return redirect(request, f"/duyet-lich/{schedule_id}")


@router.post("/duyet-lich/{schedule_id:int}/duyet", dependencies=[CsrfChecked])
def approve(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, schedule_id: int,
            data: Posted) -> Response:
    assert actor.principal is not None
    item, checks = _checked(container, uow, actor.principal, schedule_id)
    if data.get("listened") != "1":
        response = _back(request, schedule_id)
        flash(response, container, NOT_LISTENED, "error")
        return response
    order = data.get("order")
    rank = rank_for(checks, order) if checks and isinstance(order, str) else None
    try:
        workflow.approve_schedule(uow, container.clock, actor, schedule_id, container.settings.timezone, rank=rank,
                                  on_approved=container.wake_compile)
    except DomainError as exc:  # four eyes, another state, an overlap still unordered: said on the page
        response = _back(request, schedule_id)
        flash(response, container, exc.message, "error")
        return response
    response = redirect(request, "/duyet-lich")
    flash(response, container, f"Đã duyệt lịch phát số {schedule_id} «{item.programme.title}».", "ok")
    return response


@router.post("/duyet-lich/{schedule_id:int}/tu-choi", dependencies=[CsrfChecked])
def reject(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, schedule_id: int,
           data: Posted) -> Response:
    assert actor.principal is not None
    schedule = workflow.get_schedule(uow, actor.principal, schedule_id)
    reason = data.get("reason")
    try:
        workflow.reject_schedule(uow, container.clock, actor, schedule.id, reason if isinstance(reason, str) else "")
    except DomainError as exc:
        response = _back(request, schedule_id)
        flash(response, container, exc.message, "error")
        return response
    response = redirect(request, "/duyet-lich")
    flash(response, container, f"Đã từ chối lịch phát số {schedule_id}; người soạn sẽ thấy lý do.", "ok")
    return response
