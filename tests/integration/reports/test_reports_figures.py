"""Report figures equal a count made directly from the play log; exports (CSV, XLSX) hold the same numbers."""
from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import UTC, date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from broadcast.domain.audio import LANGUAGES, TOPICS
from broadcast.persistence.models import PlayLogRow, ProgrammeRow
from broadcast.services.reports.export import header_row_index
from tests.integration.reports.conftest import DAY, DAYS, TZ
from tests.support.app import CUA_NAM, HANOI, HCMC, HOAN_KIEM, user

pytestmark = pytest.mark.integration
NOT_LEGAL = {"news", "music", "other"}


def play_log(container, first: date, last: date, communes: set[str]) -> list:
    """Raw proof-of-play rows of local days [first, last] in the communes, with their programme's labels."""
    with container.engine.connect() as connection:
        rows = connection.execute(
            select(PlayLogRow.commune_code, PlayLogRow.item_id, PlayLogRow.outcome, PlayLogRow.planned_start,
                   PlayLogRow.planned_end, ProgrammeRow.topic, ProgrammeRow.language, ProgrammeRow.source)
            .outerjoin(ProgrammeRow, ProgrammeRow.id == PlayLogRow.programme_id)).all()
    aware = [(r, r.planned_start.replace(tzinfo=r.planned_start.tzinfo or UTC)) for r in rows]
    return [r for r, start in aware if r.commune_code in communes and first <= start.astimezone(TZ).date() <= last]


def expected(rows) -> dict:
    outcomes = Counter((r.commune_code, r.outcome) for r in rows)
    legal_items: dict[tuple[str, str], object] = {}
    plays = Counter()
    all_seconds = 0.0
    seen = set()
    for r in rows:
        if r.outcome != "played":
            continue
        key = (r.commune_code, r.item_id)
        if key not in seen:
            seen.add(key)
            all_seconds += (r.planned_end - r.planned_start).total_seconds()
        if r.topic not in NOT_LEGAL:
            legal_items[key] = r
            plays[r.topic] += 1
    by_topic = defaultdict(lambda: [0, 0, 0.0])
    by_language = defaultdict(float)
    by_source = defaultdict(float)
    for r in legal_items.values():
        seconds = (r.planned_end - r.planned_start).total_seconds()
        by_topic[r.topic][0] += 1
        by_topic[r.topic][2] += seconds
        by_language[r.language] += seconds
        by_source[r.source] += seconds
    for topic, n in plays.items():
        by_topic[topic][1] = n
    legal_seconds = sum(v[2] for v in by_topic.values())
    return {"outcomes": outcomes, "by_topic": by_topic, "by_language": by_language, "by_source": by_source,
            "legal_seconds": legal_seconds, "all_seconds": all_seconds}


def section(body: dict, key: str) -> dict:
    return next(s for s in body["sections"] if s["key"] == key)


def get(client, headers, kind: str, area: str, first: date, last: date, **params):
    return client.get(f"/api/v1/reports/{kind}", headers=headers,
                      params={"area": area, "from": first.isoformat(), "to": last.isoformat(), **params})


