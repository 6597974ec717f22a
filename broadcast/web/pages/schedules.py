"""Page 4, schedules: a week or month calendar of what plays in the user's areas, the form that builds a schedule
(recurrence in plain Vietnamese, commune then villages then devices, how many devices it reaches, and what submission
would refuse or report, shown before submitting), and each schedule's page (edit, submit, cancel).

Every change goes through services/schedules.py, as the API does; the pages add one rule of their own: a schedule
that reaches no device is not saved (the form says why)."""
from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData, QueryParams

from broadcast.domain.areas import Area, AreaLevel
from broadcast.domain.auth import Action, Principal
from broadcast.domain.devices import DeviceQuery
from broadcast.domain.errors import DomainError, InvalidInput, PermissionDenied
from broadcast.domain.recurrence_text import describe_rrule
from broadcast.domain.scheduling import STATUS_LABELS, Programme, Schedule, ScheduleStatus, TargetSet
from broadcast.domain.text import fold
from broadcast.services import schedules as workflow
from broadcast.services.areas import get_area, list_areas, list_zones
from broadcast.services.devices import list_devices
from broadcast.services.programmes import get_programme, list_programmes, programme_of
from broadcast.services.schedule_calendar import calendar_slots, unfinished_schedules
from broadcast.services.schedule_checks import (
    NO_DEVICE,
    Checks,
    check_schedule,
    describe_targets,
    devices_reached,
    require_on_targets,
)
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.errors import status_for
from broadcast.web.pages.schedule_form import ENDS, REPEATS, WEEKDAY_CHOICES, ScheduleForm, parse_day
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
VIEWS = {"tuan": "Tuần", "thang": "Tháng"}
PROGRAMME_CHOICES = 300
DEVICE_CHOICES = 1000
NO_TARGET = "Chưa chọn nơi phát: toàn xã, phường, một hay nhiều vùng phát, hoặc thiết bị."
NOT_SUBMITTED = "Chưa gửi duyệt được: lịch phát còn vướng những điểm nêu trong phần Kiểm tra trước khi gửi."
EDITABLE = (ScheduleStatus.DRAFT, ScheduleStatus.SUBMITTED, ScheduleStatus.APPROVED, ScheduleStatus.REJECTED)


async def posted_form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]


def _form_of(data: FormData | QueryParams) -> ScheduleForm:
    single = {k: v for k, v in data.items() if isinstance(v, str)}
    lists = {k: [v for v in data.getlist(k) if isinstance(v, str)] for k in ("zones", "devices", "weekdays")}
    return ScheduleForm.from_form(single, lists)


def programme_named(uow, programme_id: int) -> Programme:
    """The programme a schedule or the form names (NotFound if none)."""
    with uow:
        return programme_of(uow, programme_id)


def _today(container) -> date:
    return container.clock.now().astimezone(ZoneInfo(container.settings.timezone)).date()


# -- the calendar -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CalendarDay:
    day: date
    slots: list
    in_month: bool = True


def _day_param(value: str | None, today: date) -> date:
    if not value:
        return today
    try:
        return parse_day(value, "Ngày")
    except InvalidInput:
        return today


def _link(view: str, day: date) -> str:
    return "/lich-phat?" + urlencode({"xem": view, "ngay": f"{day:%d/%m/%Y}"})


def _period(view: str, day: date) -> tuple[date, date, date, date]:
    """(first shown, day after the last shown, previous period's day, next period's day)."""
    if view == "thang":
        first = day.replace(day=1)
        last = day.replace(day=monthrange(day.year, day.month)[1])
        previous = (first - timedelta(days=1)).replace(day=1)
        following = last + timedelta(days=1)
        return first - timedelta(days=first.weekday()), last + timedelta(days=7 - last.weekday()), previous, following
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=7), monday - timedelta(days=7), monday + timedelta(days=7)


