"""A report as JSON, CSV (UTF-8 with BOM, for Excel) or XLSX (one sheet per section), Vietnamese headers.

Numbers stay numbers in JSON and XLSX (so a spreadsheet can sum them); CSV writes them with a dot decimal,
which every spreadsheet reads when told the column is numeric.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from broadcast.domain.text import spreadsheet_cell
from broadcast.services.reports.figures import Report

BOM = "\ufeff"
FORMATS = ("json", "csv", "xlsx")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8", "xlsx": XLSX_MEDIA_TYPE}


SHEET_TITLE_MAX = 31  # Excel's limit


def _zone_label(moment: datetime) -> str:
    """"UTC+07" for Asia/Ho_Chi_Minh (whose tzname is "+07"), the zone's own abbreviation otherwise."""
    name = moment.tzname() or ""
    return f"UTC{name}" if name[:1] in "+-" else name


def header_lines(report: Report) -> list[list[str]]:
    """Title, area, period and when it was made, as officers read them: dd/mm/yyyy, local time (build_report
    gives generated_at in the deployment's zone)."""
    lines = [[report.title], ["Khu vực", f"{report.area_name} ({report.area_code})"],
             ["Kỳ báo cáo", f"{report.first:%d/%m/%Y} đến {report.last:%d/%m/%Y}"],
             ["Lập lúc", f"{report.generated_at:%H:%M:%S %d/%m/%Y} ({_zone_label(report.generated_at)})"]]
    return [[spreadsheet_cell(cell) for cell in line] for line in lines]


def file_name(report: Report, extension: str) -> str:
    """'Báo cáo tổng hợp - Thành phố Hà Nội - 01-11-2026 đến 30-11-2026.xlsx' (web/downloads.py adds the ASCII
    fallback)."""
    return f"{report.title} - {report.area_name} - {report.first:%d-%m-%Y} đến {report.last:%d-%m-%Y}.{extension}"


def to_json(report: Report) -> dict[str, Any]:
    return {
        "kind": report.kind, "title": report.title,
        "area": {"code": report.area_code, "name": report.area_name},
        "from": report.first.isoformat(), "to": report.last.isoformat(),
        "generated_at": report.generated_at.isoformat(),
        "days": {"stored": report.stored_days, "live": report.live_days},
        "sections": [{"key": s.key, "title": s.title,
                      "columns": [{"key": c.key, "label": c.label} for c in s.columns],
                      "rows": s.rows} for s in report.sections],
        "chart": {"title": report.chart.title, "unit": report.chart.unit,
                  "bars": [{"label": label, "value": value} for label, value in report.chart.bars]},
    }


def _cell(value: Any) -> Any:
    return "" if value is None else spreadsheet_cell(value)


def to_csv(report: Report) -> str:
    """Sections one under another: a title line, the header, the rows, a blank line."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(header_lines(report))
    for section in report.sections:
        writer.writerow([])
        writer.writerow([section.title])
        writer.writerow([c.label for c in section.columns])
        for row in section.rows:
            writer.writerow([_cell(row.get(c.key)) for c in section.columns])
    return buffer.getvalue()


def _words_within(text: str, limit: int) -> str:
    """The longest run of whole words of `text` that fits `limit` characters (a word longer than the limit alone
    is cut), without trailing punctuation: "PBGDPL theo xã, phường" never becomes "PBGDPL theo xã, phư"."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[: limit + 1] else text[:limit]
    return cut[:limit].rstrip(" ,;.-–") or text[:limit]


def _sheet_title(title: str, taken: set[str]) -> str:
    """Excel: at most 31 characters, none of []:*?/\\, unique in the workbook; cut between words."""
    clean = " ".join("".join(" " if ch in "[]:*?/\\" else ch for ch in title).split()).strip("'") or "Trang"
    base = _words_within(clean, SHEET_TITLE_MAX)
    candidate, n = base, 2
    while candidate.casefold() in {t.casefold() for t in taken}:  # Excel compares sheet names ignoring case
        suffix = f" ({n})"
        candidate, n = _words_within(clean, SHEET_TITLE_MAX - len(suffix)) + suffix, n + 1
    taken.add(candidate)
    return candidate


def to_xlsx(report: Report) -> bytes:
    """A workbook with one sheet per section: report title lines, then a bold header row, then the rows."""
    from openpyxl import Workbook  # imported here: only exports need it
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    taken: set[str] = set()
    for section in report.sections:
        sheet = workbook.create_sheet(_sheet_title(section.title, taken))
        for line in header_lines(report):
            sheet.append(line)
        sheet.append([])
        sheet.append([c.label for c in section.columns])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for row in section.rows:
            sheet.append([spreadsheet_cell(row.get(c.key)) for c in section.columns])
        for n, column in enumerate(section.columns, start=1):
            width = max([len(column.label)] + [len(str(r.get(column.key) or "")) for r in section.rows])
            sheet.column_dimensions[sheet.cell(row=1, column=n).column_letter].width = min(max(width + 2, 10), 60)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def header_row_index() -> int:
    """1-based row of the column headers in every XLSX sheet (after the title lines and a blank row)."""
    return 6