@pytest.mark.parametrize("area,communes", [(HANOI, {HOAN_KIEM, CUA_NAM}), (HOAN_KIEM, {HOAN_KIEM})])
def test_outcomes_and_legal_education_equal_the_play_log(world, client, area, communes):
    officer = user(world.container, client, "tu-phap-1", "viewer", HANOI)
    first, last = DAYS[0], DAYS[-1]  # two closed days (stored) and today (live)
    want = expected(play_log(world.container, first, last, communes))
    assert sum(want["outcomes"].values()) > 10  # the world really has data in this area

    outcomes = get(client, officer.headers, "outcomes", area, first, last)
    assert outcomes.status_code == 200, outcomes.text
    body = outcomes.json()
    assert body["days"] == {"stored": 2, "live": 1}
    rows = {r["commune_code"]: r for r in section(body, "ket_qua")["rows"] if r["commune_code"]}
    assert set(rows) == communes
    for commune in communes:
        for outcome in ("played", "preempted", "missed", "failed"):
            assert rows[commune][outcome] == want["outcomes"][(commune, outcome)], (commune, outcome)
    total = section(body, "ket_qua")["rows"][-1]
    assert total["total"] == sum(want["outcomes"].values())

    legal = get(client, officer.headers, "legal-education", area, first, last).json()
    topics = {r["topic"]: r for r in section(legal, "theo_chu_de")["rows"]}
    assert set(topics) == set(want["by_topic"]) and "news" not in topics
    for topic, (items, plays, seconds) in want["by_topic"].items():
        assert (topics[topic]["items"], topics[topic]["plays"]) == (items, plays)
        assert topics[topic]["minutes"] == round(seconds / 60, 1)
        assert topics[topic]["topic_label"] == TOPICS[topic]
    languages = {r["language"]: r for r in section(legal, "theo_ngon_ngu")["rows"]}
    assert ({k: v["minutes"] for k, v in languages.items()}
            == {k: round(v / 60, 1) for k, v in want["by_language"].items()})
    assert languages["mtq"]["language_label"] == LANGUAGES["mtq"] == "Tiếng Mường"
    sources = {r["source"]: r["minutes"] for r in section(legal, "theo_nguon")["rows"]}
    assert sources == {k: round(v / 60, 1) for k, v in want["by_source"].items()}
    summary = {r["metric"]: r["value"] for r in section(legal, "pbgdpl")["rows"]}
    assert summary["Số phút PBGDPL"] == round(want["legal_seconds"] / 60, 1)
    assert summary["Tổng số phút phát sóng"] == round(want["all_seconds"] / 60, 1)
    assert (summary["Tỷ lệ PBGDPL trong thời lượng phát (%)"]
            == round(100 * want["legal_seconds"] / want["all_seconds"], 1))


def test_xlsx_and_csv_hold_the_json_numbers(world, client):
    officer = user(world.container, client, "tu-phap-2", "viewer", HANOI)
    first, last = DAYS[0], DAYS[1]
    body = get(client, officer.headers, "legal-education", HANOI, first, last).json()

    xlsx = get(client, officer.headers, "legal-education", HANOI, first, last, format="xlsx")
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert len(workbook.sheetnames) == len(body["sections"])
    for sheet_name, part in zip(workbook.sheetnames, body["sections"], strict=True):
        values = list(workbook[sheet_name].iter_rows(values_only=True))
        header = values[header_row_index() - 1]
        assert list(header[:len(part["columns"])]) == [c["label"] for c in part["columns"]]
        got = [list(v[:len(part["columns"])]) for v in values[header_row_index():]]
        assert got == [[r[c["key"]] for c in part["columns"]] for r in part["rows"]]
    assert workbook.sheetnames[1] == "PBGDPL theo chủ đề"

    text = get(client, officer.headers, "legal-education", HANOI, first, last, format="csv")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    topics = section(body, "theo_chu_de")
    start = lines.index([topics["title"]])
    assert lines[start + 1] == [c["label"] for c in topics["columns"]]
    for offset, row in enumerate(topics["rows"], start=2):
        assert lines[start + offset] == [str(row[c["key"]]) for c in topics["columns"]]
    assert "Số phút" in lines[start + 1] and "Chủ đề" in lines[start + 1]


def test_province_elsewhere_is_not_mixed_in(world, client):
    admin = user(world.container, client, "quan-tri", "admin", HCMC)
    body = get(client, admin.headers, "outcomes", HCMC, DAYS[0], DAYS[-1]).json()
    rows = [r for r in section(body, "ket_qua")["rows"] if r["commune_code"]]
    want = expected(play_log(world.container, DAYS[0], DAYS[-1], {r["commune_code"] for r in rows}))
    assert [r["commune_code"] for r in rows] == ["26506"]
    assert rows[0]["played"] == want["outcomes"][("26506", "played")]


def test_svg_chart_draws_the_report(world, client):
    officer = user(world.container, client, "tu-phap-3", "viewer", HANOI)
    response = client.get("/api/v1/reports/legal-education.svg", headers=officer.headers,
                          params={"area": HANOI, "from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()})
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    import xml.etree.ElementTree as ET

    root = ET.fromstring(response.text)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Số phút PBGDPL theo chủ đề" in texts and TOPICS["land"] in texts and TOPICS["news"] not in texts
    svg = "{http://www.w3.org/2000/svg}"
    bars = [r for r in root.iter(f"{svg}rect") if r.find(f"{svg}title") is not None]
    assert len(bars) == 3  # land, drugs, road traffic
