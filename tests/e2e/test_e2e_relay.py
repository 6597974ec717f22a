"""Relay channels end to end: a programme relays a catalogued channel, its item goes to simulated devices over a
real broker, and the devices really listen (protocol section 9.3). A live local stream is played from its start to
its end with audio frames counted on every device; a dead station is answered `failed` (stream_unreachable) by
every device, lands in the play log as failed, and the probe job records the station as unreachable.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from broadcast import protocol
from broadcast.domain.relay_channels import ChannelDraft
from broadcast.persistence.models import PlayLogRow
from broadcast.runtime import RELAY_PROBE_JOB, Runtime
from broadcast.services.context import Actor
from broadcast.services.delivery import stage_schedule
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.programmes import ProgrammeDraft, create_programme, playable
from broadcast.services.relay_channels import create_channel
from device_sim.device import DeviceSpec as SimSpec
from device_sim.stream_player import StreamOptions
from tests.support.app import HOAN_KIEM, make_container, wipe
from tests.support.broker import start_broker
from tests.support.fleet import running_fleet, wait_for
from tests.support.http_servers import closed_port
from tests.support.stream_server import stream_server  # noqa: F401 - fixture re-export

pytestmark = pytest.mark.integration
DEVICES = ["hk-rl-01", "hk-rl-02", "hk-rl-03"]
SYSTEM = Actor(None)


@pytest.fixture
def world(tmp_path, database_url):
    bootstrap = make_container(tmp_path, database_url)
    secrets = {d: register_device(bootstrap.uow(), bootstrap.clock, SYSTEM,
                                  DeviceSpec(id=d, name=f"Cụm loa {d}", area_code=HOAN_KIEM)).mqtt_password
               for d in DEVICES}
    broker = start_broker(tmp_path / "broker", devices=list(secrets.items()))
    bootstrap.close()
    container = make_container(tmp_path, database_url, mqtt_url=broker.server_url)
    yield container, broker, secrets
    broker.kill()
    wipe(container)
    container.close()


def relay_programme(container, url: str) -> tuple[int, str]:
    """A catalogued channel and a programme relaying it; the programme's id and the URL the compiler emits."""
    channel = create_channel(container.uow(), container.clock, SYSTEM, ChannelDraft("VOV1 thử nghiệm", url, "vov"))
    programme = create_programme(container.uow(), container.clock, SYSTEM, ProgrammeDraft(
        title="Tiếp sóng VOV1", area_code=HOAN_KIEM, relay_channel_id=channel.id, stream_duration_ms=600_000))
    uow = container.uow()
    with uow:
        ready = playable(uow, [programme])[programme.id]
    assert ready.stream_url == url and not ready.media
    return programme.id, url


def stage_relay(container, programme_id: int, url: str, *, in_s: float, lasts_s: float) -> dict[str, dict]:
    start = container.clock.now().replace(microsecond=0) + timedelta(seconds=in_s)
    planned = {}
    uow = container.uow()
    with uow:
        for device in uow.devices.directory():
            item = protocol.build_item(f"occ-{device.id}-relay", start=start.astimezone(protocol.VIETNAM_TZ),
                                       end=(start + timedelta(seconds=lasts_s)).astimezone(protocol.VIETNAM_TZ),
                                       priority="normal", volume=80, title="Tiếp sóng VOV1", stream_url=url)
            item["schedule_id"], item["programme_id"] = "51", programme_id
            planned[device.id] = item
            stage_schedule(uow, container.clock, container.signer, device, [item],
                           horizon_end=start + timedelta(days=1))
        uow.commit()
    return planned


def play_log(container) -> dict[tuple[str, str], PlayLogRow]:
    with container.engine.connect() as connection:
        return {(r.device_id, r.outcome): r for r in connection.execute(select(PlayLogRow))}


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def test_a_live_relay_plays_from_start_to_end_with_audio_counted(world, stream_server):  # noqa: F811
    container, broker, secrets = world
    programme_id, url = relay_programme(container, stream_server.mount("vov1"))
    runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
    runtime.start()
    try:
        specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
        with running_fleet(f"mqtt://{broker.host}:{broker.port}", specs, container.signer.public_key_b64,
                           stream_options=StreamOptions(listen=True)) as fleet:
            assert runtime.gateway.wait_connected(10)
            planned = stage_relay(container, programme_id, url, in_s=3, lasts_s=5)
            runtime.wake_delivery()
            wait_for(lambda: len(play_log(container)) == len(DEVICES), 40, what="a played row per device")
            totals = {d: fleet.call(lambda d=d: fleet.fleet.device(d).stream_totals()) for d in DEVICES}
            stats = fleet.call(fleet.fleet.stats)
            acks = {d: [a["stage"] for a in fleet.call(lambda d=d: list(fleet.fleet.device(d).acks))
                        if a.get("item_id") == planned[d]["item_id"]] for d in DEVICES}
    finally:
        runtime.stop()

    rows = play_log(container)
    for device_id in DEVICES:
        assert acks[device_id] == ["playing", "played"], acks
        played = rows[(device_id, "played")]
        assert (played.schedule_id, played.programme_id) == (51, programme_id)
        start, end = (protocol.parse_time(planned[device_id][k]) for k in ("start", "end"))
        # `playing` waits for decoded audio: a local stream gives it within a second or two of the start.
        assert 0 <= (as_utc(played.started_at) - start).total_seconds() <= 3
        assert as_utc(played.ended_at) == end
        # Five seconds of a 64 kbit/s, 44.1 kHz stream: about 38 frames a second (plus the server's 1 s burst).
        heard = totals[device_id]
        assert heard.frames >= 120 and heard.audio_s >= 3.0 and heard.bytes >= 3 * 8000, heard
    assert stats["stream_frames"] == sum(t.frames for t in totals.values())
    assert stream_server.mounts["vov1"].connections >= len(DEVICES)


def test_a_dead_station_is_reported_and_devices_answer_failed(world):
    container, broker, secrets = world
    dead = f"http://127.0.0.1:{closed_port()}/vov1.mp3"
    programme_id, url = relay_programme(container, dead)
    runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
    runtime.start()
    try:
        assert RELAY_PROBE_JOB in runtime.timer.job_ids()
        assert runtime.probe_relays() == 1  # the probe job records the station as down before the hour
        uow = container.uow()
        with uow:
            (channel,) = uow.relay_channels.all()
        assert channel.probe is not None and channel.probe.reachable is False and channel.probe.error
        specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
        # The spec's 10 s without audio, shortened for the test.
        with running_fleet(f"mqtt://{broker.host}:{broker.port}", specs, container.signer.public_key_b64,
                           stream_options=StreamOptions(listen=True, unreachable_s=2.0)) as fleet:
            assert runtime.gateway.wait_connected(10)
            planned = stage_relay(container, programme_id, url, in_s=2, lasts_s=60)
            runtime.wake_delivery()
            wait_for(lambda: len(play_log(container)) == len(DEVICES), 40, what="a failed row per device")
            stats = fleet.call(fleet.fleet.stats)
    finally:
        runtime.stop()

    rows = play_log(container)
    for device_id in DEVICES:
        failed = rows[(device_id, "failed")]
        assert failed.item_id == planned[device_id]["item_id"] and failed.reason == "stream_unreachable"
        assert failed.started_at is None and failed.schedule_id == 51
    assert stats["stream_frames"] == 0 and stats["playing"] == 0 and stats["failed"] == len(DEVICES)
