"""Reports for the province (Sở Tư pháp, Sở Văn hóa): by area (province or commune) and period (local days).

Every figure comes from the daily aggregates (services/aggregates.py): closed days from the stored ones, brought
up to date first, today computed live. So a period the play log no longer covers reads the same way as last week.
Approval delays come from schedules (never purged). A report is a list of sections (tables) with Vietnamese
headers; exports (JSON, CSV, XLSX) and charts are made from it in reports_export.py and charts.py.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from broadcast.domain.areas import Area
from broadcast.domain.audio import LANGUAGES, TOPICS
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import InvalidInput
from broadcast.domain.scheduling import SOURCES
from broadcast.services.areas import get_area
from broadcast.services.ports import Clock, UnitOfWork
from broadcast.services.reports import aggregates
from broadcast.services.reports.ports import AirtimeAggregate, CommuneDay, Decision
from broadcast.services.reports.uptime_cache import UptimeCache

KINDS = {"summary": "Báo cáo tổng hợp", "legal-education": "Báo cáo phổ biến, giáo dục pháp luật",
         "outcomes": "Kết quả phát theo xã, phường", "uptime": "Thiết bị trực tuyến và thời gian hoạt động",
         "emergencies": "Phát khẩn cấp và mức độ tiếp nhận", "approvals": "Thời gian duyệt lịch phát"}
NOT_LEGAL_TOPICS = frozenset({"news", "music", "other"})  # everything else is legal education (PBGDPL)
SOURCE_LABELS = {**SOURCES, "other": "Khác"}
MAX_DAYS = 1100  # three years: a period longer than the retention plus a margin is a typo
OUTCOME_LABELS = {"played": "Đã phát", "preempted": "Bị ngắt", "missed": "Bỏ lỡ", "failed": "Lỗi",
                  "powered_off": "Không phát do tắt nguồn"}
OUTCOMES = tuple(OUTCOME_LABELS)


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # Vietnamese header


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    bars: list[tuple[str, float]]


@dataclass(frozen=True)
class Report:
    kind: str
    title: str
    area_code: str
    area_name: str
    first: date
    last: date
    generated_at: datetime
    sections: list[Section]
    chart: Chart
    stored_days: int  # closed days read from stored aggregates
    live_days: int  # today, computed from the play log


@dataclass(frozen=True)
class ReportRequest:
    kind: str
    area_code: str
    first: date
    last: date


@dataclass
class Figures:
    """What the sections are made of: aggregates of the period, restricted to the area."""

    airtime: list[AirtimeAggregate]
    communes: list[CommuneDay]
    names: dict[str, str]
    stored_days: int
    live_days: int


# ---------------------------------------------------------------- small helpers (pure)

def minutes(seconds: int | float) -> float:
    return round(seconds / 60, 1)


def percent(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def is_legal(topic: str) -> bool:
    return topic not in NOT_LEGAL_TOPICS


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (statistics 'inclusive'); q in [0, 1]."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def check_request(request: ReportRequest) -> None:
    if request.kind not in KINDS:
        raise InvalidInput(f"Loại báo cáo không hợp lệ: {request.kind!r}. Hợp lệ: {', '.join(KINDS)}.",
                           code="invalid_report_kind")
    if request.first > request.last:
        raise InvalidInput("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.", code="invalid_period")
    if (request.last - request.first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"Kỳ báo cáo dài tối đa {MAX_DAYS} ngày.", code="period_too_long")


# ---------------------------------------------------------------- gathering

def gather(uow_factory: Callable[[], UnitOfWork], clock: Clock, tz: tzinfo, area: Area, first: date, last: date, *,
           retention_days: int, uptime_cache: UptimeCache | None = None) -> Figures:
    now = clock.now()
    today = aggregates.local_day(now, tz)
    aggregates.refresh(uow_factory, clock, tz, first, last, retention_days=retention_days)
    stored_last = min(last, today - timedelta(days=1))
    uow = uow_factory()
    with uow:
        airtime, communes, stored = [], [], 0
        if first <= stored_last:
            airtime = uow.reports.airtime(first, stored_last, area.code)
            communes = uow.reports.commune_days(first, stored_last, area.code)
            stored = (stored_last - first).days + 1
        live = 0
        if first <= today <= last:
            figures = aggregates.compute_day(uow, today, tz, now=now, area=area.code, uptime_cache=uptime_cache)
            airtime += figures.airtime
            communes += figures.communes
            live = 1
        names = uow.reports.area_names({c.commune_code for c in communes} | {a.commune_code for a in airtime})
    return Figures(airtime, communes, names, stored, live)


# ---------------------------------------------------------------- sections

def _sum_by(rows: Iterable[AirtimeAggregate], key: Callable[[AirtimeAggregate], str]) -> dict[str, list[int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        total = totals[key(row)]
        total[0] += row.items
        total[1] += row.plays
        total[2] += row.seconds
    return totals


AIRTIME_COLUMNS = (Column("items", "Số lượt phát sóng"), Column("plays", "Lượt phát trên cụm loa"),
                   Column("minutes", "Số phút"))


def _airtime_section(key: str, title: str, first_column: tuple[Column, Column], totals: dict[str, list[int]],
                     labels: dict[str, str]) -> Section:
    code_column, label_column = first_column
    rows = [{code_column.key: code, label_column.key: labels.get(code, code), "items": i, "plays": n,
             "minutes": minutes(s)}
            for code, (i, n, s) in sorted(totals.items(), key=lambda kv: (-kv[1][2], kv[0]))]
    return Section(key, title, (code_column, label_column, *AIRTIME_COLUMNS), rows)


def legal_sections(f: Figures) -> list[Section]:
    legal = [a for a in f.airtime if is_legal(a.topic)]
    all_seconds = sum(a.seconds for a in f.airtime)
    legal_seconds = sum(a.seconds for a in legal)
    summary = Section("pbgdpl", "Tổng hợp phổ biến, giáo dục pháp luật",
                      (Column("metric", "Chỉ tiêu"), Column("value", "Giá trị")), [
                          {"metric": "Số lượt phát sóng PBGDPL", "value": sum(a.items for a in legal)},
                          {"metric": "Lượt phát PBGDPL trên cụm loa", "value": sum(a.plays for a in legal)},
                          {"metric": "Số phút PBGDPL", "value": minutes(legal_seconds)},
                          {"metric": "Tổng số phút phát sóng", "value": minutes(all_seconds)},
                          {"metric": "Tỷ lệ PBGDPL trong thời lượng phát (%)",
                           "value": percent(legal_seconds, all_seconds)}])
    by_commune: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for a in f.airtime:
        total = by_commune[a.commune_code]
        total[2] += a.seconds
        if is_legal(a.topic):
            total[0] += a.items
            total[1] += a.seconds
    communes = Section("theo_xa", "PBGDPL theo xã, phường", (
        Column("commune_code", "Mã xã/phường"), Column("commune_name", "Xã/phường"),
        Column("items", "Số lượt phát sóng PBGDPL"), Column("minutes", "Số phút PBGDPL"),
        Column("total_minutes", "Tổng số phút phát sóng"), Column("share", "Tỷ lệ PBGDPL (%)")), [
        {"commune_code": c, "commune_name": f.names.get(c, ""), "items": i, "minutes": minutes(s),
         "total_minutes": minutes(t), "share": percent(s, t)} for c, (i, s, t) in sorted(by_commune.items())])
    return [summary,
            _airtime_section("theo_chu_de", "PBGDPL theo chủ đề",
                             (Column("topic", "Mã chủ đề"), Column("topic_label", "Chủ đề")),
                             _sum_by(legal, lambda a: a.topic), TOPICS),
            _airtime_section("theo_nguon", "PBGDPL theo nguồn",
                             (Column("source", "Mã nguồn"), Column("source_label", "Nguồn")),
                             _sum_by(legal, lambda a: a.source), SOURCE_LABELS),
            _airtime_section("theo_ngon_ngu", "PBGDPL theo ngôn ngữ",
                             (Column("language", "Mã ngôn ngữ"), Column("language_label", "Ngôn ngữ")),
                             _sum_by(legal, lambda a: a.language), LANGUAGES),
            communes]


def _by_commune(days: Iterable[CommuneDay]) -> dict[str, list[CommuneDay]]:
    grouped: dict[str, list[CommuneDay]] = defaultdict(list)
    for d in days:
        grouped[d.commune_code].append(d)
    return dict(sorted(grouped.items()))


COMMUNE_COLUMNS = (Column("commune_code", "Mã xã/phường"), Column("commune_name", "Xã/phường"))
TOTAL_LABEL = "Tổng cộng"


def outcome_section(f: Figures) -> Section:
    rows = []
    for commune, days in _by_commune(f.communes).items():
        counts = {o: sum(getattr(d, o) for d in days) for o in OUTCOMES}
        rows.append({"commune_code": commune, "commune_name": f.names.get(commune, ""), **counts})
    totals = {o: sum(r[o] for r in rows) for o in OUTCOMES}
    rows.append({"commune_code": "", "commune_name": TOTAL_LABEL, **totals})
    for row in rows:
        row["total"] = sum(row[o] for o in OUTCOMES)
        row["played_share"] = percent(row["played"], row["total"])
    return Section("ket_qua", "Kết quả phát theo xã, phường", (
        *COMMUNE_COLUMNS, *(Column(o, label) for o, label in OUTCOME_LABELS.items()), Column("total", "Tổng số"),
        Column("played_share", "Tỷ lệ phát thành công (%)")),
        rows)


def _weighted_uptime(days: Iterable[CommuneDay]) -> tuple[float, float]:
    """(online device-days, device-days): each day's ratio weighted by its devices."""
    up = total = 0.0
    for d in days:
        if d.uptime_ratio is not None and d.devices:
            up += d.uptime_ratio * d.devices
            total += d.devices
    return up, total


