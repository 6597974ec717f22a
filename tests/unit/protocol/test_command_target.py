"""A command is bound to its `target` (protocol section 4; issue #11, finding 6): the decision every device makes."""

from __future__ import annotations

import pytest

from broadcast import protocol as p

ZONES = frozenset({"37", "37-13579", "37-13579-thon-3"})  # of the device's newest verified schedule
ME = "c13579-007"


def _command(target=None) -> dict:
    return p.build_command("9b1d-01", "stop", issued_at="2026-11-28T21:00:00+07:00",
                           expires_at="2026-11-28T21:10:00+07:00", target=target)


@pytest.mark.parametrize("target", [{"device": ME}, {"zone": "37"}, {"zone": "37-13579-thon-3"}])
def test_a_device_acts_on_commands_for_itself_or_its_zones(target):
    assert p.addressed_to(_command(target), ME, ZONES)


@pytest.mark.parametrize("target", [
    {"device": "c13579-008"},  # another device's command, republished on this device's topic
    {"zone": "37-24680"},  # another commune's zone command, republished on one of this device's zones
    {"zone": ME},  # a zone id that happens to equal the device id is still not one of its zones
    {"device": "37"},
    None,  # a command that names no target is bound to nothing
])
def test_a_device_refuses_commands_for_anyone_else(target):
    assert not p.addressed_to(_command(target), ME, ZONES)


def test_before_any_schedule_only_its_own_device_commands_count():
    assert p.addressed_to(_command({"device": ME}), ME, frozenset())
    assert not p.addressed_to(_command({"zone": "37"}), ME, frozenset())


@pytest.mark.parametrize("target,code", [
    ({"device_id": ME}, "bad_field"),  # the spec's member is `device`
    ({"device": ME, "zone": "37"}, "bad_field"),  # exactly one target
    ({}, "bad_field"),
    ({"device": "Bad Id"}, "bad_device_id"),
    ({"zone": 37}, "bad_zone_id"),
])
def test_a_malformed_target_is_a_schema_error(target, code):
    with pytest.raises(p.ProtocolError) as e:
        p.parse_command(p.encode(_command(target)))
    assert e.value.code == code
