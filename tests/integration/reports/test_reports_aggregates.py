"""Presence changes, uptime, emergencies and approval delays; the nightly aggregates, late proof of play, and
reports over a period whose play log was purged."""
from __future__ import annotations

import statistics
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from broadcast import protocol
from broadcast.domain.delivery import CommandPublication
from broadcast.domain.scheduling import Schedule, ScheduleStatus, TargetSet
from broadcast.persistence.models import DailyAirtimeRow, DailyCommuneRow, DevicePresenceRow, PlayLogRow
from broadcast.services.playlog import purge_expired
from broadcast.services.ports import Emergency
from broadcast.services.reports import aggregates
from broadcast.services.reports.export import to_json
from broadcast.services.reports.figures import ReportRequest, build_report
from tests.integration.reports.conftest import DAY, NOW, TZ, outcome_for
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, user
from tests.support.inbound import as_received, presence

pytestmark = pytest.mark.integration


def report(client, headers, kind: str, area: str, first, last) -> dict:
    response = client.get(f"/api/v1/reports/{kind}", headers=headers,
                          params={"area": area, "from": first.isoformat(), "to": last.isoformat()})
    assert response.status_code == 200, response.text
    return response.json()


def rows(body: dict, key: str | None = None) -> dict[str, dict]:
    section = body["sections"][0] if key is None else next(s for s in body["sections"] if s["key"] == key)
    return {r.get("commune_code", r.get("area_code")): r for r in section["rows"]}


def scalar(container, stmt):
    with container.engine.connect() as connection:
        return connection.scalar(stmt)


def test_presence_changes_are_recorded_once_each(world):
    events = lambda device: scalar(world.container, select(func.count()).select_from(DevicePresenceRow)  # noqa: E731
                                     .where(DevicePresenceRow.device_id == device))
    assert (events("hk-0001"), events("cn-0001"), events("hk-0002")) == (1, 2, 0)
    at = NOW + timedelta(minutes=1)
    world.inbox.handle([presence("hk-0002", False, at),  # first status ever: a change
                        presence("hk-0001", True, at),  # same as stored: none
                        presence("cn-0001", True, at),  # flips on ...
                        presence("cn-0001", False, at + timedelta(seconds=30)),  # ... and off
                        presence("ghost-9", True, at)])  # unknown device: none
    assert (events("hk-0001"), events("cn-0001"), events("hk-0002")) == (1, 4, 1)


def test_uptime_from_presence_events(world, client):
    justice = user(world.container, client, "tu-phap-u", "viewer", HANOI)
    one_day = rows(report(client, justice.headers, "uptime", CUA_NAM, DAY, DAY))
    assert one_day[CUA_NAM]["uptime"] == 25.0  # online 06:00-12:00 of 24 h
    two_days = rows(report(client, justice.headers, "uptime", HANOI, DAY, DAY + timedelta(days=1)))
    assert two_days[CUA_NAM]["uptime"] == 12.5  # then offline a whole day
    assert two_days[HOAN_KIEM]["uptime"] == 50.0  # hk-0001 always on, hk-0002 never heard
    assert (two_days[HOAN_KIEM]["devices"], two_days[HOAN_KIEM]["online"]) == (2, 1)
    # Today runs until now (14:00): hk-0001 is still online, so the live figure counts it.
    today = rows(report(client, justice.headers, "uptime", HOAN_KIEM, NOW.date(), NOW.date()))
    assert today[HOAN_KIEM]["uptime"] == 50.0


