"""2,000 simulated devices in one process against the private broker with the real ACL."""

from __future__ import annotations

import time

import pytest

from broadcast import protocol as p
from device_sim import Fleet, make_specs

pytestmark = pytest.mark.integration

COUNT = 2000


def test_two_thousand_devices_connect_and_receive_retained_schedules(server_factory, helpers):
    specs = make_specs(COUNT, id_prefix="scale", password="")
    specs = [s.__class__(s.device_id, f"pw-{s.device_id}") for s in specs]
    side = server_factory([s.device_id for s in specs])
    now = time.time()
    # Retained before the devices exist, as after a server restart.
    for s in specs:
        doc = p.build_schedule(s.device_id, 7, issued_at=p.epoch_to_rfc3339(now),
                               horizon_end=p.epoch_to_rfc3339(now + 7 * 86400), zones=["37", "37-13579"],
                               items=[p.build_item("occ-1", *helpers.window(now, 3600, 300),
                                                   stream_url="http://127.0.0.1:9/live")])
        side.probe.client.publish(side.topics.schedule(s.device_id), p.encode(p.sign(doc, side.key)), qos=1,
                                  retain=True)

    async def scenario():
        fleet = Fleet(side.broker.url, specs, p.public_key_b64(side.key))
        t0 = time.monotonic()
        await fleet.start()
        try:
            await fleet.wait_connected(timeout=50)
            connected_s = time.monotonic() - t0
            await fleet.wait_until(lambda: fleet.stats()["with_schedule"] == COUNT, 30)
            await fleet.wait_until(lambda: len(side.acks()) >= 2 * COUNT, 30)  # received + ready each
            return connected_s, time.monotonic() - t0, fleet.stats()
        finally:
            await fleet.stop()

    connected_s, all_s, stats = helpers.run(scenario(), timeout=120)
    print(f"\n{COUNT} devices: all connected in {connected_s:.1f} s, all schedules acked in {all_s:.1f} s")
    assert stats["connected"] == COUNT and stats["auth_failures"] == 0
    assert stats["received"] == COUNT and stats["rejected"] == 0
    received = {a["device_id"] for a in side.acks() if a["stage"] == "received" and a["ref"] == {"schedule": 7}}
    assert received == {s.device_id for s in specs}
    assert all_s < 60
