"""Health in status documents (spec 9.1) through the real inbox into SQL: the newest values per device, a bucketed
history that merges ranges and counts faults, the purge, and the device API for whoever may read the area."""
from __future__ import annotations

from datetime import timedelta

import pytest

from broadcast import protocol
from broadcast.services.context import Actor
from broadcast.services.delivery import DeliveryInbox
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.fleet_health import purge_health_history
from tests.support.app import CUA_NAM, HOAN_KIEM, VUNG_TAU, user
from tests.support.inbound import as_received, presence

pytestmark = pytest.mark.integration


def status(device_id, at, **health):
    doc = protocol.build_status(device_id, at=at, schedule_version=None, volume=60,
                                capabilities=("audio", "health"), health=health or None)
    return as_received(doc, at)


@pytest.fixture
def fleet(container, clock):
    for device_id, commune in (("hk-0001", HOAN_KIEM), ("cn-0001", CUA_NAM)):
        register_device(container.uow(), clock, Actor(None), DeviceSpec(id=device_id, name=device_id,
                                                                         area_code=commune))
    clock.current = clock.now().replace(minute=0, second=0, microsecond=0)  # 14:00: buckets start on the hour
    return DeliveryInbox(container.uow, health_bucket=timedelta(minutes=5))


def test_newest_values_and_buckets_that_merge_across_batches(container, clock, fleet):
    t0 = clock.now()
    fleet.handle([status("hk-0001", t0, temperature_c=40, supply_mv=12100, amplifier="ok", speaker_line="ok",
                         power="on", rssi_dbm=-70, network="cellular", uptime_s=100),
                  status("hk-0001", t0 + timedelta(minutes=1), temperature_c=47, supply_mv=11900,
                         amplifier="fault", speaker_line="open")])
    fleet.handle([status("hk-0001", t0 + timedelta(minutes=2), temperature_c=38, speaker_line="ok"),  # same bucket
                  status("hk-0001", t0 + timedelta(minutes=6), temperature_c=39, power="off"),  # the next bucket
                  presence("cn-0001", True, t0),  # a v1.0 device: no health at all
                  status("xx-unknown", t0, temperature_c=99)])  # not registered: stored nowhere
    with container.uow() as uow:
        at, now = uow.health.current("hk-0001")
        assert at == t0 + timedelta(minutes=6)
        assert (now.temperature_c, now.power, now.supply_mv, now.amplifier) == (39, "off", None, None)
        first, second = uow.health.history("hk-0001", t0 - timedelta(hours=1), t0 + timedelta(hours=1))
        assert uow.health.current("cn-0001") is None and uow.health.current("xx-unknown") is None
    assert first.bucket == t0 and first.samples == 3
    assert (first.temperature_min, first.temperature_max, first.temperature_last) == (38, 47, 38)
    assert (first.supply_min, first.supply_max, first.supply_last) == (11900, 12100, 11900)
    assert (first.amplifier_faults, first.line_faults, first.power_off, first.rssi_last) == (1, 1, 0, -70)
    assert second.bucket == t0 + timedelta(minutes=5) and second.samples == 1 and second.power_off == 1
    assert second.supply_min is None and second.temperature_max == 39


def test_a_malformed_health_changes_no_health_but_the_status_counts(container, clock, fleet):
    t0 = clock.now()
    fleet.handle([status("hk-0001", t0, temperature_c=40)])
    fleet.handle([status("hk-0001", t0 + timedelta(minutes=1), temperature_c=40, amplifier="melted")])
    with container.uow() as uow:
        at, now = uow.health.current("hk-0001")
        device_state = uow.devices.state("hk-0001")
    assert at == t0 and now.temperature_c == 40
    assert device_state.last_seen == t0 + timedelta(minutes=1)  # the status itself was stored


