"""An officer acknowledging while a rule pass runs: neither overwrites the other, on SQLite and PostgreSQL.

A pass reads every unresolved alert, then writes what changed; an acknowledgement reads one alert, then writes it.
Each side runs the other's whole transaction at the worst moment, between its own read and its write.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from broadcast import protocol
from broadcast.domain.errors import Conflict
from broadcast.services import alerts as alert_service
from broadcast.services.context import Actor
from broadcast.services.delivery import DeliveryInbox
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import HANOI, HOAN_KIEM, user
from tests.support.inbound import as_received

pytestmark = pytest.mark.integration
DEVICE = "hk-0001"


class Interleaved:
    """A real unit of work that runs `between` (another transaction) right after its repository method `name`
    has read: the moment a lost update would happen."""

    def __init__(self, uow: Any, name: str, between: Callable[[], None]):
        self._uow, self._name, self._between = uow, name, between

    def __enter__(self) -> Any:
        self._uow.__enter__()
        read = getattr(self._uow.alerts, self._name)

        def read_then_interleave(*args: Any) -> Any:
            found = read(*args)
            self._between()
            return found

        setattr(self._uow.alerts, self._name, read_then_interleave)
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._uow.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)


@pytest.fixture
def events():
    return []


@pytest.fixture
def faulty(container, clock, events):
    """One loudspeaker of Hoàn Kiếm with its amplifier in fault, its alert open (no settle time in Hà Nội)."""
    register_device(container.uow(), clock, Actor(None), DeviceSpec(id=DEVICE, name="Cụm loa 1", area_code=HOAN_KIEM))
    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"settle_s": 0})
    report_health(container, clock, "fault")
    assert run_pass(container, clock, events).opened == 1
    return DeliveryInbox(container.uow)


def report_health(container, clock, amplifier: str) -> None:
    doc = protocol.build_status(DEVICE, at=clock.now(), schedule_version=None, volume=70, storage_free_bytes=1 << 30,
                                health={"amplifier": amplifier})
    DeliveryInbox(container.uow).handle([as_received(doc, clock.now())])


def run_pass(container, clock, events, uow_factory=None):
    def notify(_uow, _clock, staged):
        events.extend(staged)

    return alert_service.evaluate(uow_factory or container.uow, clock, container.settings.tz, notify=notify)


def list_all(client, headers):
    return client.get("/api/v1/alerts", params={"device": DEVICE}, headers=headers).json()


def test_an_acknowledgement_during_a_pass_is_kept(container, client, clock, faulty, events):
    leader = user(container, client, "lanh-dao-hk", "approver", HOAN_KIEM)
    [alert] = list_all(client, leader.headers)

    def acknowledge() -> None:
        taken = client.post(f"/api/v1/alerts/{alert['id']}/ack", json={"note": "Đã cử người sửa"},
                            headers=leader.headers)
        assert taken.status_code == 200, taken.text

    clock.advance(seconds=10)  # the fault still holds: the pass only notes it was seen again
    run_pass(container, clock, events, lambda: Interleaved(container.uow(), "unresolved", acknowledge))
    [after] = list_all(client, leader.headers)
    assert (after["state"], after["acknowledged_by"], after["note"]) == ("acknowledged", "lanh-dao-hk",
                                                                         "Đã cử người sửa")
    assert after["last_seen_at"] > alert["last_seen_at"]


def test_a_resolution_during_a_pass_keeps_who_acknowledged(container, client, clock, faulty, events):
    leader = user(container, client, "lanh-dao-hk", "approver", HOAN_KIEM)
    [alert] = list_all(client, leader.headers)
    report_health(container, clock, "ok")
    clock.advance(seconds=1)

    def acknowledge() -> None:
        assert client.post(f"/api/v1/alerts/{alert['id']}/ack", json={"note": "Đang sửa"},
                           headers=leader.headers).status_code == 200

    report = run_pass(container, clock, events, lambda: Interleaved(container.uow(), "unresolved", acknowledge))
    assert report.resolved == 1
    [after] = list_all(client, leader.headers)
    assert (after["state"], after["acknowledged_by"], after["note"]) == ("resolved", "lanh-dao-hk", "Đang sửa")
    assert after["resolved_at"] is not None


def test_acknowledging_an_alert_resolved_meanwhile_is_refused(container, client, clock, faulty, events):
    leader = user(container, client, "lanh-dao-hk", "approver", HOAN_KIEM)
    [alert] = list_all(client, leader.headers)
    report_health(container, clock, "ok")
    clock.advance(seconds=1)

    def resolve() -> None:
        assert run_pass(container, clock, events).resolved == 1

    before = len(events)
    with pytest.raises(Conflict):
        alert_service.acknowledge(Interleaved(container.uow(), "get", resolve), clock, Actor(None), alert["id"],
                                  "Quá muộn", notify=lambda _u, _c, staged: events.extend(staged))
    [after] = list_all(client, leader.headers)
    assert (after["state"], after["acknowledged_by"], after["note"]) == ("resolved", None, None)
    assert [e.kind for e in events[before:]] == ["resolved"]
    clock.advance(seconds=10)  # nothing left to resolve twice
    assert run_pass(container, clock, events).resolved == 0


def test_two_overlapping_passes_open_and_resolve_once(container, clock, events):
    """Two leaders for a moment (a lease handed over): the second pass's reads are stale, and it tells nothing."""
    register_device(container.uow(), clock, Actor(None), DeviceSpec(id=DEVICE, name="Cụm loa 1", area_code=HOAN_KIEM))
    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"settle_s": 20})
    report_health(container, clock, "fault")
    assert run_pass(container, clock, events).opened == 0  # pending for 20 s

    def overlapping_pass(expect_opened: int, expect_resolved: int):
        def other() -> None:
            report = run_pass(container, clock, events)
            assert (report.opened, report.resolved) == (expect_opened, expect_resolved)

        return run_pass(container, clock, events, lambda: Interleaved(container.uow(), "unresolved", other))

    clock.advance(seconds=20)
    late = overlapping_pass(1, 0)
    assert (late.opened, late.resolved) == (0, 0)
    report_health(container, clock, "ok")
    clock.advance(seconds=1)
    assert run_pass(container, clock, events).resolved == 0  # clear, settling
    clock.advance(seconds=20)
    late = overlapping_pass(0, 1)
    assert (late.opened, late.resolved) == (0, 0)
    assert [e.kind for e in events] == ["opened", "resolved"]