@router.get("/lich-phat", name="schedules")
def calendar_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal,
                  xem: str = "tuan", ngay: str | None = None) -> Response:
    tz = ZoneInfo(container.settings.timezone)
    today = _today(container)
    view = xem if xem in VIEWS else "tuan"
    day = _day_param(ngay, today)
    first, after, previous, following = _period(view, day)
    start, end = (datetime.combine(d, time(), tzinfo=tz) for d in (first, after))
    by_day: dict[date, list] = {}
    for slot in calendar_slots(uow, principal, start, end, container.settings.timezone):
        by_day.setdefault(slot.start.astimezone(tz).date(), []).append(slot)
    days = [CalendarDay(d, by_day.get(d, []), view == "tuan" or d.month == day.month)
            for d in (first + timedelta(days=n) for n in range((after - first).days))]
    return request.app.state.pages.render(
        request, "schedules.html", view=view, views=VIEWS, day=day, today=today, days=days,
        weeks=[days[n:n + 7] for n in range(0, len(days), 7)], link=_link,
        previous=_link(view, previous), following=_link(view, following), this_period=_link(view, today),
        unfinished=unfinished_schedules(uow, principal), status_labels=STATUS_LABELS,
        may_edit=bool(principal.areas_for(Action.EDIT_SCHEDULES)))


# -- the form -----------------------------------------------------------------------------------------------------

def editable_communes(uow, principal: Principal) -> list[Area]:
    """The communes where the principal may write schedules (a province grant: each of its communes)."""
    found: dict[str, Area] = {}
    for code in principal.areas_for(Action.EDIT_SCHEDULES):
        area = get_area(uow, code)
        if area.level is AreaLevel.COMMUNE:
            found[area.code] = area
        else:
            found.update((a.code, a) for a in list_areas(uow, level=AreaLevel.COMMUNE, parent_code=area.code,
                                                         query=None, limit=5000, offset=0))
    return sorted(found.values(), key=lambda a: (fold(a.name), a.code))


def _picker(uow, principal: Principal, area_code: str) -> dict:
    """The zones and devices of the chosen commune, for the target picker."""
    if not area_code:
        return {"zones": [], "devices": []}
    zones = list_zones(uow, principal, commune_code=area_code, limit=500, offset=0)
    devices = [d for d, _state in list_devices(uow, principal, DeviceQuery(area_code=area_code, include_disabled=False,
                                                                           limit=DEVICE_CHOICES))]
    return {"zones": zones, "devices": devices}


def _reach(uow, principal: Principal, targets: TargetSet) -> tuple[str, ...]:
    """Devices the targets reach, once the principal may read every target (an unknown target reaches none)."""
    try:
        require_on_targets(uow, principal, Action.READ, targets)
    except PermissionDenied:
        raise
    except DomainError:
        return ()
    return devices_reached(uow, targets)


def _checks(container, uow, principal: Principal, form: ScheduleForm, schedule_id: int) -> tuple[Checks, str | None]:
    """What submission would find for the form as it stands, and the sentence of its timing (None: not valid yet)."""
    tz = container.settings.timezone
    me = str(schedule_id)
    targets = form.targets()
    if targets.empty:
        reached: tuple[str, ...] = ()
        problems: tuple[str, ...] = (NO_TARGET,)
    else:
        reached = _reach(uow, principal, targets)
        problems = () if reached else (NO_DEVICE,)
    try:
        start = form.start_local()
        rrule = form.rrule()
        sentence = describe_rrule(rrule, datetime.fromisoformat(start), tz)
    except DomainError as exc:
        return Checks(me, reached, (*problems, exc.message)), None
    try:
        draft = form.draft()
        programme = programme_named(uow, draft.programme_id)
    except DomainError as exc:
        return Checks(me, reached, (*problems, exc.message)), sentence
    if targets.empty:
        return Checks(me, reached, problems), sentence
    candidate = Schedule(id=schedule_id, programme_id=draft.programme_id, status=ScheduleStatus.DRAFT,
                         targets=targets, start_local=start, volume=draft.volume, area_code=form.area_code,
                         author=principal.username, created_at=container.clock.now(), rrule=rrule,
                         exdates=draft.exdates)
    return check_schedule(uow, principal, candidate, programme, tz, container.clock.now()), sentence


def _form_page(request: Request, container, uow, principal: Principal, form: ScheduleForm, *, schedule=None,
               error: str | None = None, status: int = 200) -> Response:
    communes = editable_communes(uow, principal)
    if not communes:
        raise PermissionDenied(f"Tài khoản {principal.username} không có quyền soạn lịch phát.",
                               code="forbidden")
    if not form.area_code:
        form = replace(form, area_code=communes[0].code, whole_area=True)
    checks, sentence = _checks(container, uow, principal, form, schedule.id if schedule else 0)
    programmes = list_programmes(uow, principal, topic=None, limit=PROGRAMME_CHOICES, offset=0)
    if form.programme_id.isdigit() and all(p.id != int(form.programme_id) for p in programmes):
        programmes = [get_programme(uow, principal, int(form.programme_id)), *programmes]
    return request.app.state.pages.render(
        request, "schedules_form.html", status=status, f=form, schedule=schedule, communes=communes,
        programmes=programmes, repeats=REPEATS, ends=ENDS, weekdays=WEEKDAY_CHOICES, checks=checks,
        sentence=sentence, error=error, **_picker(uow, principal, form.area_code))


