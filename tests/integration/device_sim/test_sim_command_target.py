"""A signed command plays only where it was sent (issue #11, finding 6): real mosquitto with the generated ACL,
the simulator, and the server account republishing a captured command on other topics."""

from __future__ import annotations

import pytest

from broadcast import protocol as p
from device_sim import DeviceSpec, Fleet

pytestmark = pytest.mark.integration

ZONE_A, ZONE_B = "37-11111", "37-22222"
IN_A = "dev-zone-a-01"
IN_B = "dev-zone-b-01"
OUTSIDE_A = "dev-zone-b-02"  # in zone B too; gets the replay on its own device topic


def _fleet(side, ids) -> Fleet:
    return Fleet(side.broker.url, [DeviceSpec(d, f"pw-{d}") for d in ids], p.public_key_b64(side.key),
                 prefix=side.broker.prefix, speed=10.0)


def test_command_replayed_on_another_zone_or_device_topic_is_rejected_not_target(server_factory, helpers):
    side = server_factory([IN_A, IN_B, OUTSIDE_A])
    zones = {IN_A: ["37", ZONE_A], IN_B: ["37", ZONE_B], OUTSIDE_A: ["37", ZONE_B]}

    async def scenario():
        async with _fleet(side, list(zones)) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            for dev, dev_zones in zones.items():
                side.publish_schedule(p.build_schedule(dev, 1, issued_at=helpers.rfc(now),
                                                       horizon_end=helpers.rfc(now + 86400), zones=dev_zones,
                                                       items=[]))
            await fleet.wait_until(lambda: all(fleet.device(d).version == 1 for d in zones), 10)
            now = fleet.clock.now()
            for_a = p.build_command("cmd-zone-a-1", "play_now", issued_at=helpers.rfc(now),
                                    expires_at=helpers.rfc(now + 600), priority="emergency",
                                    stream_url="http://127.0.0.1:9/live", end=helpers.window(now, 0, 20)[1],
                                    target={"zone": ZONE_A})
            for_in_a = p.build_command("cmd-dev-a-1", "set_volume", issued_at=helpers.rfc(now),
                                       expires_at=helpers.rfc(now + 600), volume=5, target={"device": IN_A})
            # Captured and republished: zone A's command on zone B and on a device topic outside A, the
            # command for one device on another device's topic.
            side.publish_command(side.topics.zone_command(ZONE_B), for_a)
            side.publish_command(side.topics.command(OUTSIDE_A), for_a)
            side.publish_command(side.topics.command(OUTSIDE_A), for_in_a)
            await fleet.wait_until(lambda: len(side.stages(OUTSIDE_A, {"command": "cmd-zone-a-1"})) >= 2
                                   and side.stages(OUTSIDE_A, {"command": "cmd-dev-a-1"}) != []
                                   and side.stages(IN_B, {"command": "cmd-zone-a-1"}) != [], 10)
            # Sent where it belongs, it still plays.
            side.publish_command(side.topics.zone_command(ZONE_A), for_a)
            await fleet.wait_until(lambda: "played" in side.stages(IN_A, {"command": "cmd-zone-a-1"}), 15)
            return {d: (fleet.device(d).acted_cmds, fleet.device(d).played, fleet.device(d).volume) for d in zones}

    outcome = helpers.run(scenario())
    for dev in (IN_B, OUTSIDE_A):
        acted, played, volume = outcome[dev]
        assert (acted, played, volume) == ([], [], 80), dev
        refused = [a for a in side.acks(dev) if a["ref"].get("command")]
        assert refused and {(a["stage"], a["reason"]) for a in refused} == {("rejected", "not_target")}, refused
    assert side.stages(OUTSIDE_A, {"command": "cmd-zone-a-1"}) == ["rejected", "rejected"]
    assert side.stages(IN_A, {"command": "cmd-zone-a-1"}) == ["received", "ready", "playing", "played"]
    assert outcome[IN_A][0] == ["cmd-zone-a-1"] and len(outcome[IN_A][1]) == 1
