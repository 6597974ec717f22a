"""Outcome acks become play-log rows, through the real DeliveryInbox and database (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, insert, select

from broadcast import protocol
from broadcast.domain.delivery import CommandPublication
from broadcast.persistence.models import DeviceAckRow, EmergencyRow, PlayLogRow

pytestmark = pytest.mark.integration


def rows(container, **where) -> list[PlayLogRow]:
    with container.engine.connect() as connection:
        stmt = select(PlayLogRow).filter_by(**where).order_by(PlayLogRow.device_id, PlayLogRow.item_id,
                                                              PlayLogRow.outcome)
        return list(connection.execute(stmt))


def count(container, model) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def as_utc(value):
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def test_each_outcome_becomes_a_row_with_plan_and_actual_times(world):
    d = "hk-0001"
    played, cut, missed, failed = (world.item(d, n) for n in range(4))
    t0 = world.t0
    world.clock.advance(hours=5)
    world.feed(
        world.ack(d, "received"), world.ack(d, "ready"),
        world.ack(d, "playing", item_id=played["item_id"], started_at=t0 + timedelta(seconds=2)),
        world.ack(d, "played", item_id=played["item_id"], started_at=t0 + timedelta(seconds=2),
                  ended_at=t0 + timedelta(minutes=5)),
        world.ack(d, "preempted", item_id=cut["item_id"], started_at=t0 + timedelta(hours=1),
                  ended_at=t0 + timedelta(hours=1, minutes=2), reason="preempted"),
        world.ack(d, "missed", item_id=missed["item_id"]),
        world.ack(d, "failed", item_id=failed["item_id"], reason="download_failed"))
    got = {r.outcome: r for r in rows(world.container, device_id=d)}
    assert set(got) == {"played", "preempted", "missed", "failed"}  # received/ready/playing are not outcomes
    p = got["played"]
    assert (p.item_id, p.commune_code, p.title, p.priority) == (played["item_id"], "00070", "Bản tin số 1", "normal")
    assert (p.schedule_id, p.programme_id, p.emergency_id) == (100, 200, None)
    assert as_utc(p.planned_start) == t0 and as_utc(p.planned_end) == t0 + timedelta(minutes=5)
    assert as_utc(p.started_at) == t0 + timedelta(seconds=2) and as_utc(p.ended_at) == t0 + timedelta(minutes=5)
    assert as_utc(p.recorded_at) == world.clock.now()
    c = got["preempted"]
    assert (c.schedule_id, c.programme_id, c.priority, c.reason) == (101, 201, "priority", "preempted")  # "101" -> 101
    assert as_utc(c.planned_start) == t0 + timedelta(hours=1)
    assert as_utc(c.ended_at) == t0 + timedelta(hours=1, minutes=2)
    m = got["missed"]
    assert as_utc(m.planned_start) == t0 + timedelta(hours=2) and m.started_at is None and m.ended_at is None
    f = got["failed"]
    assert f.reason == "download_failed" and f.programme_id == 203


def test_duplicates_give_one_row(world):
    d = "hk-0002"
    item = world.item(d, 0)
    played = world.ack(d, "played", item_id=item["item_id"], started_at=world.t0,
                       ended_at=world.t0 + timedelta(minutes=5))
    world.feed(played, played)  # QoS 1 duplicate in the same batch
    world.feed(played)  # and redelivered later
    # A buggy device reporting the same item again under a newer version: still one proof of play.
    world.feed(world.ack(d, "played", version=2, item_id=item["item_id"], started_at=world.t0,
                         ended_at=world.t0 + timedelta(minutes=5)))
    assert len(rows(world.container, device_id=d)) == 1
    assert count(world.container, DeviceAckRow) == 2


def test_unknown_version_item_and_document_failure_are_still_recorded(world):
    d = "cn-0001"
    started = world.clock.now()
    world.feed(
        world.ack(d, "played", version=9, item_id="occ-never-published", started_at=started,
                  ended_at=started + timedelta(minutes=1)),
        world.ack(d, "missed", item_id="occ-not-in-v1"),
        world.ack(d, "failed", reason="storage_full"),  # about the whole document: no item
        world.ack("ghost-01", "played", item_id="x", started_at=started, ended_at=started))  # unknown device
    got = {r.item_id: r for r in rows(world.container)}
    assert set(got) == {"occ-never-published", "occ-not-in-v1", ""}
    unknown = got["occ-never-published"]
    assert (unknown.device_id, unknown.commune_code, unknown.outcome) == (d, "00073", "played")
    assert unknown.planned_start is None and unknown.title == "" and unknown.schedule_id is None
    assert as_utc(unknown.started_at) == started
    assert got["occ-not-in-v1"].planned_start is None and got["occ-not-in-v1"].outcome == "missed"
    assert (got[""].outcome, got[""].reason) == ("failed", "storage_full")


def test_command_outcomes_carry_emergency_and_issue_time(world):
    container, clock = world.container, world.clock
    issued = clock.now()
    uow = container.uow()
    with uow:
        uow.commands.add(cmd_id="cmd-emg-1", action="play_now", priority="emergency", issued_at=issued,
                         expires_at=issued + timedelta(minutes=30), created_by="test", emergency_id=7,
                         publications=[CommandPublication("cmd-emg-1", "zone", "01", {"type": "command"})],
                         tracked_devices=["hk-0001", "vt-0001"])
        uow.commit()
    started = issued + timedelta(seconds=3)
    world.feed(world.ack("hk-0001", "played", ref=protocol.command_ref("cmd-emg-1"), started_at=started,
                         ended_at=started + timedelta(minutes=2)),
               world.ack("vt-0001", "missed", ref=protocol.command_ref("cmd-emg-1")),
               world.ack("hk-0002", "played", ref=protocol.command_ref("cmd-unknown"), started_at=started,
                         ended_at=started))
    got = {r.device_id: r for r in rows(world.container)}
    hk = got["hk-0001"]
    assert (hk.item_id, hk.emergency_id, hk.priority, hk.title) == ("cmd-emg-1", 7, "emergency", "Phát khẩn cấp")
    assert as_utc(hk.planned_start) == issued and as_utc(hk.started_at) == started
    assert (got["vt-0001"].outcome, got["vt-0001"].emergency_id, got["vt-0001"].commune_code) == ("missed", 7, "26506")
    assert "hk-0002" not in got  # a command never sent to it: its acks are no proof of play (issue #11)


def test_an_emergency_is_logged_under_its_reason(world):
    """Officers read the play log by title: an emergency's is its reason (on one line), not "Phát khẩn cấp"."""
    container, clock = world.container, world.clock
    issued = clock.now()
    with container.engine.begin() as connection:
        connection.execute(insert(EmergencyRow).values(
            id=31, status="active", reason="Bão số 3 đổ bộ,\nđề nghị người dân  ở trong nhà", targets={},
            stream_url="http://127.0.0.1:9/vov1", area_code="00070", created_by="test", created_at=issued,
            expires_at=issued + timedelta(minutes=30)))
    uow = container.uow()
    with uow:
        for cmd_id, emergency_id in (("cmd-emg-31", 31), ("cmd-live-1", None)):
            uow.commands.add(cmd_id=cmd_id, action="play_now", priority="emergency" if emergency_id else "priority",
                             issued_at=issued, expires_at=issued + timedelta(minutes=30), created_by="test",
                             emergency_id=emergency_id,
                             publications=[CommandPublication(cmd_id, "zone", "01", {"type": "command"})],
                             tracked_devices=["hk-0001"])
        uow.commit()
    started = issued + timedelta(seconds=3)
    world.feed(world.ack("hk-0001", "played", ref=protocol.command_ref("cmd-emg-31"), started_at=started,
                         ended_at=started + timedelta(minutes=2)),
               world.ack("hk-0001", "played", ref=protocol.command_ref("cmd-live-1"), started_at=started,
                         ended_at=started + timedelta(minutes=1)))
    got = {r.item_id: r for r in rows(container, device_id="hk-0001")}
    assert (got["cmd-emg-31"].title, got["cmd-emg-31"].emergency_id) == (
        "Bão số 3 đổ bộ, đề nghị người dân ở trong nhà", 31)
    assert got["cmd-live-1"].title == "Lệnh phát trực tiếp"
