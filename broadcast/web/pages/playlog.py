"""Page 8, the play log: what each loudspeaker played, missed or failed in the user's areas, filtered by area,
local days (dd/mm/yyyy), outcome and title, newest first, a page at a time; the same selection as a CSV file; and
the user's private calendar address (/lich/{token}.ics) for a phone calendar.

Everything is read through services/playlog.py and services/calendar_links.py, as the API does."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import StreamingResponse

from broadcast.domain.auth import Action
from broadcast.domain.errors import InvalidInput
from broadcast.services import playlog as playlog_service
from broadcast.services.areas import get_area
from broadcast.services.calendar_links import create_link, link_of, revoke_link
from broadcast.services.ports import PlayLogQuery
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.downloads import attachment
from broadcast.web.pages.calendar_feed import feed_path
from broadcast.web.pages.listing import (
    PAGE_SIZE,
    Pager,
    area_choices,
    day_text,
    filled,
    local_span,
    page_number,
    parse_day,
)
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PATH = "/nhat-ky-phat"
DEFAULT_DAYS = 7  # with no filter at all, the last week
MAX_TITLE_SEARCH = 100


@dataclass(frozen=True)
class Filters:
    """The filter form as typed (kept as text so the form shows it back) and what it means."""

    area: str
    first: str
    last: str
    outcome: str
    title: str

    @classmethod
    def of(cls, request: Request, today: date) -> Filters:
        """Days left out of the address are the last week; days sent empty (a cleared field) mean no limit."""
        params = request.query_params
        first = params["tu"].strip() if "tu" in params else day_text(today - timedelta(days=DEFAULT_DAYS - 1))
        last = params["den"].strip() if "den" in params else day_text(today)
        return cls(params.get("khu_vuc", "").strip(), first, last, params.get("ket_qua", "").strip(),
                   params.get("q", "").strip()[:MAX_TITLE_SEARCH])

    def params(self) -> dict[str, str]:
        """For links (pages, CSV): the days always, even empty, since an absent day means the last week."""
        return filled({"khu_vuc": self.area, "tu": self.first, "den": self.last, "ket_qua": self.outcome,
                       "q": self.title}, always=("tu", "den"))

    def query(self, tz, *, limit: int | None, offset: int = 0, newest_first: bool) -> PlayLogQuery:
        if self.outcome and self.outcome not in playlog_service.OUTCOMES:
            raise InvalidInput("Kết quả phát không hợp lệ.", code="invalid_outcome")
        since, until = local_span(parse_day(self.first, "Từ ngày"), parse_day(self.last, "Đến ngày"), tz)
        return PlayLogQuery(area_code=self.area or None, outcome=self.outcome or None, since=since, until=until,
                            title_contains=self.title or None, newest_first=newest_first, limit=limit,
                            offset=offset)


def _today(container) -> date:
    return container.clock.now().astimezone(container.settings.tz).date()


def _calendar_context(container, uow, principal) -> dict:
    link = link_of(uow, principal)
    return {"calendar_link": link, "calendar_areas": area_choices(uow, principal, Action.READ)}


@router.get(PATH, name="playlog")
def playlog_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal,
                 trang: str | None = None) -> Response:
    tz = container.settings.tz
    filters = Filters.of(request, _today(container))
    number = page_number(trang)
    entries, error, has_next = [], None, False
    try:
        query = filters.query(tz, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE, newest_first=True)
        found = list(playlog_service.list_playlog(uow, principal, query))
        entries, has_next = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    except InvalidInput as exc:
        error = exc.message
    pager = Pager(number, PAGE_SIZE, has_next, PATH, filters.params())
    return request.app.state.pages.render(
        request, "playlog.html", status=422 if error else 200, filters=filters, entries=entries, pager=pager,
        error=error, areas=area_choices(uow, principal, Action.READ), outcomes=playlog_service.OUTCOME_LABELS_VI,
        priorities=playlog_service.PRIORITY_LABELS_VI, csv_link=f"{PATH}.csv?{urlencode(filters.params())}",
        **_calendar_context(container, uow, principal))


@router.get(PATH + ".csv", name="playlog_csv")
def playlog_csv(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal) -> Response:
    """Every row of the filter (no paging), like GET /api/v1/playlog?format=csv, with the session cookie."""
    tz = container.settings.tz
    filters = Filters.of(request, _today(container))
    # Authorized and checked before the first byte: a refusal is still an error page, not a broken download.
    scoped = playlog_service.scoped_query(uow, principal, filters.query(tz, limit=None, newest_first=False))
    rows = playlog_service.stream_playlog(container.uow(), scoped)
    return StreamingResponse(
        (chunk.encode() for chunk in playlog_service.csv_chunks(rows, tz)), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(playlog_service.csv_file_name(container.clock.now(), tz)),
                 "Cache-Control": "no-store"})


@router.post(PATH + "/lich-rieng", name="calendar_link_create", dependencies=[CsrfChecked])
def calendar_link_create(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor,
                         khu_vuc: Annotated[str, Form()] = "") -> Response:
    """A new private address (the old one stops working), shown once on the page this answers with."""
    try:
        token = create_link(uow, container.clock, actor, khu_vuc.strip())
    except InvalidInput as exc:
        return request.app.state.pages.error(request, exc)
    url = container.settings.public_url.rstrip("/") + feed_path(token)
    webcal = "webcal://" + url.split("://", 1)[1]
    return request.app.state.pages.render(request, "playlog_calendar.html", url=url, webcal=webcal,
                                          area=get_area(uow, khu_vuc.strip()))


@router.post(PATH + "/lich-rieng/thu-hoi", name="calendar_link_revoke", dependencies=[CsrfChecked])
def calendar_link_revoke(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor) -> Response:
    ended = revoke_link(uow, container.clock, actor)
    response = redirect(request, PATH + "#lich-rieng")
    flash(response, container, "Đã thu hồi liên kết lịch riêng; ứng dụng lịch sẽ không cập nhật được nữa."
          if ended else "Bạn chưa có liên kết lịch riêng nào.", "ok" if ended else "info")
    return response

