"""GET /api/v1/reports/{kind}: province reports as JSON, CSV or XLSX; GET /api/v1/reports/{kind}.svg: its chart."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from broadcast.services.reports import export as reports_export
from broadcast.services.reports import figures as reports_service
from broadcast.services.reports.aggregates import local_day
from broadcast.web.charts import bar_chart_svg
from broadcast.web.deps import ContainerDep, PrincipalDep
from broadcast.web.downloads import attachment
from broadcast.web.openapi import errors

router = APIRouter(prefix="/reports", tags=["reports"])

AreaQuery = Annotated[str, Query(min_length=1, max_length=16, description="Mã tỉnh hoặc xã/phường")]
FromQuery = Annotated[date | None, Query(alias="from", description="Ngày đầu kỳ (giờ Việt Nam); mặc định: đầu tháng")]
ToQuery = Annotated[date | None, Query(alias="to", description="Ngày cuối kỳ, tính cả ngày này; mặc định: hôm nay")]


def _build(container, principal, kind: str, area: str, first: date | None, last: date | None):
    settings = container.settings
    today = local_day(container.clock.now(), settings.tz)
    request = reports_service.ReportRequest(kind=kind, area_code=area, first=first or today.replace(day=1),
                                            last=last or today)
    return reports_service.build_report(container.uow, container.clock, settings.tz, principal, request,
                                        retention_days=settings.retention_days, uptime_cache=container.report_uptime)


@router.get("/{kind}.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}, **errors(403, 404)})
def report_chart(kind: str, container: ContainerDep, principal: PrincipalDep, area: AreaQuery,
                       first: FromQuery = None, last: ToQuery = None):
    """The report's main figure as a bar chart (SVG), for web pages and documents."""
    report = _build(container, principal, kind, area, first, last)
    svg = bar_chart_svg(report.chart.title, report.chart.bars, report.chart.unit)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=60"})


@router.get("/{kind}", responses={200: {"content": {"text/csv": {}, reports_export.XLSX_MEDIA_TYPE: {}},
                                        "description": "JSON; CSV or XLSX with ?format="},
                                   **errors(403, 404)})
def report(kind: str, container: ContainerDep, principal: PrincipalDep, area: AreaQuery,
                 first: FromQuery = None, last: ToQuery = None, format: Literal["json", "csv", "xlsx"] = "json"):
    """kind: summary, legal-education, outcomes, uptime, emergencies, approvals. Days are local (Asia/Ho_Chi_Minh)."""
    report = _build(container, principal, kind, area, first, last)
    if format == "json":
        return reports_export.to_json(report)
    if format == "csv":
        body: bytes = reports_export.to_csv(report).encode()
    else:
        body = reports_export.to_xlsx(report)
    return Response(body, media_type=reports_export.MEDIA_TYPES[format],
                    headers={"Content-Disposition": attachment(reports_export.file_name(report, format))})
