"""Simulated devices against a real mosquitto with the generated ACL, driven like the server would."""

from __future__ import annotations

import hashlib
import itertools
import json
import os

import pytest

from broadcast import protocol as p
from device_sim import DeviceSpec, Fleet

pytestmark = pytest.mark.integration

SPEED = 10.0  # ten simulated seconds per real second


def _spec(device_id: str, **kw) -> DeviceSpec:
    return DeviceSpec(device_id, f"pw-{device_id}", **kw)


def _schedule(device_id: str, version: int, now: float, items: list, zones=("37",)) -> dict:
    return p.build_schedule(device_id, version, issued_at=p.epoch_to_rfc3339(now),
                            horizon_end=p.epoch_to_rfc3339(now + 86400), zones=list(zones), items=items,
                            status_interval_s=60)


def _stream_item(item_id: str, window: tuple[str, str], priority: str = "normal") -> dict:
    return p.build_item(item_id, window[0], window[1], priority=priority, volume=70,
                        stream_url="http://127.0.0.1:9/live", title="Tiếp sóng Đài Tiếng nói Việt Nam")


def _fleet(side, specs, **kw) -> Fleet:
    return Fleet(side.broker.url, specs, p.public_key_b64(side.key), prefix=side.broker.prefix,
                 speed=kw.pop("speed", SPEED), **kw)


def test_tiny_schedule_plays_in_order_with_media_fetched_once(server_factory, media_server, helpers):
    ids = ["dev-media-001", "dev-media-002"]
    side = server_factory(ids)
    audio = b"ID3" + os.urandom(4096)
    sha = hashlib.sha256(audio).hexdigest()
    url = media_server.add(f"{sha}.mp3", audio)

    async def scenario():
        async with _fleet(side, [_spec(i) for i in ids]) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            window = helpers.window(now, 10, 3)  # 1 s of real time to receive and download
            for dev in ids:
                item = p.build_item("occ-1", *window, volume=80, title="Luật Hòa giải ở cơ sở - số 3",
                                    media=[p.build_media(sha, url, len(audio), 3000)])
                side.publish_schedule(_schedule(dev, 1, now, [item]))
            await fleet.wait_until(lambda: all(len(side.stages(d, {"schedule": 1})) >= 4 for d in ids), 20)
            return {d: fleet.device(d).played for d in ids}

    played = helpers.run(scenario())
    for dev in ids:
        assert side.stages(dev, {"schedule": 1}) == ["received", "ready", "playing", "played"]
        acks = {a["stage"]: a for a in side.acks(dev)}
        assert acks["playing"]["item_id"] == "occ-1"
        start, end = p.parse_time(acks["played"]["started_at"]), p.parse_time(acks["played"]["ended_at"])
        assert (end - start).total_seconds() == 3
        assert p.parse_ack(p.encode(acks["played"]), dev)  # valid per the protocol module
        assert [(k, key) for k, key, _, _ in played[dev]] == [("item", "occ-1")]
    assert media_server.hits[f"{sha}.mp3"] == 1, "the shared cache must fetch a file once"
    statuses = [json.loads(m[1]) for m in side.probe.snapshot(lambda t: t == side.topics.status(ids[0]))]
    assert any(s.get("playing") and s["playing"]["item_id"] == "occ-1" for s in statuses)
    online = [s for s in statuses if s["online"]]
    assert online[-1]["playing"] is None and online[-1]["schedule_version"] == 1
    assert statuses[-1] == p.offline_status(ids[0])  # clean stop says offline itself (no LWT then)


def test_sha256_mismatch_is_failed_and_not_played(server_factory, media_server, helpers):
    dev = "dev-sha-001"
    side = server_factory([dev])
    url = media_server.add("wrong.mp3", b"not the announced bytes")

    async def scenario():
        async with _fleet(side, [_spec(dev)]) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            window = helpers.window(now, 3, 2)
            item = p.build_item("occ-bad", *window, media=[p.build_media("0" * 64, url, 23, 2000)])
            side.publish_schedule(_schedule(dev, 1, now, [item]))
            await fleet.wait_until(lambda: "failed" in side.stages(dev, {"schedule": 1}), 15)
            end = p.parse_time(window[1]).timestamp()
            await fleet.wait_until(lambda: fleet.clock.now() > end + 2, 15)  # its slot has passed
            return fleet.device(dev).played

    played = helpers.run(scenario())
    failed = [a for a in side.acks(dev) if a["stage"] == "failed"]
    assert failed[0]["item_id"] == "occ-bad" and failed[0]["reason"] == "sha256_mismatch"
    assert "ready" not in side.stages(dev, {"schedule": 1})
    assert "playing" not in side.stages(dev, {"schedule": 1})
    assert played == []