def test_emergency_reach_per_commune(world, client):
    container = world.container
    started = datetime.combine(DAY + timedelta(days=1), time(15), TZ)
    uow = container.uow()
    with uow:
        ids = []
        for test_only, cmd in ((False, "cmd-emg-real"), (True, "cmd-emg-test")):
            emergency = uow.emergencies.add(Emergency(
                id=0, status="stopped", reason="Lũ quét", targets={"areas": [HANOI]}, area_code=HANOI,
                created_by="test", created_at=started, expires_at=started + timedelta(hours=1), cmd_id=cmd,
                text="Cảnh báo lũ quét", test_only=test_only))
            uow.commands.add(cmd_id=cmd, action="play_now", priority="emergency", issued_at=started,
                             expires_at=started + timedelta(hours=1), created_by="test", emergency_id=emergency.id,
                             publications=[CommandPublication(cmd, "zone", HANOI, {"type": "command"})],
                             tracked_devices=["hk-0001", "hk-0002", "cn-0001"])
            ids.append(emergency.id)
        uow.commit()
    at = started + timedelta(seconds=5)

    def ack(device, stage, **kw):
        doc = protocol.build_ack(device, protocol.command_ref("cmd-emg-real"), stage, at=at, **kw)
        return as_received(doc, at)

    world.inbox.handle([ack("hk-0001", "received"),
                        ack("hk-0001", "played", started_at=at, ended_at=at + timedelta(minutes=2)),
                        ack("cn-0001", "rejected", reason="expired")])
    justice = user(container, client, "tu-phap-e", "viewer", HANOI)
    body = report(client, justice.headers, "emergencies", HANOI, DAY, DAY + timedelta(days=1))
    got = rows(body)
    assert (got[HOAN_KIEM]["emergencies"], got[HOAN_KIEM]["devices"], got[HOAN_KIEM]["reached"]) == (1, 2, 1)
    assert (got[CUA_NAM]["devices"], got[CUA_NAM]["reached"], got[CUA_NAM]["reach"]) == (1, 0, 0.0)
    assert got[""]["reach"] == round(100 / 3, 1)  # the test alert is not counted
    # The emergency that played is airtime too: priority emergency, source province (owner Hà Nội).
    with container.engine.connect() as connection:
        aired = connection.execute(select(DailyAirtimeRow.source, DailyAirtimeRow.priority, DailyAirtimeRow.seconds)
                                   .where(DailyAirtimeRow.priority == "emergency")).all()
    assert aired == [("province", "emergency", 120)]


def test_approval_delays_median_and_p90(world, client):
    container = world.container
    delays = {HOAN_KIEM: [1, 2, 4, 10, 0.5], HANOI: [3]}
    submitted = datetime.combine(DAY, time(8), TZ)
    uow = container.uow()
    with uow:
        for area, hours in delays.items():
            for n, h in enumerate(hours):
                s = uow.schedules.add(Schedule(
                    id=0, programme_id=world.programme_ids[0], status=ScheduleStatus.SUBMITTED,
                    targets=TargetSet(areas=(area,)), start_local="2026-12-01T06:00:00", volume=70, area_code=area,
                    author="test", created_at=submitted))
                status = ScheduleStatus.REJECTED if n == 1 else ScheduleStatus.APPROVED
                uow.schedules.save(Schedule(**{**s.__dict__, "status": status, "submitted_at": submitted,
                                               "decided_at": submitted + timedelta(hours=h)}), at=submitted)
        # Still waiting, and submitted outside the period: neither counts.
        s = uow.schedules.add(Schedule(id=0, programme_id=world.programme_ids[0], status=ScheduleStatus.SUBMITTED,
                                       targets=TargetSet(areas=(HOAN_KIEM,)), start_local="2026-12-01T06:00:00",
                                       volume=70, area_code=HOAN_KIEM, author="test", created_at=submitted))
        uow.schedules.save(Schedule(**{**s.__dict__, "submitted_at": submitted}), at=submitted)
        late = submitted + timedelta(days=5)
        s = uow.schedules.add(Schedule(id=0, programme_id=world.programme_ids[0], status=ScheduleStatus.SUBMITTED,
                                       targets=TargetSet(areas=(HOAN_KIEM,)), start_local="2026-12-01T06:00:00",
                                       volume=70, area_code=HOAN_KIEM, author="test", created_at=late))
        uow.schedules.save(Schedule(**{**s.__dict__, "status": ScheduleStatus.APPROVED, "submitted_at": late,
                                       "decided_at": late + timedelta(hours=99)}), at=late)
        uow.commit()
    justice = user(container, client, "tu-phap-a", "viewer", HANOI)
    got = rows(report(client, justice.headers, "approvals", HANOI, DAY, DAY + timedelta(days=1)))

    def p90(values):
        return statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]

    hk = got[HOAN_KIEM]
    assert (hk["decided"], hk["approved"], hk["rejected"]) == (5, 4, 1)
    assert hk["median_hours"] == round(statistics.median(delays[HOAN_KIEM]), 2)
    assert hk["p90_hours"] == round(p90(delays[HOAN_KIEM]), 2)
    assert got[HANOI]["median_hours"] == 3.0 and got[HANOI]["area_name"] == "Thành phố Hà Nội"
    everything = delays[HOAN_KIEM] + delays[HANOI]
    assert got[""]["median_hours"] == round(statistics.median(everything), 2)
    assert got[""]["p90_hours"] == round(p90(everything), 2)


