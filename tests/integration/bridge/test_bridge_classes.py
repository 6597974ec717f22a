"""Bulletins of each class end where Circular 39/2020 says: pool, next allowed window, emergency at once."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from broadcast.domain.priority import Priority
from broadcast.domain.scheduling import Programme, Schedule, ScheduleStatus, TargetSet
from broadcast.persistence.models import (
    AuditRow,
    BulletinRow,
    CommandPublicationRow,
    EmergencyRow,
    ProgrammeRow,
    ScheduleRow,
)
from tests.integration.bridge.conftest import bulletin, count, rows
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, VUNG_TAU, user

pytestmark = pytest.mark.integration
VN = ZoneInfo("Asia/Ho_Chi_Minh")  # the test clock is 2026-11-28 21:00 local, the end of the default window


def pulled(jobs, central, *items):
    central.state.add_bulletins(list(items))
    report = jobs.pull()
    assert report.error == "", report.error
    return report.receipts


def test_normal_bulletin_lands_in_the_pool_and_a_commune_schedules_it(container, client, clock, central, jobs,
                                                                       registry, bulletin_mp3):
    central.state.media["tin.mp3"] = (bulletin_mp3, "audio/mpeg")
    (receipt,) = pulled(jobs, central, bulletin("TW-N-1", clock, audio_url=central.media_url("tin.mp3")))
    assert (receipt.status, receipt.handling) == ("accepted", "pooled"), receipt.message

    (programme,) = rows(container, ProgrammeRow)
    assert (programme.source, programme.area_code, programme.priority, programme.bulletin_id) == \
        ("central", HANOI, "normal", "TW-N-1")
    assert count(container, ScheduleRow) == 0  # the commune decides if and when
    assert rows(container, BulletinRow)[0].status == "pooled"

    editor = user(container, client, "can-bo-hk", "editor", HOAN_KIEM)
    outsider = user(container, client, "can-bo-vt", "editor", VUNG_TAU)
    pool = client.get("/api/v1/bridge/bulletins", params={"status": "pooled"}, headers=editor.headers).json()
    assert [(b["id"], b["programme_id"], b["status_label"]) for b in pool] == \
        [("TW-N-1", programme.id, "trong kho bản tin")]
    assert client.get("/api/v1/bridge/bulletins", headers=outsider.headers).json() == []
    assert client.get("/api/v1/bridge/bulletins/TW-N-1", headers=outsider.headers).status_code == 404

    scheduled = client.post("/api/v1/schedules", headers=editor.headers, json={
        "programme_id": programme.id, "area_code": HOAN_KIEM, "targets": {"areas": [HOAN_KIEM]},
        "start": "2026-11-29T17:00"})
    assert scheduled.status_code == 201, scheduled.text

    jobs.send()
    (sent,) = central.state.of_kind("receipt")
    assert sent["payload"]["bulletin_id"] == "TW-N-1"
    assert (sent["payload"]["status"], sent["payload"]["handling"]) == ("accepted", "pooled")


def _own_priority_item(container, start_local: str) -> int:
    """A commune's own priority programme, approved at `start_local` in Hoàn Kiếm (a relay, no audio needed)."""
    uow = container.uow()
    with uow:
        now = container.clock.now()
        programme = uow.programmes.add(Programme(
            id=0, title="Thông báo của UBND phường", topic="other", language="vi", source="commune",
            priority=Priority.PRIORITY, area_code=HOAN_KIEM, created_by="can-bo-hk", created_at=now,
            stream_url="http://127.0.0.1:9/phuong", stream_duration_ms=20 * 60 * 1000))
        schedule = uow.schedules.add(Schedule(
            id=0, programme_id=programme.id, status=ScheduleStatus.APPROVED, targets=TargetSet(areas=(HOAN_KIEM,)),
            start_local=start_local, volume=70, area_code=HOAN_KIEM, author="can-bo-hk", approver="chu-tich",
            created_at=now, decided_at=now))
        uow.commit()
        return schedule.id


def _schedules_by_area(container) -> dict[str, ScheduleRow]:
    return {s.area_code: s for s in rows(container, ScheduleRow, ScheduleRow.author == "system")}


