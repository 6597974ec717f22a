"""Who may read which report, refusals of bad input, and `loaxa report` writing the same figures to a file."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from broadcast.bootstrap import SystemClock
from broadcast.reports_cli import report as report_command
from tests.integration.reports.conftest import DAY, NOW
from tests.support.app import CUA_NAM, HANOI, HCMC, HOAN_KIEM, VUNG_TAU, user

pytestmark = pytest.mark.integration
PERIOD = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}


def get(client, headers, path: str, **params):
    return client.get(f"/api/v1/reports/{path}", headers=headers, params={**PERIOD, **params})


def test_readers_see_their_areas_only(world, client):
    justice = user(world.container, client, "so-tu-phap", "viewer", HANOI)
    commune_editor = user(world.container, client, "van-hoa-hk", "editor", HOAN_KIEM)
    elsewhere = user(world.container, client, "tu-phap-hcm", "viewer", HCMC)
    for kind in ("summary", "legal-education", "outcomes", "uptime", "emergencies", "approvals"):
        assert get(client, justice.headers, kind, area=HANOI).status_code == 200, kind
        assert get(client, justice.headers, kind, area=CUA_NAM).status_code == 200, kind
        assert get(client, elsewhere.headers, kind, area=HANOI).status_code == 403, kind
    assert get(client, elsewhere.headers, "outcomes", area=HOAN_KIEM).status_code == 403
    assert get(client, elsewhere.headers, "outcomes.svg", area=HANOI).status_code == 403
    assert get(client, elsewhere.headers, "outcomes", area=HANOI, format="xlsx").status_code == 403
    assert get(client, elsewhere.headers, "outcomes", area=VUNG_TAU).status_code == 200
    assert get(client, commune_editor.headers, "outcomes", area=HOAN_KIEM).status_code == 200
    assert get(client, commune_editor.headers, "outcomes", area=HANOI).status_code == 403  # not the province
    assert get(client, commune_editor.headers, "outcomes", area=CUA_NAM).status_code == 403  # nor a neighbour
    refused = get(client, elsewhere.headers, "outcomes", area=HANOI).json()["error"]
    assert "không có quyền" in refused["message"]
    assert client.get("/api/v1/reports/outcomes", params={"area": HANOI, **PERIOD}).status_code == 401


def test_bad_input_is_refused(world, client):
    justice = user(world.container, client, "so-tu-phap-2", "viewer", HANOI)
    h = justice.headers
    backwards = get(client, h, "outcomes", area=HANOI, **{"from": "2026-11-27", "to": "2026-11-26"})
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "invalid_period"
    assert "Ngày bắt đầu" in backwards.json()["error"]["message"]
    unknown = get(client, h, "outcomes", area="99999")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "area_not_found"
    assert get(client, h, "outcomes", area=HANOI, format="pdf").status_code == 422
    kind = get(client, h, "playtime", area=HANOI)
    assert kind.status_code == 422 and kind.json()["error"]["code"] == "invalid_report_kind"
    assert get(client, h, "playtime.svg", area=HANOI).status_code == 422
    assert get(client, h, "outcomes", area=HANOI, **{"from": "2026-13-01"}).status_code == 422
    assert get(client, h, "outcomes", area=HANOI, **{"from": "2020-01-01", "to": "2026-01-01"}).status_code == 422
    assert client.get("/api/v1/reports/outcomes", headers=h, params=PERIOD).status_code == 422  # no area


def test_cli_writes_the_report_in_each_format(world, client, container, tmp_path, monkeypatch, database_url):
    monkeypatch.setattr(SystemClock, "now", lambda self: NOW)  # the command line's clock is the system's
    monkeypatch.setenv("LOAXA_DATABASE_URL", database_url)
    monkeypatch.setenv("LOAXA_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("LOAXA_SECRET_KEY", "test-secret-key-0123456789-abcdefghijklmnop")
    app = typer.Typer()
    app.command("report")(report_command)
    app.command("noop")(lambda: None)  # two commands: typer then expects the command name, as in `loaxa report`
    justice = user(container, client, "so-tu-phap-3", "viewer", HANOI)
    api = get(client, justice.headers, "outcomes", area=HANOI).json()
    want = [r for r in api["sections"][0]["rows"]]
    runner = CliRunner()
    for fmt in ("json", "csv", "xlsx"):
        out = tmp_path / f"bao-cao.{fmt}"
        result = runner.invoke(app, ["report", "--area", HANOI, "--from", PERIOD["from"], "--to", PERIOD["to"],
                                     "--format", fmt, "--kind", "outcomes", str(out)])
        assert result.exit_code == 0, result.output
        assert "Đã ghi" in result.output
        if fmt == "json":
            assert json.loads(out.read_text(encoding="utf-8"))["sections"][0]["rows"] == want
        elif fmt == "csv":
            lines = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
            header = next(i for i, line in enumerate(lines) if line[:2] == ["Mã xã/phường", "Xã/phường"])
            assert [int(x) for x in lines[header + 1][2:6]] == [want[0][k] for k in ("played", "preempted", "missed",
                                                                                  "failed")]
        else:
            sheet = load_workbook(out, read_only=True).worksheets[0]
            rows = [r for r in sheet.iter_rows(values_only=True)]
            assert rows[-1][1:6] == ("Tổng cộng", *(want[-1][k] for k in ("played", "preempted", "missed",
                                                                                "failed")))
    bad = runner.invoke(app, ["report", "--area", "99999", "--from", PERIOD["from"], "--to", PERIOD["to"],
                              str(tmp_path / "x.json")])
    assert bad.exit_code == 1 and "Không tìm thấy" in bad.output