def uptime_section(f: Figures, counts: dict[str, tuple[int, int]]) -> Section:
    rows: list[dict[str, Any]] = []
    grouped = _by_commune(f.communes)
    up_all = total_all = 0.0
    for commune in sorted(set(grouped) | set(counts)):
        days = grouped.get(commune, ())
        up, total = _weighted_uptime(days)
        up_all, total_all = up_all + up, total_all + total
        now_devices, online = counts.get(commune, (0, 0))
        # The period's own fleet (the most devices any of its days counted), not today's: a report of last year
        # must not count loudspeakers installed since.
        devices = max((d.devices or 0 for d in days), default=now_devices)
        rows.append({"commune_code": commune, "commune_name": f.names.get(commune, ""), "devices": devices,
                     "online": online, "uptime": percent(up, total)})
    rows.append({"commune_code": "", "commune_name": TOTAL_LABEL, "devices": sum(r["devices"] for r in rows),
                 "online": sum(r["online"] for r in rows), "uptime": percent(up_all, total_all)})
    return Section("thiet_bi", "Thiết bị trực tuyến và thời gian hoạt động", (
        *COMMUNE_COLUMNS, Column("devices", "Số cụm loa trong kỳ"), Column("online", "Đang trực tuyến (hiện tại)"),
        Column("uptime", "Thời gian hoạt động trong kỳ (%)")), rows)