def test_priority_bulletin_goes_to_the_next_allowed_window_of_each_area(container, client, clock, central, jobs,
                                                                        registry):
    uow = container.uow()
    with uow:  # Hoàn Kiếm allows only 06:30–07:30; Cửa Nam keeps the default 05:00–21:00
        uow.policies.put(HOAN_KIEM, windows=["06:30-07:30"], max_minutes_per_day=None, weekdays=None, by="test",
                         at=clock.now())
        uow.commit()
    (receipt,) = pulled(jobs, central, bulletin("TW-P-1", clock, priority="priority", areas=(HOAN_KIEM, CUA_NAM)))
    assert (receipt.status, receipt.handling) == ("accepted", "placed"), receipt.message

    placed = _schedules_by_area(container)
    assert set(placed) == {HOAN_KIEM, CUA_NAM}
    assert placed[HOAN_KIEM].start_local == "2026-11-29T06:30:00"
    assert placed[CUA_NAM].start_local == "2026-11-29T05:00:00"
    assert {s.status for s in placed.values()} == {"approved"}
    assert {s.targets["areas"][0] for s in placed.values()} == {HOAN_KIEM, CUA_NAM}
    (programme,) = rows(container, ProgrammeRow)
    assert (programme.priority, programme.source, programme.bulletin_id) == ("priority", "central", "TW-P-1")
    audited = {(a.action, a.object_id) for a in rows(container, AuditRow)}
    assert {("schedule.approve", str(s.id)) for s in placed.values()} <= audited

    viewer = user(container, client, "tu-phap", "viewer", HANOI)
    (shown,) = client.get("/api/v1/bridge/bulletins", params={"status": "placed"}, headers=viewer.headers).json()
    assert sorted(p["start"] for p in shown["placements"]) == [
        datetime(2026, 11, 29, 5, 0, tzinfo=VN).isoformat(), datetime(2026, 11, 29, 6, 30, tzinfo=VN).isoformat()]


def test_priority_bulletin_colliding_with_a_commune_priority_item_waits_for_the_commune(
        container, client, clock, central, jobs, registry):
    own = _own_priority_item(container, "2026-11-29T05:00:00")
    (receipt,) = pulled(jobs, central, bulletin("TW-P-2", clock, priority="priority", areas=(HOAN_KIEM, CUA_NAM)))
    assert receipt.status == "accepted", receipt.message
    assert "chờ xã quyết định" in receipt.message

    placed = _schedules_by_area(container)
    assert placed[CUA_NAM].status == "approved"  # no collision there
    waiting = placed[HOAN_KIEM]
    assert (waiting.status, waiting.start_local) == ("submitted", "2026-11-29T05:00:00")
    (hk,) = [p for p in receipt.placements if p["area_code"] == HOAN_KIEM]
    assert hk["status"] == "submitted" and hk["conflicts"]
    assert {c["winner_schedule_id"] for c in hk["conflicts"]} | {c["loser_schedule_id"] for c in hk["conflicts"]} \
        >= {str(own)}

    # The commune's approver decides the order with a rank, through the ordinary workflow.
    approver = user(container, client, "chu-tich-hk", "approver", HOAN_KIEM)
    refused = client.post(f"/api/v1/schedules/{waiting.id}/approve", headers=approver.headers, json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "schedule_conflict"
    decided = client.post(f"/api/v1/schedules/{waiting.id}/approve", headers=approver.headers, json={"rank": -1})
    assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.text


def test_emergency_bulletin_starts_at_once_and_can_be_stopped(container, client, clock, central, jobs, registry):
    (receipt,) = pulled(jobs, central, bulletin("TW-E-1", clock, priority="emergency", areas=(HOAN_KIEM,),
                                                content="Lũ quét. Bà con di chuyển lên vùng cao ngay.",
                                                valid_hours=2))
    assert (receipt.status, receipt.handling) == ("accepted", "broadcast"), receipt.message
    (emergency,) = rows(container, EmergencyRow)
    assert (emergency.status, emergency.source, emergency.external_id) == ("active", "central", "TW-E-1")
    assert emergency.targets["tracked"] == len(registry[HOAN_KIEM])
    (doc,) = [p.document
              for p in rows(container, CommandPublicationRow, CommandPublicationRow.cmd_id == emergency.cmd_id)]
    assert doc["action"] == "play_now" and doc["priority"] == "emergency" and doc["media"][0]["duration_ms"] > 1000
    assert ("emergency.start", str(emergency.id)) in {(a.action, a.object_id) for a in rows(container, AuditRow)}
    assert count(container, ScheduleRow) == 0

    operator = user(container, client, "khan-cap", "emergency_operator", HOAN_KIEM)
    stopped = client.post(f"/api/v1/emergencies/{emergency.id}/stop", headers=operator.headers)
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped", stopped.text
