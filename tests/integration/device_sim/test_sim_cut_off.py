"""The `cut_off` link fault: devices lose the broker for a given time and come back by themselves; meanwhile they
play from their stored schedule, and the acks they made offline reach the broker afterwards, in order."""
from __future__ import annotations

import pytest

from broadcast import protocol as p
from device_sim import DeviceSpec, Fleet

pytestmark = pytest.mark.integration

SPEED = 10.0  # ten simulated seconds per real second
CUT_S = 40.0  # simulated seconds


def _schedule(device_id: str, now: float, window: tuple[str, str]) -> dict:
    item = p.build_item("occ-cut", window[0], window[1], priority="normal", volume=70,
                        stream_url="http://127.0.0.1:9/live", title="Tiếp sóng Đài Tiếng nói Việt Nam")
    return p.build_schedule(device_id, 1, issued_at=p.epoch_to_rfc3339(now),
                            horizon_end=p.epoch_to_rfc3339(now + 86400), zones=["37"], items=[item],
                            status_interval_s=60)


def test_cut_off_devices_play_offline_and_deliver_their_acks_when_back(server_factory, helpers):
    ids = [f"dev-cut-{n:02d}" for n in range(4)]
    side = server_factory(ids)

    async def scenario():
        async with Fleet(side.broker.url, [DeviceSpec(d, f"pw-{d}") for d in ids], p.public_key_b64(side.key),
                         prefix=side.broker.prefix, speed=SPEED) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            window = helpers.window(now, 15, 5)  # plays from +15 s to +20 s, simulated
            for dev in ids:
                side.publish_schedule(_schedule(dev, now, window))
            ready = ["received", "ready"]
            await fleet.wait_until(lambda: all(side.stages(d, {"schedule": 1}) == ready for d in ids), 10)
            cut = fleet.inject_fault("cut_off", 0.5, seed=7, duration_s=CUT_S)
            await fleet.wait_until(lambda: not any(fleet.device(d).connected for d in cut), 5)
            ends = p.parse_time(window[1]).timestamp()
            await fleet.wait_until(lambda: fleet.clock.now() > ends + 1, 10)
            offline = {d: (fleet.device(d).connected, len(fleet.device(d).outbox)) for d in cut}
            heard_while_cut = {d: side.stages(d, {"schedule": 1}) for d in cut}
            await fleet.wait_until(lambda: all(fleet.device(d).connected and not fleet.device(d).outbox for d in cut),
                                   CUT_S / SPEED + 10)
            back_after = fleet.clock.now() - now
            await fleet.wait_until(lambda: all("played" in side.stages(d, {"schedule": 1}) for d in ids), 10)
            return cut, offline, heard_while_cut, back_after, {d: fleet.device(d).played for d in ids}

    cut, offline, heard_while_cut, back_after, played = helpers.run(scenario())
    assert len(cut) == 2
    for dev in cut:
        assert offline[dev] == (False, 2)  # still cut off after the item ended, its `playing` and `played` kept
        assert heard_while_cut[dev] == ["received", "ready"]
        # The kept acks first, in the order made; then the retained version, delivered again, is answered again.
        assert side.stages(dev, {"schedule": 1}) == ["received", "ready", "playing", "played", "received"]
    assert back_after >= CUT_S  # back by itself, not before its time
    for dev in ids:
        assert [(kind, key) for kind, key, _, _ in played[dev]] == [("item", "occ-cut")]
