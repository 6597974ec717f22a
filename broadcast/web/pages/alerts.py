"""The alerts page: open, acknowledged and past alerts of the officer's areas with filters, acknowledging one with
a note, and the map of loudspeakers coloured by state (fault, taken in hand, offline, fine)."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from broadcast.domain.alerts import CAUSE_LABELS, AlertState, Cause, describe
from broadcast.domain.auth import Action
from broadcast.domain.devices import DeviceQuery
from broadcast.domain.errors import DomainError
from broadcast.services import alerts as service
from broadcast.services.area_scope import areas_within
from broadcast.services.devices import map_points
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.pages.devices import MAP_LIMIT, Posted
from broadcast.web.pages.listing import PAGE_SIZE, Pager, page_number
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PATH = "/canh-bao"
STATE_LABELS = {"open": "Chưa xử lý", "acknowledged": "Đang xử lý", "resolved": "Đã hết"}
COLOURS = {"open": "#b91c1c", "acknowledged": "#d97706", "offline": "#6b7280", "ok": "#1e6b34"}


@dataclass(frozen=True)
class AlertFilters:
    area: str = ""
    state: str = "open"
    cause: str = ""

    @classmethod
    def of(cls, request: Request) -> AlertFilters:
        p = request.query_params
        state = p.get("trang-thai", "open")
        cause = p.get("loai", "")
        return cls(p.get("khu", "").strip()[:16], state if state in STATE_LABELS or state == "tat-ca" else "open",
                   cause if cause in set(Cause) else "")

    def params(self) -> dict[str, str]:
        return {k: v for k, v in (("khu", self.area), ("trang-thai", self.state), ("loai", self.cause)) if v}

    def url(self, path: str = PATH) -> str:
        return f"{path}?{urlencode(self.params())}"


@router.get(PATH, name="alerts")
def alerts_page(request: Request, uow: UowDep, principal: PagePrincipal, container: ContainerDep,
                trang: str | None = None) -> Response:
    f = AlertFilters.of(request)
    number = page_number(trang)
    areas = areas_within(uow, principal.areas_for(Action.READ))
    found = service.list_alerts(uow, principal, area=f.area or None, state=None if f.state == "tat-ca" else f.state,
                                cause=f.cause or None, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE)
    found, has_next = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    with uow:
        names = uow.alerts.device_names([a.device_id for a in found])
    rows = [{"alert": a, "text": describe(a.cause.value, a.details), "label": CAUSE_LABELS[a.cause],
             "device_name": names.get(a.device_id, a.device_id),
             "may_ack": a.state is AlertState.OPEN and principal.may(Action.ACKNOWLEDGE_ALERTS,
                                                                     (a.commune_code, *_province(areas, a)))}
            for a in found]
    settings = container.settings
    return request.app.state.pages.render(
        request, "alerts.html", f=f, areas=areas, area_names={a.code: a.name for a in areas}, rows=rows,
        state_labels=STATE_LABELS, cause_labels={c.value: label for c, label in CAUSE_LABELS.items()},
        pager=Pager(number, PAGE_SIZE, has_next, PATH, f.params()),
        map_data=f.url("/canh-bao/ban-do.json"), tile_url=settings.map_tile_url,
        tile_attribution=settings.map_tile_attribution)


def _province(areas, alert) -> tuple[str, ...]:
    parent = next((a.parent_code for a in areas if a.code == alert.commune_code), None)
    return (parent,) if parent else ()


@router.get("/canh-bao/ban-do.json", name="alerts_map")
def alerts_map(request: Request, uow: UowDep, principal: PagePrincipal) -> Response:
    """Every device with coordinates in the filtered area, coloured by its worst unresolved alert."""
    f = AlertFilters.of(request)
    devices = map_points(uow, principal, DeviceQuery(area_code=f.area or None, include_disabled=False,
                                                     limit=MAP_LIMIT + 1))
    worst: dict[str, str] = {}
    for state in ("acknowledged", "open"):  # open wins
        for a in service.list_alerts(uow, principal, area=f.area or None, state=state, limit=MAP_LIMIT):
            worst[a.device_id] = state
    points, shown = [], devices[:MAP_LIMIT]
    for d in shown:
        if d.latitude is None or d.longitude is None:
            continue
        state = worst.get(d.id) or ("ok" if d.online else "offline")
        points.append({"id": d.id, "name": d.name, "lat": d.latitude, "lon": d.longitude, "online": d.online,
                       "colour": COLOURS[state], "state_text": {"open": "có cảnh báo chưa xử lý",
                                                                "acknowledged": "cảnh báo đang được xử lý",
                                                                "offline": "mất kết nối",
                                                                "ok": "bình thường"}[state],
                       "url": f"/thiet-bi/{d.id}"})
    return JSONResponse({"points": points, "without_location": len(shown) - len(points),
                         "truncated": len(devices) > MAP_LIMIT,
                         "legend": "đỏ: có cảnh báo, vàng: đang xử lý, xám: mất kết nối, xanh: bình thường"},
                        headers={"Cache-Control": "no-store"})


@router.post("/canh-bao/{alert_id}/xac-nhan", dependencies=[CsrfChecked])
def acknowledge(alert_id: int, request: Request, container: ContainerDep, uow: UowDep, actor: PageActor,
                form: Posted) -> Response:
    back = str(form.get("back", PATH))
    response = redirect(request, back if back.startswith(PATH) else PATH)
    try:
        service.acknowledge(uow, container.clock, actor, alert_id, str(form.get("note", ""))[:1000],
                            notify=container.notifier)
    except DomainError as exc:
        flash(response, container, exc.message, "error")
        return response
    flash(response, container, "Đã ghi nhận: bạn đang xử lý cảnh báo này.")
    return response