def test_bad_signature_is_rejected_and_nothing_plays(server_factory, helpers):
    dev = "dev-sig-001"
    side = server_factory([dev])
    rogue = p.generate_private_key()

    async def scenario():
        async with _fleet(side, [_spec(dev)]) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            window = helpers.window(now, 2, 2)
            side.publish_schedule(_schedule(dev, 1, now, [_stream_item("occ-x", window)]), key=rogue)
            await fleet.wait_until(lambda: "rejected" in side.stages(dev, {"schedule": 1}), 10)
            # Correctly signed, then altered in transit: also rejected.
            signed = p.sign(_schedule(dev, 2, now, [_stream_item("occ-y", window)]), side.key)
            signed["items"][0]["volume"] = 100
            side.publish_schedule(signed, raw=p.encode(signed))
            await fleet.wait_until(lambda: "rejected" in side.stages(dev, {"schedule": 2}), 10)
            await fleet.wait_until(lambda: fleet.clock.now() > p.parse_time(window[1]).timestamp() + 1, 10)
            d = fleet.device(dev)
            return d.version, d.played

    version, played = helpers.run(scenario())
    rejected = [a for a in side.acks(dev) if a["stage"] == "rejected"]
    assert [a["reason"] for a in rejected] == ["bad_signature", "bad_signature"]
    assert version is None and played == []
    assert not [a for a in side.acks(dev) if a["stage"] in ("received", "playing", "played")]


def test_command_delivered_twice_acts_once(server_factory, helpers):
    dev = "dev-dup-001"
    side = server_factory([dev])

    async def scenario():
        async with _fleet(side, [_spec(dev)]) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            cmd = p.build_command("cmd-dup-1", "play_now", issued_at=p.epoch_to_rfc3339(now),
                                  expires_at=p.epoch_to_rfc3339(now + 600), priority="emergency",
                                  stream_url="http://127.0.0.1:9/live", end=helpers.window(now, 0, 3)[1],
                                  target={"device": dev})
            side.publish_command(side.topics.command(dev), cmd)
            side.publish_command(side.topics.command(dev), cmd)  # QoS 1 redelivery
            await fleet.wait_until(lambda: "played" in side.stages(dev, {"command": "cmd-dup-1"}), 15)
            return fleet.device(dev).acted_cmds, fleet.device(dev).played

    acted, played = helpers.run(scenario())
    stages = side.stages(dev, {"command": "cmd-dup-1"})
    assert acted == ["cmd-dup-1"]
    assert stages.count("playing") == 1 and stages.count("played") == 1
    assert stages[0] == "received" and stages.count("received") == 2  # the duplicate is answered, not acted on
    assert len(played) == 1


def test_expired_command_is_answered_expired_and_not_played(server_factory, helpers):
    dev = "dev-exp-001"
    side = server_factory([dev])

    async def scenario():
        async with _fleet(side, [_spec(dev, zones=("37-13579",))]) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            side.publish_schedule(_schedule(dev, 1, now, [], zones=["37", "37-13579"]))  # its zones
            await fleet.wait_until(lambda: fleet.device(dev).version == 1, 10)
            cmd = p.build_command("cmd-old-1", "play_now", issued_at=p.epoch_to_rfc3339(now - 120),
                                  expires_at=p.epoch_to_rfc3339(now - 60), priority="emergency",
                                  stream_url="http://127.0.0.1:9/live", target={"zone": "37-13579"})
            side.publish_command(side.topics.zone_command("37-13579"), cmd)
            await fleet.wait_until(lambda: side.stages(dev, {"command": "cmd-old-1"}) != [], 10)
            return fleet.device(dev).played, fleet.device(dev).acted_cmds

    played, acted = helpers.run(scenario())
    assert side.stages(dev, {"command": "cmd-old-1"}) == ["expired"]
    assert played == [] and acted == []