def emergency_section(f: Figures) -> Section:
    rows = []
    for commune, days in _by_commune(f.communes).items():
        e, n, r = (sum(getattr(d, k) for d in days) for k in ("emergencies", "emergency_devices", "emergency_reached"))
        if e:
            rows.append({"commune_code": commune, "commune_name": f.names.get(commune, ""), "emergencies": e,
                         "devices": n, "reached": r})
    rows.append({"commune_code": "", "commune_name": TOTAL_LABEL,
                 **{k: sum(r[k] for r in rows) for k in ("emergencies", "devices", "reached")}})
    for row in rows:
        row["reach"] = percent(row["reached"], row["devices"])
    return Section("khan_cap", "Phát khẩn cấp và mức độ tiếp nhận", (
        *COMMUNE_COLUMNS, Column("emergencies", "Số lần phát khẩn cấp"), Column("devices", "Cụm loa cần tới"),
        Column("reached", "Cụm loa đã nhận"), Column("reach", "Tỷ lệ tiếp nhận (%)")), rows)


def approval_section(decisions: Sequence[Decision], names: dict[str, str]) -> Section:
    grouped: dict[str, list[Decision]] = defaultdict(list)
    for d in decisions:
        grouped[d.area_code].append(d)

    def row(code: str, label: str, items: Sequence[Decision]) -> dict[str, Any]:
        hours = [(d.decided_at - d.submitted_at).total_seconds() / 3600 for d in items]
        median, p90 = quantile(hours, 0.5), quantile(hours, 0.9)
        return {"area_code": code, "area_name": label, "decided": len(items),
                "approved": sum(d.status == "approved" for d in items),
                "rejected": sum(d.status == "rejected" for d in items),
                "median_hours": None if median is None else round(median, 2),
                "p90_hours": None if p90 is None else round(p90, 2)}

    rows = [row(code, names.get(code, ""), items) for code, items in sorted(grouped.items())]
    rows.append(row("", TOTAL_LABEL, list(decisions)))
    return Section("duyet_lich", "Thời gian từ khi trình đến khi duyệt lịch phát", (
        Column("area_code", "Mã đơn vị"), Column("area_name", "Đơn vị"), Column("decided", "Số lịch đã xử lý"),
        Column("approved", "Đã duyệt"), Column("rejected", "Bị từ chối"),
        Column("median_hours", "Trung vị (giờ)"), Column("p90_hours", "Phân vị 90 (giờ)")), rows)


