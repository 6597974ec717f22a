"""Page 9, relay channels: the stations programmes may relay, with what the last probe of each found, and the
forms that add, change, probe and remove them, through services/relay_channels.py as /relay-channels does."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from broadcast.adapters.stream_probe import probe_stream
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import DomainError
from broadcast.domain.relay_channels import KIND_LABELS_VI, ChannelDraft
from broadcast.services import relay_channels as service
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.errors import status_for
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PATH = "/quan-tri/kenh-tiep-song"


async def posted_form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _render(request: Request, uow, principal: Principal, *, form: dict | None = None, error: str | None = None,
            status: int = 200) -> Response:
    return request.app.state.pages.render(
        request, "admin_relay_channels.html", status=status, channels=service.list_channels(uow, principal),
        kinds=KIND_LABELS_VI, form=form or {"name": "", "url": "", "kind": "vov"}, error=error,
        interval_min=max(1, round(request.app.state.container.settings.relay_probe_interval_s / 60)))


@router.get(PATH, name="admin_relay_channels")
def channels_page(request: Request, uow: UowDep, principal: PagePrincipal) -> Response:
    principal.require(Action.MANAGE_USERS, None)
    return _render(request, uow, principal)


@router.post(PATH, dependencies=[CsrfChecked])
def add_channel(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal, actor: PageActor,
                form: Posted) -> Response:
    typed = {"name": _text(form, "ten"), "url": _text(form, "dia_chi"), "kind": _text(form, "loai")}
    try:
        channel = service.create_channel(uow, container.clock, actor,
                                         ChannelDraft(typed["name"], typed["url"], typed["kind"]))
    except DomainError as exc:
        return _render(request, uow, principal, form=typed, error=exc.message, status=status_for(exc))
    response = redirect(request, PATH)
    flash(response, container, f"Đã thêm kênh “{channel.name}”. Kênh sẽ được kiểm tra ở lượt kiểm tra kế tiếp.", "ok")
    return response


@router.post(PATH + "/{channel_id}", dependencies=[CsrfChecked])
def change_channel(channel_id: int, request: Request, container: ContainerDep, uow: UowDep, actor: PageActor,
                   form: Posted) -> Response:
    """One form per channel row: save its fields, probe it now, or remove it (the button pressed says which)."""
    what = _text(form, "thao_tac")
    response = redirect(request, PATH)
    try:
        if what == "xoa":
            service.delete_channel(uow, container.clock, actor, channel_id)
            flash(response, container, "Đã xóa kênh tiếp sóng.", "ok")
        elif what == "kiem_tra":
            timeout = container.settings.relay_probe_timeout_s
            channel = service.probe_channel(
                uow, actor, channel_id, lambda url: probe_stream(url, now=container.clock.now, timeout_s=timeout))
            ok = channel.probe is not None and channel.probe.reachable
            flash(response, container, f"Kênh “{channel.name}” {'đang phát' if ok else 'không nghe được'}.",
                  "ok" if ok else "error")
        else:
            channel = service.update_channel(uow, container.clock, actor, channel_id, ChannelDraft(
                _text(form, "ten"), _text(form, "dia_chi"), _text(form, "loai")))
            flash(response, container, f"Đã lưu kênh “{channel.name}”.", "ok")
    except DomainError as exc:
        flash(response, container, exc.message, "error")
    return response