@router.get("/lich-phat/moi", name="schedule_new")
def new_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal,
             xa: str = "", chuong_trinh: str = "") -> Response:
    if "area_code" in request.query_params:  # "choose this commune" without JavaScript: the form comes back as typed
        form = _form_of(request.query_params)
    else:
        tomorrow = _today(container) + timedelta(days=1)
        form = ScheduleForm(area_code=xa, whole_area=bool(xa), programme_id=chuong_trinh,
                            start_date=tomorrow.isoformat(), weekdays=[tomorrow.weekday()],
                            until_date=(tomorrow + timedelta(days=30)).isoformat())
    return _form_page(request, container, uow, principal, form)


@router.get("/lich-phat/noi-phat", name="schedule_targets")
def targets_panel(request: Request, uow: UowDep, principal: PagePrincipal, area_code: str = "") -> Response:
    """The target picker of one commune (htmx swaps it in when the commune changes)."""
    form = ScheduleForm(area_code=area_code, whole_area=True)
    return request.app.state.pages.render(request, "schedules_targets.html", f=form,
                                          **_picker(uow, principal, area_code))


@router.post("/lich-phat/xem-truoc", name="schedule_preview", dependencies=[CsrfChecked])
def preview_panel(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal,
                  data: Posted) -> Response:
    """The sentence, the reach and what submission would say, for the form as it stands (htmx, on change)."""
    form = _form_of(data)
    schedule_id = data.get("schedule_id")
    sid = int(schedule_id) if isinstance(schedule_id, str) and schedule_id.isdigit() else 0
    checks, sentence = _checks(container, uow, principal, form, sid)
    return request.app.state.pages.render(request, "schedules_preview.html", checks=checks, sentence=sentence,
                                          f=form)


def _save(request: Request, container, uow, actor, data: FormData, schedule: Schedule | None) -> Response:
    principal = actor.principal
    form = _form_of(data)
    submitting = data.get("action") == "submit"
    tz = container.settings.timezone
    try:
        draft = form.draft(schedule)
        if not draft.targets.empty and not _reach(uow, principal, draft.targets):
            raise InvalidInput(NO_DEVICE, code="no_device_reached")
        if submitting:  # refused before anything is saved, with the list of what stands in the way
            checks, _sentence = _checks(container, uow, principal, form, schedule.id if schedule else 0)
            if not checks.passes or (checks.blocking and not form.leave_order):
                raise InvalidInput(NOT_SUBMITTED, code="not_submittable")
        if schedule is None:
            saved = workflow.create_schedule(uow, container.clock, actor, draft, tz)
        else:
            saved = workflow.edit_schedule(uow, container.clock, actor, schedule.id, draft, tz)
            container.wake_compile()  # an approved schedule that was edited stops playing until approved again
    except DomainError as exc:
        return _form_page(request, container, uow, principal, form, schedule=schedule, error=exc.message,
                          status=status_for(exc))
    response = redirect(request, f"/lich-phat/{saved.id}")
    message = "Đã lưu lịch phát." if saved.status is not ScheduleStatus.SUBMITTED else \
        "Đã lưu lịch phát; lịch đang chờ lãnh đạo duyệt lại."
    if submitting and saved.status in (ScheduleStatus.DRAFT, ScheduleStatus.REJECTED):
        try:
            workflow.submit_schedule(uow, container.clock, actor, saved.id, tz,
                                     leave_order_to_approver=form.leave_order)
            message = "Đã lưu và gửi lịch phát cho lãnh đạo duyệt."
        except DomainError as exc:
            flash(response, container, f"Đã lưu bản nháp nhưng chưa gửi duyệt được: {exc.message}", "error")
            return response
    flash(response, container, message, "ok")
    return response


@router.post("/lich-phat/moi", dependencies=[CsrfChecked])
def create(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, data: Posted) -> Response:
    return _save(request, container, uow, actor, data, None)


