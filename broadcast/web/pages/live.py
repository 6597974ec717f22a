"""Page: live broadcast (phát trực tiếp) from a phone. Pick where (the emergency page's target picker), the class,
then one big button: the browser records with MediaRecorder and sends Opus/WebM chunks every 250 ms over the
session's WebSocket (signed in by the page's cookie), showing a level meter, the elapsed time and the devices that
received / are playing (the emergency page's reach counters). "Dừng phát" ends it; the session page then links to
the recording in the library.

Starting and stopping call services/live.py exactly as POST /api/v1/live and /api/v1/live/{id}/stop do.
"""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from broadcast.domain.auth import Action, Grant, Principal, Role
from broadcast.domain.errors import DomainError
from broadcast.domain.live import CLASS_LABELS_VI, STATUS_LABELS_VI
from broadcast.services import live as service
from broadcast.services.emergency_targets import target_choices
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.errors import status_for
from broadcast.web.pages.emergency import Posted, ReachCounts
from broadcast.web.pages.emergency_form import Targets
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute
from broadcast.web.routes.live import begin, finish

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RECENT = 10
NO_TARGET = "Chưa chọn nơi nhận: hãy chọn ít nhất một địa bàn, vùng phát hoặc thiết bị."
END_REASONS_VI = {"stopped": "cán bộ dừng phát", "socket_closed": "mất kết nối với điện thoại",
                  "idle": "không nhận được âm thanh", "never_connected": "điện thoại không gửi âm thanh",
                  "encoder_failed": "lỗi mã hóa hoặc máy chủ phát luồng", "time_up": "hết khung giờ được phép"}


def classes_for(principal: Principal) -> list[tuple[str, str]]:
    """The classes this officer may go live with: normal and priority for editors, emergency for operators."""
    found = []
    if principal.areas_for(Action.EDIT_SCHEDULES):
        found += [("normal", CLASS_LABELS_VI["normal"]), ("priority", CLASS_LABELS_VI["priority"])]
    if principal.areas_for(Action.SEND_EMERGENCY):
        found.append(("emergency", CLASS_LABELS_VI["emergency"]))
    return found


def _picker_principal(principal: Principal) -> Principal:
    """The emergency picker lists the areas of emergency grants; an editor's live targets are their editing
    areas, so the picker is shown a principal holding those as emergency grants (for listing only)."""
    areas = set(principal.areas_for(Action.EDIT_SCHEDULES)) | set(principal.areas_for(Action.SEND_EMERGENCY))
    return Principal(principal.user_id, principal.username,
                     tuple(Grant(Role.EMERGENCY_OPERATOR, code) for code in sorted(areas)))


@router.get("/phat-truc-tiep", name="live")
def live_page(request: Request, uow: UowDep, principal: PagePrincipal) -> Response:
    classes = classes_for(principal)
    choices = target_choices(uow, _picker_principal(principal)) if classes else None
    recent = service.list_live(uow, principal, limit=RECENT)
    return request.app.state.pages.render(request, "live.html", choices=choices, classes=classes,
                                          chosen=Targets.of(request.query_params), recent=recent,
                                          status_labels=STATUS_LABELS_VI)


@router.post("/phat-truc-tiep/bat-dau", dependencies=[CsrfChecked])
def start(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, principal: PagePrincipal,
          form: Posted) -> Response:
    """Called by live.js: JSON back (the session id, its socket path, how many devices), or the error."""
    targets = Targets.of(form)
    if not targets:
        return JSONResponse({"code": "no_targets", "message": NO_TARGET}, status_code=422)
    priority = str(form.get("priority") or "normal")
    try:
        live = begin(container, request.app, actor, service.LiveRequest(
            areas=targets.areas, zones=targets.zones, devices=targets.devices, priority=priority))
    except DomainError as exc:  # the page shows the message beside the button
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status_for(exc))
    return JSONResponse({"id": live.id, "ws_path": f"/api/v1/live/{live.id}/audio",
                         "tracked": live.targets.get("tracked", 0), "page": f"/phat-truc-tiep/{live.id}",
                         "reach": f"/phat-truc-tiep/{live.id}/phu-song"}, status_code=201)


@router.post("/phat-truc-tiep/{session_id:int}/dung", dependencies=[CsrfChecked])
def stop(session_id: int, request: Request, container: ContainerDep, actor: PageActor) -> Response:
    try:
        finish(container, request.app, actor, session_id)
    except DomainError as exc:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status_for(exc))
    return JSONResponse({"id": session_id, "page": f"/phat-truc-tiep/{session_id}"})


def _context(container, uow, principal: Principal, session_id: int) -> dict:
    view = service.get_live(uow, container.clock, principal, session_id)
    return {"v": view, "s": view.session, "counts": ReachCounts.of(view.reach), "status_labels": STATUS_LABELS_VI,
            "class_labels": CLASS_LABELS_VI, "end_reasons": END_REASONS_VI,
            "elapsed": service.elapsed_label(view.elapsed_s), "now": container.clock.now()}


@router.get("/phat-truc-tiep/{session_id:int}", name="live_session")
def session_page(session_id: int, request: Request, container: ContainerDep, uow: UowDep,
                 principal: PagePrincipal) -> Response:
    return request.app.state.pages.render(request, "live_session.html", **_context(container, uow, principal,
                                                                                     session_id))


@router.get("/phat-truc-tiep/{session_id:int}/phu-song")
def reach_fragment(session_id: int, request: Request, container: ContainerDep, uow: UowDep,
                   principal: PagePrincipal) -> Response:
    """The counters alone, refreshed every second while the session is open."""
    return request.app.state.pages.render(request, "live_reach.html", **_context(container, uow, principal,
                                                                                   session_id))
