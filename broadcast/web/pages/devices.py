"""Page 7, devices: the list with filters and a map, each device's page (live state, what it plays now and next,
recent acks, health, volume, power, reboot and resync), and the zones of a commune with the devices put into each.

Everything goes through the same services as the API: services/devices.py (list), device_activity.py (the device
page), remote_commands.py (volume, power, reboot, resync), device_zones.py (membership), areas.py (zones). A viewer
sees the lists, the map and the device pages; the controls show only where the user may manage devices (or zones)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData

from broadcast.domain.areas import AreaLevel, Zone
from broadcast.domain.auth import Action, Principal
from broadcast.domain.devices import DeviceQuery
from broadcast.domain.errors import DomainError, InvalidInput
from broadcast.services import device_zones
from broadcast.services.area_scope import areas_within
from broadcast.services.areas import ZONE_KINDS, create_zone, get_area, list_zones
from broadcast.services.device_activity import device_activity
from broadcast.services.devices import list_devices, map_points
from broadcast.services.remote_commands import send_command
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.errors import status_for
from broadcast.web.pages.device_health import health_context
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 25
MAP_LIMIT = 5000  # markers on one map; a province's whole fleet
COMMUNE_DEVICES = 2000
STATUS_CHOICES = {"": "Tất cả", "truc-tuyen": "Trực tuyến", "mat-ket-noi": "Mất kết nối"}
ZONE_KIND_LABELS = {"village": "Thôn", "residential_group": "Tổ dân phố", "hamlet": "Xóm, bản, ấp",
                    "group": "Nhóm thiết bị"}
STAGE_LABELS = {"received": "đã nhận", "rejected": "từ chối", "ready": "sẵn sàng", "failed": "lỗi",
                "playing": "đang phát", "played": "đã phát", "preempted": "bị ngắt", "missed": "bỏ lỡ",
                "expired": "hết hạn"}
CONNECTION_LABELS = {"cellular": "Di động (3G/4G/5G)", "ethernet": "Cáp mạng", "fiber": "Cáp quang", "wifi": "Wi-Fi",
                     "integration": "Qua thiết bị tích hợp (cụm loa cũ)", "other": "Khác"}
STATE_REFRESH_S = 10


async def posted_form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]


@dataclass(frozen=True)
class ListFilters:
    """The list's filters as the query string carries them (khu, trang-thai, tim, trang)."""

    area: str = ""
    status: str = ""
    search: str = ""
    page: int = 1

    @classmethod
    def of(cls, request: Request) -> ListFilters:
        params = request.query_params
        status = params.get("trang-thai", "")
        try:
            page = max(1, min(int(params.get("trang", "1")), 100_000))
        except ValueError:
            page = 1
        return cls(area=params.get("khu", "").strip()[:16], status=status if status in STATUS_CHOICES else "",
                   search=params.get("tim", "").strip()[:100], page=page)

    def query(self, *, limit: int, offset: int) -> DeviceQuery:
        online = {"truc-tuyen": True, "mat-ket-noi": False}.get(self.status)
        return DeviceQuery(area_code=self.area or None, online=online, search=self.search or None, limit=limit,
                           offset=offset)

    def url(self, path: str = "/thiet-bi", *, page: int | None = None) -> str:
        f = self if page is None else replace(self, page=page)
        params = {k: v for k, v in (("khu", f.area), ("trang-thai", f.status), ("tim", f.search),
                                    ("trang", f.page if f.page > 1 else "")) if v}
        return f"{path}?{urlencode(params)}" if params else path


# ------------------------------------------------------------------ list and map

@router.get("/thiet-bi", name="devices")
def devices_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal) -> Response:
    filters = ListFilters.of(request)
    areas = areas_within(uow, principal.areas_for(Action.READ))
    found = list_devices(uow, principal, filters.query(limit=PAGE_SIZE + 1, offset=(filters.page - 1) * PAGE_SIZE))
    settings = container.settings
    return request.app.state.pages.render(
        request, "devices.html", f=filters, areas=areas, names={a.code: a.name for a in areas},
        rows=found[:PAGE_SIZE], has_next=len(found) > PAGE_SIZE, status_choices=STATUS_CHOICES,
        map_data=filters.url("/thiet-bi/ban-do.json", page=1), tile_url=settings.map_tile_url,
        tile_attribution=settings.map_tile_attribution)