def summary_section(sections: dict[str, Section]) -> Section:
    """Key figures of every other report, one row each."""
    def total(key: str) -> dict[str, Any]:
        return sections[key].rows[-1]

    legal = {r["metric"]: r["value"] for r in sections["legal"].rows}
    outcome, devices, emergency, approval = total("outcomes"), total("uptime"), total("emergencies"), \
        total("approvals")
    rows = [{"metric": m, "value": v} for m, v in legal.items()]
    rows += [{"metric": "Lượt đã phát", "value": outcome["played"]},
             {"metric": "Lượt bị ngắt", "value": outcome["preempted"]},
             {"metric": "Lượt bỏ lỡ", "value": outcome["missed"]},
             {"metric": "Lượt lỗi", "value": outcome["failed"]},
             {"metric": "Tỷ lệ phát thành công (%)", "value": outcome["played_share"]},
             {"metric": "Số cụm loa", "value": devices["devices"]},
             {"metric": "Cụm loa đang trực tuyến", "value": devices["online"]},
             {"metric": "Thời gian hoạt động trong kỳ (%)", "value": devices["uptime"]},
             {"metric": "Số lần phát khẩn cấp (theo xã)", "value": emergency["emergencies"]},
             {"metric": "Tỷ lệ tiếp nhận khẩn cấp (%)", "value": emergency["reach"]},
             {"metric": "Số lịch phát đã xử lý", "value": approval["decided"]},
             {"metric": "Thời gian duyệt, trung vị (giờ)", "value": approval["median_hours"]},
             {"metric": "Thời gian duyệt, phân vị 90 (giờ)", "value": approval["p90_hours"]}]
    return Section("tong_hop", "Chỉ tiêu tổng hợp", (Column("metric", "Chỉ tiêu"), Column("value", "Giá trị")), rows)


# ---------------------------------------------------------------- charts

