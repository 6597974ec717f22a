"""Issue #11, finding 8: the server's account names and client ids are never device ids (pure rules)."""
from __future__ import annotations

import pytest

from broadcast.domain.devices import check_device_fields, is_server_name
from broadcast.domain.errors import InvalidInput
from broadcast.settings import SettingsError, load_settings


@pytest.mark.parametrize("name", ["server", "loaxa-server", "loaxa-server-main", "loaxa-scheduler"])
def test_server_names_are_refused_as_device_ids(name):
    assert is_server_name(name)
    with pytest.raises(InvalidInput) as error:
        check_device_fields(name, "Cụm loa", None, None)
    assert error.value.code == "reserved_device_id" and "dành cho máy chủ" in error.value.message


@pytest.mark.parametrize("name", ["c13579-007", "servers", "xloaxa-1", "loaxa1"])
def test_ordinary_ids_stay_free(name):
    assert not is_server_name(name)
    check_device_fields(name, "Cụm loa", None, None)


def test_the_server_account_must_live_in_the_reserved_namespace():
    assert load_settings(mqtt_url="mqtt://server:pw@broker:1884").mqtt.username == "server"
    assert load_settings(mqtt_url="mqtt://loaxa-server:pw@broker:1884").mqtt.username == "loaxa-server"
    with pytest.raises(SettingsError, match="LOAXA_MQTT_URL"):
        load_settings(mqtt_url="mqtt://c13579-007:pw@broker:1884")
