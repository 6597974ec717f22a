"""`loaxa report --area CODE --from DATE --to DATE --format csv|xlsx|json OUT`: a province report to a file.

A plain function with typer annotations; broadcast/cli.py registers it (`app.command("report")(report)`).
The command line is the operator's: it reads every area, like the server itself.
"""
from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class ReportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


def report(
    out: Annotated[Path, typer.Argument(help="Tệp kết quả (ghi đè nếu đã có).")],
    area: Annotated[str, typer.Option("--area", help="Mã tỉnh hoặc xã/phường.")],
    first: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="Ngày đầu kỳ (YYYY-MM-DD).")],
    last: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Ngày cuối kỳ, tính cả ngày này.")],
    format: Annotated[ReportFormat, typer.Option("--format", help="Định dạng tệp.")] = ReportFormat.XLSX,
    kind: Annotated[str, typer.Option("--kind", help="summary, legal-education, outcomes, uptime, emergencies, "
                                                     "approvals.")] = "summary",
) -> None:
    """Lập báo cáo cho tỉnh hoặc xã/phường trong một kỳ và ghi ra tệp."""
    from broadcast.cli import console, container_for_cli  # late: cli.py imports this module to register it
    from broadcast.services.reports import export as reports_export
    from broadcast.services.reports.figures import ReportRequest, build_report

    with container_for_cli() as container:
        settings = container.settings
        result = build_report(container.uow, container.clock, settings.tz, None,
                              ReportRequest(kind=kind, area_code=area, first=first.date(), last=last.date()),
                              retention_days=settings.retention_days)
        if format is ReportFormat.JSON:
            out.write_text(json.dumps(reports_export.to_json(result), ensure_ascii=False, indent=2), encoding="utf-8")
        elif format is ReportFormat.CSV:
            out.write_text(reports_export.to_csv(result), encoding="utf-8", newline="")
        else:
            out.write_bytes(reports_export.to_xlsx(result))
    console.print(f"Đã ghi {result.title.lower()} của {result.area_name} "
                  f"({result.first.isoformat()} đến {result.last.isoformat()}) vào {out}.", highlight=False)