def chart_for(kind: str, sections: list[Section], f: Figures) -> Chart:
    by_key = {s.key: s for s in sections}
    if kind == "legal-education":
        rows = by_key["theo_chu_de"].rows
        return Chart("Số phút PBGDPL theo chủ đề", "phút", [(r["topic_label"], r["minutes"]) for r in rows])
    if kind == "outcomes":
        total = by_key["ket_qua"].rows[-1]
        return Chart("Kết quả phát", "lượt", [(OUTCOME_LABELS[o], total[o]) for o in OUTCOMES])
    if kind == "uptime":
        rows = by_key["thiet_bi"].rows[:-1]
        return Chart("Thời gian hoạt động theo xã, phường", "%",
                     [(r["commune_name"] or r["commune_code"], r["uptime"] or 0) for r in rows])
    if kind == "emergencies":
        rows = by_key["khan_cap"].rows[:-1]
        return Chart("Tỷ lệ tiếp nhận khẩn cấp theo xã, phường", "%",
                     [(r["commune_name"] or r["commune_code"], r["reach"] or 0) for r in rows])
    if kind == "approvals":
        rows = by_key["duyet_lich"].rows[:-1]
        return Chart("Thời gian duyệt lịch phát, trung vị", "giờ",
                     [(r["area_name"] or r["area_code"], r["median_hours"] or 0) for r in rows])
    totals = _sum_by(f.airtime, lambda a: a.topic)
    return Chart("Số phút phát sóng theo chủ đề", "phút",
                 [(TOPICS.get(t, t), minutes(s)) for t, (_, _, s) in sorted(totals.items(), key=lambda kv: -kv[1][2])])


# ---------------------------------------------------------------- the use case

def build_report(uow_factory: Callable[[], UnitOfWork], clock: Clock, tz: tzinfo, principal: Principal | None,
                 request: ReportRequest, *, retention_days: int, uptime_cache: UptimeCache | None = None) -> Report:
    """The report asked for; `principal` None is the operator's command line (every area). `uptime_cache`: pages
    and the API reuse today's device-time for a minute (services/reports/uptime_cache.py)."""
    check_request(request)
    uow = uow_factory()
    with uow:
        area = get_area(uow, request.area_code)
        if principal is not None:
            principal.require(Action.READ, area.chain())
    f = gather(uow_factory, clock, tz, area, request.first, request.last, retention_days=retention_days,
               uptime_cache=uptime_cache)
    kind = request.kind
    sections: list[Section]
    if kind in ("approvals", "summary", "uptime"):
        start, _ = aggregates.day_bounds(request.first, tz)
        _, end = aggregates.day_bounds(request.last, tz)
        with uow:
            decisions = uow.reports.decisions(start, end, area.code)
            counts = {c.commune_code: (c.devices, c.online) for c in uow.reports.device_counts(area.code)}
            names = {**f.names, **uow.reports.area_names({d.area_code for d in decisions} | set(counts))}
        f.names = names
    if kind == "legal-education":
        sections = legal_sections(f)
    elif kind == "outcomes":
        sections = [outcome_section(f)]
    elif kind == "uptime":
        sections = [uptime_section(f, counts)]
    elif kind == "emergencies":
        sections = [emergency_section(f)]
    elif kind == "approvals":
        sections = [approval_section(decisions, f.names)]
    else:
        parts = {"legal": legal_sections(f)[0], "outcomes": outcome_section(f), "uptime": uptime_section(f, counts),
                 "emergencies": emergency_section(f), "approvals": approval_section(decisions, f.names)}
        sections = [summary_section(parts), *parts.values()]
    return Report(kind=kind, title=KINDS[kind], area_code=area.code, area_name=area.name, first=request.first,
                  last=request.last, generated_at=clock.now().astimezone(tz), sections=sections,
                  chart=chart_for(kind, sections, f),
                  stored_days=f.stored_days, live_days=f.live_days)