def test_the_history_is_purged_after_its_retention(container, clock, fleet):
    t0 = clock.now()
    fleet.handle([status("hk-0001", t0 - timedelta(days=31), temperature_c=30),
                  status("hk-0001", t0 - timedelta(days=29), temperature_c=31)])
    assert purge_health_history(container.uow, clock, 30) == 1
    with container.uow() as uow:
        left = uow.health.history("hk-0001", t0 - timedelta(days=40), t0)
    assert [b.temperature_last for b in left] == [31]


def test_the_device_api_shows_health_to_readers_of_the_area_only(container, client, clock, fleet):
    t0 = clock.now()
    fleet.handle([status("hk-0001", t0 - timedelta(minutes=30), temperature_c=41, amplifier="ok"),
                  status("hk-0001", t0 - timedelta(minutes=1), temperature_c=44, amplifier="fault")])
    reader = user(container, client, "xem-hk", "viewer", HOAN_KIEM)
    device = client.get("/api/v1/devices/hk-0001", headers=reader.headers).json()
    assert device["health"]["temperature_c"] == 44 and device["health"]["amplifier"] == "fault"
    history = client.get("/api/v1/devices/hk-0001/health", headers=reader.headers).json()
    assert [b["temperature_last"] for b in history["history"]] == [41, 44]
    assert client.get("/api/v1/devices/cn-0001", headers=reader.headers).status_code == 403
    assert client.get("/api/v1/devices/cn-0001/health", headers=reader.headers).status_code == 403
    outsider = user(container, client, "xem-vt", "viewer", VUNG_TAU)
    assert client.get("/api/v1/devices/hk-0001/health", headers=outsider.headers).status_code == 403
    too_long = client.get("/api/v1/devices/hk-0001/health", headers=reader.headers,
                          params={"from": (t0 - timedelta(days=40)).isoformat(), "to": t0.isoformat()})
    assert too_long.status_code == 422 and "31 ngày" in too_long.text
    nothing = client.get("/api/v1/devices/cn-0001", headers=user(container, client, "xem-cn", "viewer",
                                                                    CUA_NAM).headers).json()
    assert nothing["health"] is None


def test_metrics_per_province_and_commune(container, client, clock, fleet):
    t0 = clock.now()
    fleet.handle([status("hk-0001", t0, amplifier="fault", power="on"), presence("cn-0001", True, t0)])
    text = client.get("/metrics").text
    assert 'loaxa_fleet_devices{commune="00070",province="01"} 1.0' in text
    assert 'loaxa_fleet_devices_online{commune="00070",province="01"} 1.0' in text
    assert 'loaxa_fleet_devices_in_fault{commune="00070",province="01"} 1.0' in text
    assert 'loaxa_fleet_devices_in_fault{commune="00073",province="01"} 0.0' in text
    assert 'loaxa_fleet_read_failed 0.0' in text
    fleet.handle([status("hk-0001", t0 + timedelta(minutes=1), amplifier="ok", speaker_line="short", power="off")])
    text = client.get("/metrics").text
    assert 'loaxa_fleet_devices_in_fault{commune="00070",province="01"} 1.0' in text
    assert 'loaxa_fleet_devices_powered_off{commune="00070",province="01"} 1.0' in text


def test_metrics_count_todays_misses_and_failures(container, client, clock, fleet):
    from sqlalchemy import insert

    from broadcast.persistence.models import PlayLogRow

    t0 = clock.now()
    rows = [{"device_id": "hk-0001", "commune_code": HOAN_KIEM, "item_id": f"occ-{n}", "title": "Bản tin",
             "planned_start": t0 - timedelta(hours=hours), "outcome": outcome, "recorded_at": t0}
            for n, (hours, outcome) in enumerate([(1, "missed"), (2, "failed"), (3, "failed"), (1, "played"),
                                                  (30, "failed")])]  # 30 h ago: yesterday, not counted
    with container.engine.begin() as connection:
        connection.execute(insert(PlayLogRow), rows)
    text = client.get("/metrics").text
    assert 'loaxa_fleet_plays_missed_today{commune="00070",province="01"} 1.0' in text
    assert 'loaxa_fleet_plays_failed_today{commune="00070",province="01"} 2.0' in text
