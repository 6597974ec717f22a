"""The country's alert thresholds come from LOAXA_ALERT_THRESHOLDS, under every area's: the rule pass the runtime
runs and the thresholds API both start from them; a bad value stops start-up with the threshold named."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from broadcast.runtime import Runtime
from broadcast.services import alerts as alert_service
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.settings import SettingsError
from broadcast.web.app import create_app
from tests.support.app import HANOI, HOAN_KIEM, VUNG_TAU, make_container, user, wipe

pytestmark = pytest.mark.integration


@pytest.fixture
def container(tmp_path, database_url, clock):
    container = make_container(tmp_path, database_url, clock=clock,
                               alert_thresholds='{"offline_minutes": 90, "settle_s": 0}')
    yield container
    wipe(container)
    container.close()


def test_the_countrys_thresholds_hold_until_an_area_sets_its_own(container, clock):
    for device_id, commune in (("hk-0001", HOAN_KIEM), ("vt-0001", VUNG_TAU)):
        register_device(container.uow(), clock, Actor(None), DeviceSpec(id=device_id, name=f"Cụm loa {device_id}",
                                                                         area_code=commune))
    clock.advance(hours=1)  # never heard since registration: an hour offline, under the country's 90 minutes
    runtime = Runtime(container, compile_every_s=None)
    assert runtime.evaluate_alerts().opened == 0
    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"offline_minutes": 45})
    assert runtime.evaluate_alerts().opened == 1  # Hà Nội's own 45 minutes; Vũng Tàu keeps the country's
    with TestClient(create_app(container)) as client:
        admin = user(container, client, "quan-tri", "admin", HANOI)
        hk = client.get(f"/api/v1/alert-thresholds/{HOAN_KIEM}", headers=admin.headers).json()
        assert (hk["effective"]["offline_minutes"], hk["effective"]["settle_s"]) == (45, 0)
        put = client.put(f"/api/v1/alert-thresholds/{HOAN_KIEM}", json={"temperature_c": 75}, headers=admin.headers)
        assert put.json()["effective"]["settle_s"] == 0 and put.json()["effective"]["temperature_c"] == 75
        hcm_admin = user(container, client, "quan-tri-hcm", "admin", VUNG_TAU)
        vt = client.get(f"/api/v1/alert-thresholds/{VUNG_TAU}", headers=hcm_admin.headers).json()
        assert (vt["own"], vt["effective"]["offline_minutes"]) == (None, 90)


@pytest.mark.parametrize(("value", "named"), [('{"offline_minute": 30}', "offline_minute"),
                                              ('{"offline_minutes": 0}', "offline_minutes"),
                                              ('[30]', "JSON"), ("ba mươi", "JSON")])
def test_a_bad_setting_stops_start_up_naming_it(tmp_path, database_url, value, named):
    with pytest.raises(SettingsError) as refused:
        make_container(tmp_path, database_url, alert_thresholds=value)
    assert "LOAXA_ALERT_THRESHOLDS" in str(refused.value) and named in str(refused.value)
