"""Simulated devices play live streams for real (protocol section 9.3): schedule items and play_now commands
with `stream_url`, over a real mosquitto, against a real HTTP stream of MP3 frames."""
from __future__ import annotations

import pytest

from broadcast import protocol as p
from device_sim import DeviceSpec, Fleet
from device_sim.stream_player import StreamOptions

pytestmark = pytest.mark.integration

OPTIONS = StreamOptions(listen=True, unreachable_s=1.5, lost_s=1.5, stall_s=1.0)


def _fleet(side, ids: list[str], options: StreamOptions = OPTIONS) -> Fleet:
    return Fleet(side.broker.url, [DeviceSpec(i, f"pw-{i}") for i in ids], p.public_key_b64(side.key),
                 prefix=side.broker.prefix, stream_options=options)


def _acks(side, dev: str, ref: dict) -> dict[str, dict]:
    return {a["stage"]: a for a in side.acks(dev) if a.get("ref") == ref}


def test_scheduled_relays_play_a_live_stream_and_fail_a_dead_one(server_factory, helpers, stream_server):
    live, dead = "dev-relay-001", "dev-relay-002"
    side = server_factory([live, dead])
    urls = {live: stream_server.mount("vov1"), dead: stream_server.mount("vov2", available=False)}

    async def scenario():
        async with _fleet(side, [live, dead]) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            window = helpers.window(now, 1, 4)
            for dev in (live, dead):
                item = p.build_item("occ-relay", *window, volume=70, title="Tiếp sóng VOV1", stream_url=urls[dev])
                side.publish_schedule(p.build_schedule(dev, 1, issued_at=helpers.rfc(now),
                                                       horizon_end=helpers.rfc(now + 3600), zones=["37"],
                                                       items=[item], status_interval_s=60))
            await fleet.wait_until(lambda: "playing" in side.stages(live, {"schedule": 1}), 10)
            playing_stats = fleet.stream_stats()
            await fleet.wait_until(lambda: "played" in side.stages(live, {"schedule": 1})
                                   and "failed" in side.stages(dead, {"schedule": 1}), 15)
            return playing_stats, fleet.device(live).stream_totals(), fleet.device(dead).stream_totals(), \
                fleet.stream_stats()

    while_playing, heard, unheard, after = helpers.run(scenario())
    assert side.stages(live, {"schedule": 1}) == ["received", "ready", "playing", "played"]
    played = _acks(side, live, {"schedule": 1})["played"]
    length = (p.parse_time(played["ended_at"]) - p.parse_time(played["started_at"])).total_seconds()
    assert 3 <= length <= 4, "it sounded from its first audio to the item's end"
    assert while_playing["streams_listening"] == 1
    assert heard.frames > 100 and heard.audio_s >= 4.0 and heard.bytes >= 4 * 8000
    assert after["stream_frames"] == heard.frames and after["streams_listening"] == 0

    assert side.stages(dead, {"schedule": 1}) == ["received", "ready", "failed"]
    failed = _acks(side, dead, {"schedule": 1})["failed"]
    assert (failed["item_id"], failed["reason"]) == ("occ-relay", "stream_unreachable")
    assert "started_at" not in failed
    assert unheard.frames == 0


def _command(helpers, now: float, cmd_id: str, url: str | None = None, **kw) -> dict:
    if url is None:
        return p.build_command(cmd_id, "stop", issued_at=helpers.rfc(now), expires_at=helpers.rfc(now + 600), **kw)
    return p.build_command(cmd_id, "play_now", issued_at=helpers.rfc(now), expires_at=helpers.rfc(now + 600),
                           priority="normal", stream_url=url, **kw)


def test_live_commands_end_with_the_stream_a_stop_or_a_failure(server_factory, helpers, stream_server):
    ids = ["dev-live-001", "dev-live-002", "dev-live-003", "dev-live-004"]
    ends, stops, dead, lost = ids
    side = server_factory(ids)
    plans = {ends: stream_server.mount("short", end_after_s=2.0), stops: stream_server.mount("long"),
             dead: stream_server.mount("off", available=False),
             lost: stream_server.mount("cut", drop_after_s=1.0, vanish_on_drop=True)}

    async def scenario():
        async with _fleet(side, ids) as fleet:
            await fleet.wait_connected()
            now = fleet.clock.now()
            for dev in ids:
                side.publish_command(side.topics.command(dev), _command(helpers, now, "cmd-live-1", plans[dev],
                                                                        target={"device": dev}))
            await fleet.wait_until(lambda: "playing" in side.stages(stops, {"command": "cmd-live-1"}), 10)
            before_stop = fleet.device(stops).stream_totals().frames
            side.publish_command(side.topics.command(stops), _command(helpers, fleet.clock.now(), "cmd-stop-1",
                                                                      ref_cmd_id="cmd-live-1",
                                                                      target={"device": stops}))
            await fleet.wait_until(lambda: all(
                {"played", "failed"} & set(side.stages(d, {"command": "cmd-live-1"})) for d in ids), 15)
            return before_stop, {d: fleet.device(d).stream_totals() for d in ids}

    before_stop, totals = helpers.run(scenario())
    stages = {d: side.stages(d, {"command": "cmd-live-1"}) for d in ids}
    assert stages[ends] == ["received", "ready", "playing", "played"], "the stream's end is the play's end"
    assert totals[ends].audio_s == pytest.approx(2.0, abs=0.05)
    assert stages[stops] == ["received", "ready", "playing", "played"], "a stop answers a stream with played"
    assert totals[stops].frames >= before_stop > 0
    assert stages[dead] == ["received", "ready", "failed"]
    assert _acks(side, dead, {"command": "cmd-live-1"})["failed"]["reason"] == "stream_unreachable"
    assert stages[lost] == ["received", "ready", "playing", "failed"]
    assert _acks(side, lost, {"command": "cmd-live-1"})["failed"]["reason"] == "stream_lost"
    assert totals[lost].drops == 1 and totals[lost].frames > 0
