"""Page 8 (second half), reports: the province's report kinds for an area and a period of local days, their chart
(the same SVG as GET /api/v1/reports/{kind}.svg, drawn inline), their tables, and the CSV and XLSX files, all
through services/reports, as the API does."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from broadcast.domain.auth import Action
from broadcast.domain.errors import InvalidInput
from broadcast.services.reports import export as reports_export
from broadcast.services.reports import figures as reports_service
from broadcast.services.reports.aggregates import local_day
from broadcast.web.charts import bar_chart_svg
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.downloads import attachment
from broadcast.web.pages.listing import area_choices, day_text, parse_day
from broadcast.web.pages.session import PagePrincipal, PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PATH = "/bao-cao"
DOWNLOADS = ("csv", "xlsx")


@dataclass(frozen=True)
class ReportForm:
    kind: str
    area: str
    first: str
    last: str

    @classmethod
    def of(cls, request: Request, today: date, default_area: str) -> ReportForm:
        params = request.query_params
        return cls(params.get("loai", "").strip() or "summary",
                   params.get("khu_vuc", "").strip() or default_area,
                   params.get("tu", "").strip() or day_text(today.replace(day=1)),
                   params.get("den", "").strip() or day_text(today))

    def params(self) -> dict[str, str]:
        return {"loai": self.kind, "khu_vuc": self.area, "tu": self.first, "den": self.last}

    def request(self) -> reports_service.ReportRequest:
        first, last = parse_day(self.first, "Từ ngày"), parse_day(self.last, "Đến ngày")
        if first is None or last is None:
            raise InvalidInput("Cần chọn cả ngày đầu và ngày cuối của kỳ báo cáo.", code="invalid_period")
        if not self.area:
            raise InvalidInput("Cần chọn khu vực của báo cáo.", code="invalid_area")
        return reports_service.ReportRequest(kind=self.kind, area_code=self.area, first=first, last=last)


def cell(value: object) -> str:
    """A table cell as officers read numbers: 1.234,5; nothing is a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def table_rows(section: reports_service.Section) -> Markup:
    """A section's rows as cells with their column's label (the phone layout shows it), built here with plain
    strings: a province's tables have two thousand cells, which cost 10-15 ms through the template's loops."""
    labels = [(c.key, escape(c.label)) for c in section.columns]
    return Markup("".join(
        "<tr>" + "".join(f'<td data-label="{label}">{escape(cell(row.get(key)))}</td>' for key, label in labels)
        + "</tr>" for row in section.rows))


def _build(container, principal, form: ReportForm) -> reports_service.Report:
    return reports_service.build_report(container.uow, container.clock, container.settings.tz, principal,
                                        form.request(), retention_days=container.settings.retention_days,
                                        uptime_cache=container.report_uptime)


def _form(request: Request, container, uow, principal) -> tuple[ReportForm, list]:
    areas = area_choices(uow, principal, Action.READ)
    today = local_day(container.clock.now(), container.settings.tz)
    return ReportForm.of(request, today, areas[0].code if areas else ""), areas


@router.get(PATH, name="reports")
def reports_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal) -> Response:
    form, areas = _form(request, container, uow, principal)
    report, error, chart = None, None, None
    try:
        report = _build(container, principal, form)
        chart = Markup(bar_chart_svg(report.chart.title, report.chart.bars, report.chart.unit))  # escapes its text
    except InvalidInput as exc:
        error = exc.message
    links = {fmt: f"{PATH}/tai-ve?{urlencode({**form.params(), 'dinh_dang': fmt})}" for fmt in DOWNLOADS}
    return request.app.state.pages.render(
        request, "reports.html", status=422 if error else 200, form=form, areas=areas, kinds=reports_service.KINDS,
        report=report, chart=chart, error=error, downloads=links, table_rows=table_rows)


@router.get(PATH + "/tai-ve", name="report_download")
def report_download(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal,
                    dinh_dang: str = "xlsx") -> Response:
    """The report as CSV or XLSX, like GET /api/v1/reports/{kind}?format=, with the session cookie."""
    if dinh_dang not in DOWNLOADS:
        raise InvalidInput("Định dạng tải về phải là csv hoặc xlsx.", code="invalid_format")
    form, _areas = _form(request, container, uow, principal)
    report = _build(container, principal, form)
    body = reports_export.to_csv(report).encode() if dinh_dang == "csv" else reports_export.to_xlsx(report)
    return Response(body, media_type=reports_export.MEDIA_TYPES[dinh_dang],
                    headers={"Content-Disposition": attachment(reports_export.file_name(report, dinh_dang)),
                             "Cache-Control": "no-store"})
