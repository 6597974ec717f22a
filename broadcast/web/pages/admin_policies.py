"""Page 9, quiet hours: an area's broadcast policy as it is in force (inherited from the province, then the
commune's own choices) and the form that sets the area's own, through services/policies.py as PUT /policies/{area}.
Whoever may set policies (Action.MANAGE_POLICY) sees the page; the service decides again on each save."""
from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import InvalidInput
from broadcast.domain.recurrence import WEEKDAY_NAMES_VI
from broadcast.services.areas import get_area
from broadcast.services.policies import describe_policy, set_policy
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.errors import status_for
from broadcast.web.pages.listing import area_choices
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PATH = "/quan-tri/khung-gio-phat"
MAX_WINDOWS = 12


async def posted_form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]


def parse_windows(text: str) -> list[str] | None:
    """'05:00-07:00, 17:00-19:00' (commas, semicolons or lines between windows); empty inherits (None)."""
    parts = [p.strip() for p in re.split(r"[,;\n]+", text) if p.strip()]
    if len(parts) > MAX_WINDOWS:
        raise InvalidInput(f"Tối đa {MAX_WINDOWS} khung giờ.", code="policy.too_many_windows")
    return parts or None


def parse_minutes(text: str) -> int | None:
    """Whole minutes from 0 to 1440; empty inherits (None)."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 1440:
        raise InvalidInput("Số phút tối đa mỗi ngày phải là số nguyên từ 0 đến 1440 (1440: không giới hạn).",
                           code="policy.invalid_cap")
    return int(text)


def parse_weekdays(values: list[str]) -> list[int] | None:
    """Ticked weekdays (0 = Thứ Hai); none ticked inherits (None)."""
    days = sorted({int(v) for v in values if v.isdigit() and int(v) <= 6})
    return days or None


def _render(request: Request, uow, principal: Principal, area_code: str, *, form: dict | None = None,
            error: str | None = None, status: int = 200) -> Response:
    choices = area_choices(uow, principal, Action.MANAGE_POLICY)
    policy = describe_policy(uow, principal, area_code)
    own = policy["own"] or {}
    shown = form or {"windows": ", ".join(own.get("windows") or []),
                     "minutes": "" if own.get("max_minutes_per_day") is None else str(own["max_minutes_per_day"]),
                     "weekdays": own.get("weekdays") or []}
    parent = policy["inherited_from"]
    return request.app.state.pages.render(
        request, "admin_policies.html", status=status, areas=choices, area_code=area_code,
        area_name=get_area(uow, area_code).name, policy=policy, own=policy["own"], form=shown, error=error,
        weekday_names=WEEKDAY_NAMES_VI, parent_name=get_area(uow, parent).name if parent else "")


@router.get(PATH, name="admin_policies")
def policies_page(request: Request, uow: UowDep, principal: PagePrincipal, khu_vuc: str | None = None) -> Response:
    principal.require(Action.MANAGE_POLICY, None)
    choices = area_choices(uow, principal, Action.MANAGE_POLICY)
    area_code = (khu_vuc or "").strip() or (choices[0].code if choices else "")
    return _render(request, uow, principal, area_code)


@router.post(PATH, dependencies=[CsrfChecked])
def save_policy(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal, actor: PageActor,
                form: Posted) -> Response:
    def text(key: str) -> str:
        value = form.get(key)
        return value if isinstance(value, str) else ""

    area_code, windows, minutes = text("khu_vuc").strip(), text("khung_gio"), text("phut_toi_da")
    weekdays = [v for v in form.getlist("ngay") if isinstance(v, str)]
    typed = {"windows": windows, "minutes": minutes, "weekdays": [int(v) for v in weekdays if v.isdigit()]}
    try:
        set_policy(uow, container.clock, actor, area_code, windows=parse_windows(windows),
                   max_minutes_per_day=parse_minutes(minutes), weekdays=parse_weekdays(weekdays))
    except InvalidInput as exc:
        return _render(request, uow, principal, area_code, form=typed, error=exc.message, status=status_for(exc))
    response = redirect(request, f"{PATH}?{urlencode({'khu_vuc': area_code})}")
    flash(response, container, "Đã lưu quy định khung giờ phát. Lịch phát mới sẽ được kiểm tra theo quy định này.",
          "ok")
    return response
