"""The buffered clients' private paho hooks against the installed paho-mqtt, and the plain-client fallback.

An upgrade of paho-mqtt fails the first tests here until the hooks in mqtt_io/buffered_socket.py have been
re-read against the new version and the version added to TESTED_PAHO_VERSIONS.
"""
from __future__ import annotations

import inspect
import logging
import re
import tomllib
from pathlib import Path

import paho.mqtt
import paho.mqtt.client as mqtt
import pytest

from mqtt_io import client_factory
from mqtt_io.buffered_socket import BufferedClient, PresockClient
from mqtt_io.client_factory import (
    HOOKED_ATTRIBUTES,
    HOOKED_METHODS,
    TESTED_PAHO_VERSIONS,
    buffered_client_usable,
    hook_mismatches,
    make_client,
    takes_presock,
)

V2 = mqtt.CallbackAPIVersion.VERSION2
HOOKED_CLASSES = (BufferedClient, PresockClient)


@pytest.fixture(autouse=True)
def fresh_decision():
    buffered_client_usable.cache_clear()
    yield
    buffered_client_usable.cache_clear()


def test_the_installed_and_pinned_paho_are_a_tested_version() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("paho-mqtt")]
    assert pins == [f"paho-mqtt=={TESTED_PAHO_VERSIONS[0]}"]
    assert paho.mqtt.__version__ in TESTED_PAHO_VERSIONS


@pytest.mark.parametrize("name", sorted(HOOKED_METHODS))
def test_each_hooked_method_has_the_signature_the_hooks_were_written_for(name: str) -> None:
    assert str(inspect.signature(getattr(mqtt.Client, name))) == HOOKED_METHODS[name]


def test_the_hooked_attributes_exist_and_nothing_differs() -> None:
    client = mqtt.Client(V2)
    assert [a for a in HOOKED_ATTRIBUTES if not hasattr(client, a)] == []
    assert hook_mismatches() == []


@pytest.mark.parametrize("cls", HOOKED_CLASSES, ids=lambda c: c.__name__)
def test_every_paho_method_the_clients_override_is_listed_with_the_same_parameters(cls: type) -> None:
    overridden = [name for name in vars(cls) if callable(getattr(mqtt.Client, name, None))]
    assert overridden, "the class overrides nothing of paho's: the list below would check nothing"
    for name in overridden:
        assert name in HOOKED_METHODS, f"{cls.__name__}.{name} overrides paho without being in HOOKED_METHODS"
        ours, paho_s = inspect.signature(getattr(cls, name)), inspect.signature(getattr(mqtt.Client, name))
        assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
            [(p.name, p.kind, p.default) for p in paho_s.parameters.values()], name


@pytest.mark.parametrize("cls", HOOKED_CLASSES, ids=lambda c: c.__name__)
def test_every_private_name_the_clients_use_is_listed(cls: type) -> None:
    """What the hooks read or call on `self` beyond paho's public API is covered by the gate."""
    used = set(re.findall(r"(?:self|super\(\))\.(_\w+)", inspect.getsource(cls)))
    assert used, "no private name found: the scan would check nothing"
    own = {name for name in vars(cls)}
    assert sorted(used - own - set(HOOKED_ATTRIBUTES) - set(HOOKED_METHODS)) == []


def test_a_tested_paho_gets_the_buffered_clients() -> None:
    assert buffered_client_usable()
    client = make_client(V2, client_id="t", protocol=mqtt.MQTTv311)
    assert type(client) is BufferedClient and not takes_presock(client)
    presock = make_client(V2, client_id="t", protocol=mqtt.MQTTv311, presock=True)
    assert type(presock) is PresockClient and takes_presock(presock)


def test_an_unknown_paho_version_gets_the_plain_client_and_one_warning(monkeypatch, caplog) -> None:
    monkeypatch.setattr(paho.mqtt, "__version__", "2.3.0")
    with caplog.at_level(logging.WARNING, logger=client_factory.__name__):
        plain = make_client(V2, client_id="t", protocol=mqtt.MQTTv311)
        again = make_client(V2, client_id="t2", protocol=mqtt.MQTTv311, presock=True)
    assert type(plain) is mqtt.Client and type(again) is mqtt.Client
    assert not takes_presock(again)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, "logged once per process, not once per client"
    assert "paho-mqtt 2.3.0" in warnings[0].getMessage() and "2.2.0" in warnings[0].getMessage()


def test_a_changed_signature_of_a_tested_version_gets_the_plain_client(monkeypatch, caplog) -> None:
    def _packet_queue(self, command, packet, mid, qos, info=None, *, urgent=False):  # noqa: ANN001, ANN202
        raise AssertionError("never called: only its signature is looked at")

    monkeypatch.setattr(mqtt.Client, "_packet_queue", _packet_queue)
    with caplog.at_level(logging.WARNING, logger=client_factory.__name__):
        assert type(make_client(V2, client_id="t")) is mqtt.Client
    assert "_packet_queue(self, command, packet, mid, qos, info=None, *, urgent=False)" in caplog.text


@pytest.mark.parametrize("missing", ["_handle_pubackcomp", "_out_packet"])
def test_a_missing_hook_gets_the_plain_client(monkeypatch, caplog, missing: str) -> None:
    if missing in HOOKED_METHODS:
        monkeypatch.delattr(mqtt.Client, missing)
    else:  # an instance attribute: paho's constructor stops setting it
        original_init = mqtt.Client.__init__

        def init_without(self, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
            original_init(self, *args, **kwargs)
            delattr(self, missing)

        monkeypatch.setattr(mqtt.Client, "__init__", init_without)
    with caplog.at_level(logging.WARNING, logger=client_factory.__name__):
        assert not buffered_client_usable()
    assert missing in caplog.text