def test_nightly_job_is_idempotent_and_catches_late_proof_of_play(world, client):
    container, clock = world.container, world.clock
    tz = container.settings.tz
    done = aggregates.nightly(container.uow, clock, tz, retention_days=730)
    assert done[0] == DAY - timedelta(days=1) and done[-1] == NOW.date() - timedelta(days=1)  # from registration
    count = lambda model: scalar(container, select(func.count()).select_from(model))  # noqa: E731
    before = (count(DailyAirtimeRow), count(DailyCommuneRow))
    assert before[0] > 0
    assert aggregates.nightly(container.uow, clock, tz, retention_days=730) == [NOW.date() - timedelta(days=1)]
    assert (count(DailyAirtimeRow), count(DailyCommuneRow)) == before
    played = lambda: scalar(container, select(func.sum(DailyCommuneRow.played))  # noqa: E731
                            .where(DailyCommuneRow.day == DAY, DailyCommuneRow.commune_code == HOAN_KIEM))
    assert played() == scalar(container, select(func.count()).select_from(PlayLogRow).where(
        PlayLogRow.commune_code == HOAN_KIEM, PlayLogRow.outcome == "played",
        PlayLogRow.planned_start < datetime.combine(DAY + timedelta(days=1), time(), TZ)))

    # A device that was offline reports a DAY item late: the report counts it at once, the stored day too.
    late_item = next(i for k, i in enumerate(world.items["hk-0002"][:4]) if outcome_for(1, 0, k) != "played")
    clock.advance(hours=1)
    world.inbox.handle([world.ack("hk-0002", late_item, "played", received_at=clock.now())])
    justice = user(container, client, "tu-phap-n", "viewer", HANOI)
    got = rows(report(client, justice.headers, "outcomes", HOAN_KIEM, DAY, DAY))
    expected = scalar(container, select(func.count()).select_from(PlayLogRow).where(
        PlayLogRow.commune_code == HOAN_KIEM, PlayLogRow.outcome == "played",
        PlayLogRow.planned_start < datetime.combine(DAY + timedelta(days=1), time(), TZ),
        PlayLogRow.planned_start >= datetime.combine(DAY, time(), TZ)))
    assert got[HOAN_KIEM]["played"] == expected == played()


def test_purged_period_is_served_from_stored_aggregates(world, client):
    container, clock = world.container, world.clock
    justice = user(container, client, "tu-phap-p", "viewer", HANOI)
    first, last = DAY, DAY + timedelta(days=1)
    kinds = ("outcomes", "legal-education", "emergencies")
    before = {k: report(client, justice.headers, k, HANOI, first, last) for k in kinds}
    aggregates.nightly(container.uow, clock, container.settings.tz, retention_days=730)
    clock.advance(days=800)
    purged = purge_expired(container.uow, clock, 730)
    assert purged["play_log"] > 0
    assert scalar(container, select(func.count()).select_from(PlayLogRow)) == 0
    # Proof of play for a purged day arriving now must not make the day be recounted from what is left.
    world.inbox.handle([world.ack("hk-0002", world.items["hk-0002"][0], "played", received_at=clock.now())])
    # Tokens cannot outlive 800 days of test clock: read through the use case, as the API does.
    for kind in kinds:
        after = to_json(build_report(container.uow, clock, container.settings.tz, None,
                                     ReportRequest(kind, HANOI, first, last), retention_days=730))
        assert after["sections"] == before[kind]["sections"], kind
        assert after["days"] == {"stored": 2, "live": 0}
    assert sum(r["played"] for r in rows(before["outcomes"]).values() if r["commune_code"]) > 0
