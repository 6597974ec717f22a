"""Page 3, programmes: what plays (audio in order, or a relay stream), its class (thông thường, ưu tiên, khẩn cấp),
topic and legal references; the list searches titles and narrows to an area.

Reuse of province programmes: a commune schedule may play a programme of its province as it is (the services'
`may_read_programme`, the same rule as the API's), so the list shows them to commune officers, marked, with
"Lập lịch phát"; nothing is copied. "Tạo bản sao" copies a programme the officer may edit into a new one, which is
also how a programme already used by a schedule is changed (services/programmes.py `update_programme`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import FormData
from starlette.routing import NoMatchFound

from broadcast.domain.areas import Area
from broadcast.domain.audio import LANGUAGES, TOPICS, AssetStatus
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import DomainError, NotFound, PermissionDenied
from broadcast.domain.scheduling import SOURCES, Programme
from broadcast.domain.vocabularies import PRIORITY_LABELS
from broadcast.services import audio as audio_service
from broadcast.services import programmes as service
from broadcast.services.areas import get_area
from broadcast.services.relay_channels import list_channels
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.errors import status_for
from broadcast.web.pages.area_choices import area_names, areas_where
from broadcast.web.pages.audio_views import AssetView, duration
from broadcast.web.pages.programme_form import CONTENTS, MAX_STREAM_MINUTES, ProgrammeForm
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
ASSET_CHOICES = 300  # the newest assets offered in each audio <select>; chosen older ones are added


async def posted_form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]


@dataclass(frozen=True)
class ListedProgramme:
    programme: Programme
    area_name: str
    from_province: bool  # a province programme the user's commune reuses as it is

    @property
    def content(self) -> str:
        p = self.programme
        if p.stream_url:
            return f"Tiếp sóng {duration(p.stream_duration_ms)}"
        return f"{len(p.asset_ids)} tệp âm thanh"


def _schedule_link(request: Request, principal: Principal, programme: Programme) -> str | None:
    """The schedule form with this programme chosen, for whoever may make schedules (when that page exists)."""
    if not principal.areas_for(Action.EDIT_SCHEDULES):
        return None
    try:
        return f"{request.app.url_path_for('schedule_new')}?chuong_trinh={programme.id}"
    except NoMatchFound:
        return None


def _filter_areas(uow, principal: Principal) -> list[Area]:
    own = areas_where(uow, principal, Action.READ)
    provinces = [get_area(uow, code) for code in sorted(service.reusable_provinces(uow, principal))]
    return provinces + own


@router.get("/chuong-trinh", name="programmes")
def programmes_page(request: Request, uow: UowDep, principal: PagePrincipal,
                    q: Annotated[str, Query(max_length=100)] = "", khu_vuc: Annotated[str, Query(max_length=16)] = "",
                    trang: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    found = list(service.list_programmes(uow, principal, topic=None, limit=PAGE_SIZE + 1,
                                         offset=(trang - 1) * PAGE_SIZE, area_code=khu_vuc or None,
                                         query=q.strip() or None))
    shown = found[:PAGE_SIZE]
    names = area_names(uow, (p.area_code for p in shown))
    provinces = service.reusable_provinces(uow, principal)
    rows = [ListedProgramme(p, names[p.area_code], p.area_code in provinces) for p in shown]
    return request.app.state.pages.render(
        request, "programmes.html", rows=rows, more=len(found) > PAGE_SIZE, page=trang, q=q.strip(),
        area_code=khu_vuc, areas=_filter_areas(uow, principal), topics=TOPICS,
        may_create=bool(principal.areas_for(Action.EDIT_SCHEDULES)))


def _asset_choices(uow, principal: Principal, chosen: list[str]) -> list[tuple[str, str]]:
    """(id, label) of the audio a programme may use: the newest readable assets that did not fail, and those
    already chosen."""
    assets = [a for a in audio_service.list_assets(uow, principal, status=None, topic=None, language=None,
                                                   limit=ASSET_CHOICES, offset=0) if a.status is not AssetStatus.FAILED]
    choices = {str(a.id): _asset_label(a) for a in assets}
    for asset_id in chosen:
        if asset_id not in choices and asset_id.isdigit():
            try:
                choices[asset_id] = _asset_label(audio_service.get_asset(uow, principal, int(asset_id)))
            except DomainError:
                choices[asset_id] = f"Tệp âm thanh số {asset_id}"
    return list(choices.items())


def _asset_label(asset) -> str:
    label = f"{asset.title} · {duration(asset.duration_ms)}"
    if asset.status is AssetStatus.PROCESSING:
        label += " (đang xử lý)"
    elif asset.status is AssetStatus.FAILED:
        label += " (lỗi xử lý)"
    return label


def _form_page(request: Request, uow, principal: Principal, form: ProgrammeForm, *, programme: Programme | None,
               error: str | None = None, status: int = 200, copy_of: Programme | None = None) -> Response:
    areas = areas_where(uow, principal, Action.EDIT_SCHEDULES)
    if not areas:
        raise PermissionDenied(f"Tài khoản {principal.username} không có quyền soạn chương trình phát.")
    if not form.area_code:
        form.area_code = areas[0].code
    return request.app.state.pages.render(
        request, "programmes_form.html", status=status, form=form, programme=programme, copy_of=copy_of,
        error=error, areas=areas, topics=TOPICS, languages=LANGUAGES, sources=SOURCES, priorities=PRIORITY_LABELS,
        contents=CONTENTS, max_stream_minutes=MAX_STREAM_MINUTES, relay_channels=list_channels(uow, principal),
        asset_choices=_asset_choices(uow, principal, form.items),
        action=f"/chuong-trinh/{programme.id}/sua" if programme else "/chuong-trinh/moi")


@router.get("/chuong-trinh/moi", name="programme_new")
def new_page(request: Request, uow: UowDep, principal: PagePrincipal,
             tu: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """An empty form, or (`tu`) a copy of a programme to change."""
    copy_of = service.get_programme(uow, principal, tu) if tu else None
    form = ProgrammeForm.from_programme(copy_of) if copy_of else ProgrammeForm()
    return _form_page(request, uow, principal, form, programme=None, copy_of=copy_of)


@router.post("/chuong-trinh/moi", dependencies=[CsrfChecked])
def create(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor, principal: PagePrincipal,
           posted: Posted) -> Response:
    form = ProgrammeForm.from_form(posted)
    try:
        programme = service.create_programme(uow, container.clock, actor, form.draft())
    except PermissionDenied:
        raise
    except DomainError as exc:
        return _form_page(request, uow, principal, form, programme=None, error=exc.message,
                          status=status_for(exc))
    response = redirect(request, f"/chuong-trinh/{programme.id}")
    flash(response, container, f"Đã tạo chương trình “{programme.title}”.", "ok")
    return response


@router.get("/chuong-trinh/{programme_id:int}", name="programme")
def programme_page(request: Request, programme_id: int, uow: UowDep, principal: PagePrincipal) -> Response:
    programme, assets = service.programme_contents(uow, principal, programme_id)
    items = [AssetView(a, "", False) for a in assets]
    may_edit = service.may_edit_programme(uow, principal, programme)
    return request.app.state.pages.render(
        request, "programmes_detail.html", p=programme, items=items,
        total=duration(sum(a.duration_ms or 0 for a in assets)) if assets else None,
        area_name=get_area(uow, programme.area_code).name,
        from_province=programme.area_code in service.reusable_provinces(uow, principal),
        topic=TOPICS.get(programme.topic, "Khác"), language=LANGUAGES.get(programme.language, "Ngôn ngữ khác"),
        source=SOURCES.get(programme.source, "Khác"), may_edit=may_edit and not programme.bulletin_id,
        may_copy=may_edit, schedule_link=_schedule_link(request, principal, programme))


def _editable(uow, principal: Principal, programme_id: int) -> Programme:
    programme = service.get_programme(uow, principal, programme_id)
    if not service.may_edit_programme(uow, principal, programme):
        raise PermissionDenied(f"Tài khoản {principal.username} không có quyền sửa chương trình này.")
    return programme


@router.get("/chuong-trinh/{programme_id:int}/sua", name="programme_edit")
def edit_page(request: Request, programme_id: int, uow: UowDep, principal: PagePrincipal) -> Response:
    programme = _editable(uow, principal, programme_id)
    return _form_page(request, uow, principal, ProgrammeForm.from_programme(programme), programme=programme)


@router.post("/chuong-trinh/{programme_id:int}/sua", dependencies=[CsrfChecked])
def update(request: Request, programme_id: int, container: ContainerDep, uow: UowDep, actor: PageActor,
           principal: PagePrincipal, posted: Posted) -> Response:
    programme = _editable(uow, principal, programme_id)
    form = ProgrammeForm.from_form(posted)
    try:
        saved = service.update_programme(uow, container.clock, actor, programme_id, form.draft())
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        return _form_page(request, uow, principal, form, programme=programme, error=exc.message,
                          status=status_for(exc))
    response = redirect(request, f"/chuong-trinh/{saved.id}")
    flash(response, container, f"Đã lưu chương trình “{saved.title}”.", "ok")
    return response