@router.get("/thiet-bi/ban-do.json", name="devices_map")
def devices_map(request: Request, uow: UowDep, principal: PagePrincipal) -> Response:
    """The filtered devices with coordinates, for the map (every page of the list, up to MAP_LIMIT)."""
    filters = ListFilters.of(request)
    found = map_points(uow, principal, filters.query(limit=MAP_LIMIT + 1, offset=0))
    shown = found[:MAP_LIMIT]
    points = [{"id": p.id, "name": p.name, "lat": p.latitude, "lon": p.longitude, "online": p.online,
               "url": f"/thiet-bi/{p.id}"} for p in shown if p.latitude is not None and p.longitude is not None]
    return JSONResponse({"points": points, "without_location": len(shown) - len(points),
                         "truncated": len(found) > MAP_LIMIT}, headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------ zones of a commune

def _zones_context(uow, principal: Principal, commune_code: str, editing: str) -> dict:
    communes = [a for a in areas_within(uow, principal.areas_for(Action.READ)) if a.level is AreaLevel.COMMUNE]
    if not commune_code and len(communes) == 1:
        commune_code = communes[0].code
    context: dict = {"communes": communes, "commune": None, "zones": [], "members": {}, "devices": [],
                     "editing": None, "kind_labels": ZONE_KIND_LABELS, "may_create": False, "may_assign": False}
    if not commune_code:
        return context
    commune = get_area(uow, commune_code)
    zones = list_zones(uow, principal, commune_code=commune.code, limit=1000, offset=0)
    devices = list_devices(uow, principal, DeviceQuery(area_code=commune.code, limit=COMMUNE_DEVICES))
    members = {z.id: [d for d, _ in devices if z.id in d.zones] for z in zones}
    context.update(commune=commune, zones=zones, members=members, devices=[d for d, _ in devices],
                   editing=next((z for z in zones if z.id == editing), None),
                   may_create=principal.may(Action.MANAGE_ZONES, commune.chain()),
                   may_assign=principal.may(Action.MANAGE_DEVICES, commune.chain()))
    return context


@router.get("/thiet-bi/khu-vuc", name="zones")
def zones_page(request: Request, uow: UowDep, principal: PagePrincipal, xa: str = "", vung: str = "") -> Response:
    context = _zones_context(uow, principal, xa.strip()[:16], vung.strip()[:64])
    return request.app.state.pages.render(request, "devices_zones.html", form={"name": "", "kind": "village",
                                                                              "description": ""},
                                          error=None, **context)


@router.post("/thiet-bi/khu-vuc", dependencies=[CsrfChecked])
def zones_create(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, principal: PagePrincipal,
                 form: Posted) -> Response:
    commune_code = str(form.get("commune", "")).strip()[:16]
    values = {"name": str(form.get("name", "")).strip()[:200], "kind": str(form.get("kind", "village")),
              "description": str(form.get("description", "")).strip()[:2000]}
    try:
        if values["kind"] not in ZONE_KINDS:
            raise InvalidInput("Loại vùng phát không hợp lệ.", code="invalid_zone_kind")
        zone = create_zone(uow, container.clock, actor, commune_code=commune_code, name=values["name"],
                           kind=values["kind"], description=values["description"])
    except DomainError as exc:
        if not commune_code:
            raise
        context = _zones_context(uow, principal, commune_code, "")
        return request.app.state.pages.render(request, "devices_zones.html", status=status_for(exc), form=values,
                                              error=exc.message, **context)
    response = redirect(request, f"/thiet-bi/khu-vuc?{urlencode({'xa': zone.commune_code, 'vung': zone.id})}")
    flash(response, container, f"Đã tạo vùng phát “{zone.name}”. Chọn các cụm loa thuộc vùng này.", "ok")
    return response


@router.post("/thiet-bi/khu-vuc/{zone_id}", dependencies=[CsrfChecked])
def zones_assign(zone_id: str, request: Request, container: ContainerDep, uow: UowDep, actor: PageActor,
                 form: Posted) -> Response:
    members = device_zones.set_zone_members(uow, container.clock, actor, zone_id,
                                            [str(d) for d in form.getlist("devices")])
    container.wake_compile()
    commune = str(form.get("commune", "")).strip()[:16]
    response = redirect(request, f"/thiet-bi/khu-vuc?{urlencode({'xa': commune})}" if commune else "/thiet-bi/khu-vuc")
    flash(response, container, f"Đã lưu: vùng phát có {len(members)} cụm loa. Thiết bị sẽ nhận lịch phát mới "
                               "với vùng phát đã đổi trong ít phút.", "ok")
    return response


# ------------------------------------------------------------------ one device

def _device_context(container, uow, principal: Principal, device_id: str) -> dict:
    activity = device_activity(uow, principal, device_id, container.clock.now())
    zones: Sequence[Zone] = ()
    if activity.may_manage:
        zones = list_zones(uow, principal, commune_code=activity.device.commune_code, limit=1000, offset=0)
    return {"a": activity, "stage_labels": STAGE_LABELS, "connection_labels": CONNECTION_LABELS,
            "commune_zones": zones, "refresh_s": STATE_REFRESH_S,
            "now": container.clock.now(), **health_context(container, uow, principal, device_id)}


@router.get("/thiet-bi/{device_id}", name="device")
def device_page(device_id: str, request: Request, container: ContainerDep, uow: UowDep,
                principal: PagePrincipal) -> Response:
    return request.app.state.pages.render(request, "devices_detail.html",
                                          **_device_context(container, uow, principal, device_id))


@router.get("/thiet-bi/{device_id}/trang-thai", name="device_state")
def device_state(device_id: str, request: Request, container: ContainerDep, uow: UowDep,
                 principal: PagePrincipal) -> Response:
    """The device page's live panel alone, for its periodic refresh."""
    return request.app.state.pages.render(request, "devices_state.html",
                                          **_device_context(container, uow, principal, device_id))


def _back_to_device(request: Request, container, device_id: str, message: str, kind: str = "ok") -> Response:
    response = redirect(request, f"/thiet-bi/{device_id}")
    flash(response, container, message, kind)
    return response


@router.post("/thiet-bi/{device_id}/am-luong", dependencies=[CsrfChecked])
def device_volume(device_id: str, request: Request, container: ContainerDep, uow: UowDep, actor: PageActor,
                  form: Posted) -> Response:
    raw = str(form.get("volume", "")).strip()
    if not raw.isdigit():
        return _back_to_device(request, container, device_id, "Âm lượng phải là số nguyên từ 0 đến 100.", "error")
    try:
        send_command(uow, container.clock, container.signer, actor, action="set_volume", devices=[device_id],
                     volume=int(raw))
    except InvalidInput as exc:
        return _back_to_device(request, container, device_id, exc.message, "error")
    container.wake_delivery()
    return _back_to_device(request, container, device_id,
                           f"Đã gửi lệnh đặt âm lượng {int(raw)}. Thiết bị báo lại âm lượng mới khi nhận lệnh.")


@router.post("/thiet-bi/{device_id}/vung-phat", dependencies=[CsrfChecked])
def device_zones_submit(device_id: str, request: Request, container: ContainerDep, uow: UowDep, actor: PageActor,
                        form: Posted) -> Response:
    try:
        device = device_zones.set_device_zones(uow, container.clock, actor, device_id,
                                               [str(z) for z in form.getlist("zones")])
    except InvalidInput as exc:
        return _back_to_device(request, container, device_id, exc.message, "error")
    container.wake_compile()
    return _back_to_device(request, container, device_id,
                           f"Đã lưu vùng phát của thiết bị ({len(device.zones)} vùng). Thiết bị sẽ nhận lịch phát "
                           "mới với các vùng này trong ít phút.")


# Last: its path would otherwise catch the page's other posts (am-luong, vung-phat).
CONTROLS = {  # the page's buttons: (action, power) and what the officer is told once it is sent
    "dong-bo": (("resync", None), "Đã gửi lệnh đồng bộ: thiết bị tải lại lịch phát và báo lại trạng thái."),
    "bat-nguon": (("set_power", "on"), "Đã gửi lệnh bật nguồn bộ khuếch đại."),
    "tat-nguon": (("set_power", "off"), "Đã gửi lệnh tắt nguồn bộ khuếch đại: lịch phát thường sẽ không phát "
                                        "cho tới khi bật lại; phát khẩn cấp vẫn tự bật."),
    "khoi-dong-lai": (("reboot", None), "Đã gửi lệnh khởi động lại: thiết bị mất kết nối ít giây rồi trở lại."),
}


@router.post("/thiet-bi/{device_id}/{control}", dependencies=[CsrfChecked])
def device_control(device_id: str, control: str, request: Request, container: ContainerDep, uow: UowDep,
                   actor: PageActor) -> Response:
    if control not in CONTROLS:
        return _back_to_device(request, container, device_id, "Không có lệnh này.", "error")
    (action, power), done = CONTROLS[control]
    try:
        send_command(uow, container.clock, container.signer, actor, action=action, devices=[device_id],
                     power=power)
    except InvalidInput as exc:
        return _back_to_device(request, container, device_id, exc.message, "error")
    container.wake_delivery()
    return _back_to_device(request, container, device_id, done)
