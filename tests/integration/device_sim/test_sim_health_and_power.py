"""The simulator as a v1.1 device (spec 9.1, 9.2) against a real mosquitto with the generated ACL: health in every
status, injected faults published at once, set_power obeyed (scheduled items missed while off, an emergency switches
it on), reboot, and unknown actions rejected."""
from __future__ import annotations

import json

import pytest

from broadcast import protocol as p
from device_sim import DeviceSpec, Fleet

pytestmark = pytest.mark.integration


def _fleet(side, ids) -> Fleet:
    return Fleet(side.broker.url, [DeviceSpec(d, f"pw-{d}") for d in ids], p.public_key_b64(side.key),
                 prefix=side.broker.prefix, speed=10.0)


def statuses(side, device_id) -> list[dict]:
    return [json.loads(m[1]) for m in side.probe.snapshot(lambda t: t == side.topics.status(device_id))]


def health_of(side, device_id) -> list[dict]:
    return [s["health"] for s in statuses(side, device_id) if s.get("online") and "health" in s]


def test_health_in_status_and_faults_published_at_once(server_factory, helpers):
    ids = [f"dev-health-{n:02d}" for n in range(10)]
    side = server_factory(ids)

    async def scenario():
        async with _fleet(side, ids) as fleet:
            await fleet.wait_connected()
            await fleet.wait_until(lambda: all(health_of(side, d) for d in ids), 10)
            faulty = fleet.inject_fault("amplifier_fault", 0.2, seed=3)
            hot = fleet.inject_fault("overheating", 0.1, seed=4)
            await fleet.wait_until(lambda: all(health_of(side, d)[-1]["amplifier"] == "fault" for d in faulty), 5)
            await fleet.wait_until(lambda: all(health_of(side, d)[-1]["temperature_c"] >= 78 for d in hot), 5)
            fleet.clear_faults()
            await fleet.wait_until(lambda: all(health_of(side, d)[-1]["amplifier"] == "ok" for d in faulty), 5)
            return faulty, hot

    faulty, hot = helpers.run(scenario())
    assert len(faulty) == 2 and len(hot) == 1
    for device_id in ids:
        for health in health_of(side, device_id):
            assert p.parse_health(health)  # what the server accepts
        status = next(s for s in statuses(side, device_id) if s.get("online"))
        assert {"health", "power", "reboot"} <= set(status["capabilities"])
    untouched = next(d for d in ids if d not in faulty)
    assert all(h["amplifier"] == "ok" for h in health_of(side, untouched))


def test_set_power_off_misses_items_until_an_emergency_switches_it_on(server_factory, helpers):
    dev = "dev-power-01"
    side = server_factory([dev])

    async def scenario():
        async with _fleet(side, [dev]) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            off = p.build_command("cmd-off-1", "set_power", power="off", issued_at=helpers.rfc(now),
                                  expires_at=helpers.rfc(now + 600), target={"device": dev})
            side.publish_command(side.topics.command(dev), off)
            await fleet.wait_until(lambda: "played" in side.stages(dev, {"command": "cmd-off-1"}), 10)
            now = fleet.clock.now()
            item = p.build_item("occ-off-1", *helpers.window(now, 10, 5), volume=70, title="Bản tin",
                                stream_url="http://127.0.0.1:9/vov1")
            side.publish_schedule(p.build_schedule(dev, 1, issued_at=helpers.rfc(now),
                                                   horizon_end=helpers.rfc(now + 86400), zones=["37"],
                                                   items=[item]))
            await fleet.wait_until(lambda: "missed" in side.stages(dev, {"schedule": 1}), 20)
            now = fleet.clock.now()
            normal = p.build_command("cmd-normal-1", "play_now", priority="normal", issued_at=helpers.rfc(now),
                                     expires_at=helpers.rfc(now + 600), stream_url="http://127.0.0.1:9/live",
                                     end=helpers.window(now, 0, 20)[1], target={"device": dev})
            side.publish_command(side.topics.command(dev), normal)
            await fleet.wait_until(lambda: "missed" in side.stages(dev, {"command": "cmd-normal-1"}), 10)
            alarm = p.build_command("cmd-alarm-1", "play_now", priority="emergency", issued_at=helpers.rfc(now),
                                    expires_at=helpers.rfc(now + 600), stream_url="http://127.0.0.1:9/live",
                                    end=helpers.window(now, 0, 20)[1], target={"device": dev})
            side.publish_command(side.topics.command(dev), alarm)
            await fleet.wait_until(lambda: fleet.device(dev).health.power == "on", 10)
            return fleet.device(dev).health.power

    assert helpers.run(scenario()) == "on"
    assert side.stages(dev, {"command": "cmd-off-1"}) == ["received", "played"]
    missed = [a for a in side.acks(dev) if a["stage"] == "missed"]
    assert {(a["ref"].get("schedule") or a["ref"].get("command"), a["reason"]) for a in missed} == \
        {(1, "power_off"), ("cmd-normal-1", "power_off")}
    powers = [h["power"] for h in health_of(side, dev)]
    assert "off" in powers and powers[-1] == "on"
    assert any(h["amplifier"] == "off" for h in health_of(side, dev))


def test_reboot_comes_back_with_its_schedule_and_unknown_actions_are_rejected(server_factory, helpers):
    dev = "dev-reboot-01"
    side = server_factory([dev])

    async def scenario():
        async with _fleet(side, [dev]) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            side.publish_schedule(p.build_schedule(dev, 4, issued_at=helpers.rfc(now),
                                                   horizon_end=helpers.rfc(now + 86400), zones=["37"], items=[]))
            await fleet.wait_until(lambda: fleet.device(dev).version == 4, 10)
            connects = fleet.device(dev).counters.connects
            reboot = p.build_command("cmd-reboot-1", "reboot", issued_at=helpers.rfc(now),
                                     expires_at=helpers.rfc(now + 600), target={"device": dev})
            side.publish_command(side.topics.command(dev), reboot)
            await fleet.wait_until(lambda: fleet.device(dev).counters.connects > connects
                                   and fleet.device(dev).connected, 20)
            unknown = {**p.build_command("cmd-odd-1", "resync", issued_at=helpers.rfc(now),
                                         expires_at=helpers.rfc(now + 600), target={"device": dev}),
                       "action": "self_destruct"}
            side.publish_command(side.topics.command(dev), unknown)
            await fleet.wait_until(lambda: side.stages(dev, {"command": "cmd-odd-1"}) != [], 10)
            return fleet.device(dev).version

    assert helpers.run(scenario()) == 4
    assert side.stages(dev, {"command": "cmd-reboot-1"}) == ["received", "played"]
    assert [(a["stage"], a["reason"]) for a in side.acks(dev) if a["ref"] == {"command": "cmd-odd-1"}] == \
        [("rejected", "unknown_action")]
    assert any(not s["online"] for s in statuses(side, dev))  # the broker's last will while it restarted
