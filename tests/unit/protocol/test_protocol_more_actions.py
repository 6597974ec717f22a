"""Section 9.2: set_power (with `power` on or off) and reboot (no fields) are commands a v1.1 device may act on;
anything else is still an unknown action, and `power` belongs to set_power alone."""
from __future__ import annotations

import pytest

from broadcast import protocol as p

WHEN = dict(issued_at="2026-12-01T08:00:00+07:00", expires_at="2026-12-01T08:10:00+07:00")


def parsed(doc) -> dict:
    return p.parse_command(p.encode(doc))


@pytest.mark.parametrize("power", ["on", "off"])
def test_set_power_round_trips(power):
    doc = parsed(p.build_command("c-1", "set_power", power=power, target={"device": "c13579-007"}, **WHEN))
    assert doc["action"] == "set_power" and doc["power"] == power


def test_reboot_carries_nothing_else():
    assert parsed(p.build_command("c-2", "reboot", target={"device": "c13579-007"}, **WHEN))["action"] == "reboot"


@pytest.mark.parametrize("doc,code", [
    (p.build_command("c-3", "set_power", **WHEN), "missing_field"),
    ({**p.build_command("c-4", "set_power", **WHEN), "power": "standby"}, "bad_field"),
    ({**p.build_command("c-5", "reboot", **WHEN), "power": "off"}, "bad_field"),
    ({**p.build_command("c-6", "set_volume", volume=5, **WHEN), "power": "on"}, "bad_field"),
    ({**p.build_command("c-7", "reboot", **WHEN), "action": "format_disk"}, "unknown_action"),
])
def test_bad_power_commands_are_refused(doc, code):
    with pytest.raises(p.ProtocolError) as caught:
        parsed(doc)
    assert caught.value.code == code
