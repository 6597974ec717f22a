"""Report and play-log files as officers receive them: Vietnamese file names (with an ASCII fallback), sheet names
Excel accepts that stop between words, and times in local time (SQLite and PostgreSQL)."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from broadcast.services.reports.figures import KINDS
from tests.integration.reports.conftest import DAY, NOW
from tests.support.app import HANOI, user

pytestmark = pytest.mark.integration
PERIOD = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}
DISPOSITION = re.compile(r"""^attachment; filename="([ -~]+)"; filename\*=UTF-8''(\S+)$""")


def names(response) -> tuple[str, str]:
    """(ASCII fallback, UTF-8 name) of a download's Content-Disposition."""
    found = DISPOSITION.match(response.headers["content-disposition"])
    assert found, response.headers["content-disposition"]
    return found.group(1), unquote(found.group(2))


def test_report_files_have_vietnamese_names_and_an_ascii_fallback(world, client):
    justice = user(world.container, client, "so-tu-phap", "viewer", HANOI)
    for fmt in ("csv", "xlsx"):
        response = client.get("/api/v1/reports/legal-education", headers=justice.headers,
                              params={**PERIOD, "area": HANOI, "format": fmt})
        assert response.status_code == 200
        fallback, name = names(response)
        assert name == f"Báo cáo phổ biến, giáo dục pháp luật - Thành phố Hà Nội - 26-11-2026 đến 27-11-2026.{fmt}"
        assert fallback == f"bao-cao-pho-bien-giao-duc-phap-luat-thanh-pho-ha-noi-26-11-2026-den-27-11-2026.{fmt}"


def test_xlsx_sheet_names_fit_31_characters_and_stop_between_words(world, client):
    justice = user(world.container, client, "so-tu-phap", "viewer", HANOI)
    seen = 0
    for kind in KINDS:
        body = client.get(f"/api/v1/reports/{kind}", headers=justice.headers,
                          params={**PERIOD, "area": HANOI, "format": "xlsx"}).content
        sections = client.get(f"/api/v1/reports/{kind}", headers=justice.headers,
                              params={**PERIOD, "area": HANOI}).json()["sections"]
        workbook = load_workbook(io.BytesIO(body), read_only=True)
        assert len(workbook.sheetnames) == len(sections)
        for sheet_name, section in zip(workbook.sheetnames, sections, strict=True):
            title = section["title"]
            assert 0 < len(sheet_name) <= 31, sheet_name
            assert title.startswith(sheet_name), (sheet_name, title)
            rest = title[len(sheet_name):]
            assert rest == "" or rest.startswith(" ") or rest.startswith(", "), (sheet_name, title)  # whole words
            assert not sheet_name.endswith((",", " ")), sheet_name
            seen += len(title) > 31
    assert seen >= 3  # long titles were there to cut ("Thời gian từ khi trình đến khi duyệt lịch phát", ...)


def test_report_files_say_when_they_were_made_in_local_time(world, client):
    justice = user(world.container, client, "so-tu-phap", "viewer", HANOI)
    made = "14:00:00 28/11/2026 (UTC+07)"  # NOW is 14:00 in Hà Nội (07:00 UTC)
    assert NOW.strftime("%H:%M") == "14:00"
    text = client.get("/api/v1/reports/outcomes", headers=justice.headers,
                      params={**PERIOD, "area": HANOI, "format": "csv"}).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert ["Lập lúc", made] in lines and ["Kỳ báo cáo", "26/11/2026 đến 27/11/2026"] in lines
    body = client.get("/api/v1/reports/outcomes", headers=justice.headers,
                      params={**PERIOD, "area": HANOI, "format": "xlsx"}).content
    rows = list(load_workbook(io.BytesIO(body), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert ("Lập lúc", made) in [r[:2] for r in rows]
    json_made = client.get("/api/v1/reports/outcomes", headers=justice.headers,
                           params={**PERIOD, "area": HANOI}).json()["generated_at"]
    assert json_made == "2026-11-28T14:00:00+07:00"


def test_play_log_csv_has_a_vietnamese_name_of_the_local_time(world, client):
    justice = user(world.container, client, "so-tu-phap", "viewer", HANOI)
    response = client.get("/api/v1/playlog", headers=justice.headers, params={"format": "csv"})
    assert response.status_code == 200
    assert names(response) == ("nhat-ky-phat-28-11-2026-14h00.csv", "Nhật ký phát 28-11-2026 14h00.csv")