# -- one schedule -------------------------------------------------------------------------------------------------

def _owner_chain(uow, schedule: Schedule) -> tuple[str, ...]:
    return get_area(uow, schedule.area_code).chain()


@router.get("/lich-phat/{schedule_id:int}", name="schedule")
def detail_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal,
                schedule_id: int) -> Response:
    schedule = workflow.get_schedule(uow, principal, schedule_id)
    tz = container.settings.timezone
    programme = programme_named(uow, schedule.programme_id)
    chain = _owner_chain(uow, schedule)
    unfinished = schedule.status in (ScheduleStatus.DRAFT, ScheduleStatus.SUBMITTED, ScheduleStatus.REJECTED)
    checks = check_schedule(uow, principal, schedule, programme, tz, container.clock.now()) if unfinished else None
    may_edit = principal.may(Action.EDIT_SCHEDULES, chain)
    return request.app.state.pages.render(
        request, "schedules_detail.html", s=schedule, programme=programme, checks=checks,
        sentence=describe_rrule(schedule.rrule, datetime.fromisoformat(schedule.start_local), tz),
        targets=describe_targets(uow, schedule.targets), status_labels=STATUS_LABELS,
        reached=len(checks.reached) if checks else len(devices_reached(uow, schedule.targets)),
        may_edit=may_edit and schedule.status in EDITABLE,
        may_submit=may_edit and schedule.status in (ScheduleStatus.DRAFT, ScheduleStatus.REJECTED),
        may_cancel=schedule.status is not ScheduleStatus.CANCELLED
        and (may_edit or principal.may(Action.APPROVE_SCHEDULES, chain)),
        may_approve=schedule.status is ScheduleStatus.SUBMITTED and principal.may(Action.APPROVE_SCHEDULES, chain))


def _editable(uow, principal: Principal, schedule_id: int) -> Schedule:
    schedule = workflow.get_schedule(uow, principal, schedule_id)
    principal.require(Action.EDIT_SCHEDULES, _owner_chain(uow, schedule))
    return schedule


@router.get("/lich-phat/{schedule_id:int}/sua", name="schedule_edit")
def edit_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal,
              schedule_id: int) -> Response:
    schedule = _editable(uow, principal, schedule_id)
    form = ScheduleForm.from_schedule(schedule, schedule.area_code, container.settings.timezone)
    return _form_page(request, container, uow, principal, form, schedule=schedule)


@router.post("/lich-phat/{schedule_id:int}/sua", dependencies=[CsrfChecked])
def edit(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, schedule_id: int,
         data: Posted) -> Response:
    assert actor.principal is not None
    return _save(request, container, uow, actor, data, _editable(uow, actor.principal, schedule_id))


def _act(request: Request, container, schedule_id: int, done: str, action) -> Response:
    """Run a workflow step; its refusal (a state, four eyes, an overlap) comes back as a message on the page."""
    response = redirect(request, f"/lich-phat/{schedule_id}")
    try:
        action()
    except PermissionDenied:
        raise
    except DomainError as exc:
        flash(response, container, exc.message, "error")
        return response
    flash(response, container, done, "ok")
    return response


@router.post("/lich-phat/{schedule_id:int}/gui-duyet", dependencies=[CsrfChecked])
def submit(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, schedule_id: int,
           data: Posted) -> Response:
    assert actor.principal is not None
    schedule = _editable(uow, actor.principal, schedule_id)
    if not devices_reached(uow, schedule.targets):
        response = redirect(request, f"/lich-phat/{schedule_id}")
        flash(response, container, NO_DEVICE, "error")
        return response
    return _act(request, container, schedule_id, "Đã gửi lịch phát cho lãnh đạo duyệt.",
                lambda: workflow.submit_schedule(uow, container.clock, actor, schedule_id, container.settings.timezone,
                                                 leave_order_to_approver=data.get("leave_order") == "1"))


@router.post("/lich-phat/{schedule_id:int}/huy", dependencies=[CsrfChecked])
def cancel(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, schedule_id: int) -> Response:
    assert actor.principal is not None
    workflow.get_schedule(uow, actor.principal, schedule_id)
    return _act(request, container, schedule_id, "Đã hủy lịch phát.", lambda: workflow.cancel_schedule(
        uow, container.clock, actor, schedule_id, on_cancelled=container.wake_compile))