def test_play_now_preempts_lower_priority_item(server_factory, helpers):
    dev = "dev-pre-001"
    side = server_factory([dev])

    async def scenario():
        async with _fleet(side, [_spec(dev)]) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            window = helpers.window(now, 2, 600)
            side.publish_schedule(_schedule(dev, 1, now, [_stream_item("occ-long", window)], zones=["37"]))
            await fleet.wait_until(lambda: "playing" in side.stages(dev, {"schedule": 1}), 10)
            now = fleet.clock.now()
            cmd = p.build_command("cmd-em-1", "play_now", issued_at=p.epoch_to_rfc3339(now),
                                  expires_at=p.epoch_to_rfc3339(now + 60), priority="emergency",
                                  stream_url="http://127.0.0.1:9/live", end=helpers.window(now, 0, 2)[1],
                                  target={"zone": "37"})
            side.publish_command(side.topics.zone_command("37"), cmd)
            await fleet.wait_until(lambda: "played" in side.stages(dev, {"command": "cmd-em-1"}), 15)

    helpers.run(scenario())
    assert side.stages(dev, {"schedule": 1}) == ["received", "ready", "playing", "preempted"]
    assert side.stages(dev, {"command": "cmd-em-1"}) == ["received", "ready", "playing", "played"]
    preempted = next(a for a in side.acks(dev) if a["stage"] == "preempted")
    assert preempted["item_id"] == "occ-long" and "ended_at" in preempted


def test_offline_device_gets_newest_schedule_and_sends_kept_acks_in_order(server_factory, helpers):
    dev = "dev-off-001"
    side = server_factory([dev])

    async def scenario():
        async with _fleet(side, [_spec(dev)]) as fleet:
            d = fleet.device(dev)
            await fleet.wait_connected()
            now = fleet.clock.now()
            window = helpers.window(now, 10, 2)
            side.publish_schedule(_schedule(dev, 1, now, [_stream_item("occ-1", window)]))
            await fleet.wait_until(lambda: d.version == 1, 10)
            fleet.take_offline([dev])
            await fleet.wait_until(lambda: not d.connected, 10)
            # The LWT tells the server the device is gone.
            await fleet.wait_until(lambda: any(
                json.loads(m[1]).get("online") is False
                for m in side.probe.snapshot(lambda t: t == side.topics.status(dev))), 10)
            # The device keeps playing from its own clock while the link is down...
            await fleet.wait_until(lambda: len(d.played) == 1, 15)
            assert len(d.outbox) >= 2
            # ...and the server changes the schedule meanwhile (v2 then v3, retained).
            later = fleet.clock.now()
            for v in (2, 3):
                item = _stream_item(f"occ-v{v}", helpers.window(later, 600, 5))
                side.publish_schedule(_schedule(dev, v, later, [item]))
            fleet.bring_online([dev])
            await fleet.wait_until(lambda: d.version == 3 and not d.outbox, 15)
            await fleet.wait_until(lambda: "received" in side.stages(dev, {"schedule": 3}), 10)
            return d.received_versions

    versions = helpers.run(scenario())
    assert versions == [1, 3], "only the newest retained version is delivered on reconnect"
    # An ack in flight when the link dropped may arrive twice (QoS 1, idempotent); order is kept.
    stages = [k for k, _ in itertools.groupby(side.stages(dev, {"schedule": 1}))]
    assert stages == ["received", "ready", "playing", "played"]
    order = [(a["ref"], a["stage"]) for a in side.acks(dev)]
    assert order.index(({"schedule": 1}, "played")) < order.index(({"schedule": 3}, "received"))


def test_older_or_equal_version_is_acked_received_and_ignored(server_factory, helpers):
    dev = "dev-ver-001"
    side = server_factory([dev])

    async def scenario():
        async with _fleet(side, [_spec(dev)]) as fleet:
            d = fleet.device(dev)
            await fleet.wait_connected()
            now = fleet.clock.now()
            side.publish_schedule(_schedule(dev, 5, now, [_stream_item("a", helpers.window(now, 900, 5))]))
            await fleet.wait_until(lambda: d.version == 5, 10)
            side.publish_schedule(_schedule(dev, 4, now, [_stream_item("b", helpers.window(now, 900, 5))]))
            await fleet.wait_until(lambda: "received" in side.stages(dev, {"schedule": 4}), 10)
            # resync makes the broker deliver the retained (v4) again: still ignored.
            resync = p.build_command("cmd-rs-1", "resync", issued_at=p.epoch_to_rfc3339(now),
                                     expires_at=p.epoch_to_rfc3339(now + 600), target={"device": dev})
            side.publish_command(side.topics.command(dev), resync)
            await fleet.wait_until(lambda: side.stages(dev, {"schedule": 4}).count("received") == 2, 10)
            return d.version, d.received_versions, d.schedule["items"][0]["item_id"]

    version, received, first_item = helpers.run(scenario())
    assert (version, received, first_item) == (5, [5], "a")
