"""Outbound: master data, plays of central bulletins and daily figures survive an outage, arrive once, in order;
a central side that fails, hangs or talks nonsense never stops the pull cursor's safety or local scheduling."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from broadcast.persistence.models import (
    BridgeOutboxRow,
    BridgeStateRow,
    DailyAirtimeRow,
    DailyCommuneRow,
    PlayLogRow,
    ProgrammeRow,
)
from broadcast.services.bridge import pull as bridge_pull
from broadcast.services.bridge.reports import enqueue_daily, enqueue_master_data, enqueue_playback
from tests.integration.bridge.conftest import bulletin, rows
from tests.support.app import CUA_NAM, HOAN_KIEM, user

pytestmark = pytest.mark.integration
YESTERDAY = date(2026, 11, 27)


def _central_plays(container, clock, n: int) -> None:
    """A pooled central programme that played `n` times, recorded ten minutes ago; plus a local play."""
    with container.session_factory() as session:
        now = clock.now()
        central = ProgrammeRow(title="Bản tin trung ương", topic="land", language="vi", source="central",
                               priority="normal", area_code="01", bulletin_id="TW-PLAY-1", created_by="system",
                               created_at=now, stream_url="http://127.0.0.1:9/x", stream_duration_ms=60_000)
        local = ProgrammeRow(title="Tin của phường", topic="news", language="vi", source="commune",
                             priority="normal", area_code=HOAN_KIEM, created_by="can-bo", created_at=now,
                             stream_url="http://127.0.0.1:9/y", stream_duration_ms=60_000)
        session.add_all([central, local])
        session.flush()
        for i in range(n + 1):
            programme = local if i == n else central
            session.add(PlayLogRow(device_id=f"hk-{i % 2}", commune_code=HOAN_KIEM, item_id=f"occ-{i}",
                                   programme_id=programme.id, title=programme.title, outcome="played",
                                   planned_start=now - timedelta(minutes=30 + i),
                                   recorded_at=now - timedelta(minutes=10)))
        session.commit()


def _daily_figures(container, clock) -> None:
    with container.session_factory() as session:
        for commune, seconds in ((HOAN_KIEM, 900), (CUA_NAM, 600)):
            session.add(DailyAirtimeRow(day=YESTERDAY, commune_code=commune, source="central", topic="land",
                                        language="vi", priority="normal", items=1, plays=2, seconds=seconds))
            session.add(DailyCommuneRow(day=YESTERDAY, commune_code=commune, played=2, missed=0, failed=0,
                                        preempted=0, devices=2, uptime_ratio=0.98, emergencies=0,
                                        emergency_devices=0, emergency_reached=0, computed_at=clock.now()))
        session.commit()


def _queue_everything(container, clock, registry) -> list[str]:
    """Master data, plays in batches of 2, daily figures: the keys in the order they must arrive."""
    _central_plays(container, clock, 5)
    _daily_figures(container, clock)
    assert enqueue_master_data(container.uow(), clock, "loaxa-hn")
    assert not enqueue_master_data(container.uow(), clock, "loaxa-hn")  # unchanged registry: not queued twice
    assert enqueue_playback(container.uow, clock, "loaxa-hn", batch=2) == 5  # the local play is not reported
    assert enqueue_playback(container.uow, clock, "loaxa-hn", batch=2) == 0
    assert enqueue_daily(container.uow(), clock, "loaxa-hn", YESTERDAY) == 2
    assert enqueue_daily(container.uow(), clock, "loaxa-hn", YESTERDAY) == 0
    return [m.idempotency_key for m in rows(container, BridgeOutboxRow, order=BridgeOutboxRow.id)]


def test_one_hour_outage_then_every_report_arrives_once_in_order(container, clock, central, jobs, registry):
    keys = _queue_everything(container, clock, registry)
    assert [k.split(":")[0] for k in keys] == ["master_data", "playback", "playback", "playback", "daily", "daily"]

    central.state.set_mode("fail")
    calls = []
    for _ in range(6 * 60):  # one hour, the send job every 10 s of the test clock
        clock.advance(seconds=10)
        report = jobs.send()
        assert report.sent == 0
        calls.append(report.failed)
    # Exponential backoff (30 s, 60 s, ... capped at 600 s): a handful of calls in an hour, not 360.
    assert 5 <= sum(calls) <= 12 and central.state.attempts == sum(calls)
    head, *rest = rows(container, BridgeOutboxRow, order=BridgeOutboxRow.id)
    assert head.attempts == sum(calls) and head.last_error and head.delivered_at is None
    assert all(m.attempts == 0 for m in rest)  # nothing overtakes the head
    assert central.state.received == []

    central.state.set_mode("ok")
    for _ in range(61):  # at most the 600 s cap later
        clock.advance(seconds=10)
        if jobs.send().sent:
            break
    assert central.keys() == keys  # each once, in order
    assert central.state.duplicates == []
    assert all(m.delivered_at is not None for m in rows(container, BridgeOutboxRow))
    (master,) = [r["payload"] for r in central.state.received if r["kind"] == "master_data"]
    stations = {s["commune_code"]: s for s in master["stations"]}
    assert set(stations) == set(registry) and stations[HOAN_KIEM]["clusters_total"] == 2
    assert stations[HOAN_KIEM]["clusters"][0]["vendor"] == "Acme"
    plays = [p for r in central.state.of_kind("playback") for p in r["payload"]["plays"]]
    assert len(plays) == 5 and {p["bulletin_id"] for p in plays} == {"TW-PLAY-1"}
    daily = {r["payload"]["commune_code"]: r["payload"] for r in central.state.of_kind("daily_report")}
    assert daily[HOAN_KIEM]["airtime"][0]["seconds"] == 900 and daily[CUA_NAM]["outcomes"]["played"] == 2


def test_an_answer_lost_on_the_way_back_is_resent_under_the_same_key_and_counted_once(container, clock, central,
                                                                                      jobs, registry):
    keys = _queue_everything(container, clock, registry)
    central.state.set_mode("nonsense")  # the central side records, then the reply is mangled
    report = jobs.send()
    assert report.sent == 0 and report.failed == 1
    central.state.set_mode("ok")
    clock.advance(seconds=31)
    assert jobs.send().sent == len(keys)
    assert central.keys() == keys and central.state.duplicates == [keys[0]]


def test_a_hanging_central_side_times_out_and_is_retried(container, clock, central, jobs, registry):
    keys = _queue_everything(container, clock, registry)
    central.state.set_mode("slow", delay_s=3.0)  # the client gives up after 1 s
    report = jobs.send()
    assert report.failed == 1 and "Timeout" in report.error
    central.state.set_mode("ok")
    clock.advance(seconds=31)
    assert jobs.send().sent == len(keys)
    assert [k for k in central.keys()] == keys


@pytest.mark.parametrize("mode", ["fail", "slow", "nonsense"])
def test_a_broken_central_side_does_not_stop_local_scheduling(container, client, clock, central, jobs, registry,
                                                              mode):
    central.state.add_bulletins([bulletin("TW-X-1", clock)])
    central.state.set_mode(mode, delay_s=3.0)
    report = jobs.pull()
    assert report.error and report.receipts == []
    assert rows(container, BridgeStateRow) == []  # the cursor did not move

    editor = user(container, client, "can-bo-hk", "editor", HOAN_KIEM)
    approver = user(container, client, "chu-tich-hk", "approver", HOAN_KIEM)
    programme = client.post("/api/v1/programmes", headers=editor.headers, json={
        "title": "Tiếp sóng", "area_code": HOAN_KIEM, "stream_url": "http://127.0.0.1:9/vov", "stream_duration_s": 600})
    assert programme.status_code == 201, programme.text
    created = client.post("/api/v1/schedules", headers=editor.headers, json={
        "programme_id": programme.json()["id"], "targets": {"areas": [HOAN_KIEM]}, "start": "2026-11-29T06:00"})
    sid = created.json()["id"]
    assert client.post(f"/api/v1/schedules/{sid}/submit", headers=editor.headers).status_code == 200
    approved = client.post(f"/api/v1/schedules/{sid}/approve", headers=approver.headers, json={})
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text

    central.state.set_mode("ok")
    (receipt,) = jobs.pull().receipts
    assert receipt.bulletin_id == "TW-X-1" and receipt.status == "accepted"


def test_the_pull_cursor_advances_only_after_a_page_is_stored(container, clock, central, jobs, registry,
                                                              monkeypatch):
    # Unknown areas: cheap to import (refused, recorded) and still a stored outcome per bulletin.
    central.state.add_bulletins([bulletin(f"TW-C-{i}", clock, areas=("99999",)) for i in range(3)])
    real = bridge_pull.import_bulletin
    seen = []

    def crash_on_second(uow, tools, item, *, via):
        seen.append(item.id)
        if len(seen) == 2:
            raise RuntimeError("the process died here")
        return real(uow, tools, item, via=via)

    monkeypatch.setattr(bridge_pull, "import_bulletin", crash_on_second)
    with pytest.raises(RuntimeError):
        jobs.pull()
    assert bridge_pull.read_cursor(container.uow()) is None
    monkeypatch.setattr(bridge_pull, "import_bulletin", real)

    report = jobs.pull()  # the whole page again (a refused id is evaluated again, so it is refused again)
    assert [r.bulletin_id for r in report.receipts] == ["TW-C-0", "TW-C-1", "TW-C-2"]
    assert bridge_pull.read_cursor(container.uow()) == "3"
    central.state.add_bulletins([bulletin("TW-C-3", clock, areas=("99999",))])
    assert [r.bulletin_id for r in jobs.pull().receipts] == ["TW-C-3"]
    assert bridge_pull.read_cursor(container.uow()) == "4"
