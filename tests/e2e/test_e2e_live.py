"""Live broadcast end to end with listening devices: the API served by uvicorn with its runtime, a private
mosquitto, a private icecast2, ffmpeg, and simulated controllers that open the session's stream, decode its MP3
frames before they ack `playing` (spec 9.3), and prove how much audio they heard.

Officer (`loaxa live` client, a file as microphone) -> WebSocket -> ffmpeg -> Icecast mount -> devices
(play_now per zone topic) -> stop -> acks -> play log.
"""
from __future__ import annotations

import asyncio
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from broadcast.live_cli import capture_command, send_audio
from broadcast.runtime import Runtime
from broadcast.services.delivery import stage_schedule
from broadcast.web.app import create_app
from device_sim.device import DeviceSpec as SimSpec
from device_sim.stream_player import StreamOptions
from tests.support.app import HOAN_KIEM, PASSWORD, wipe
from tests.support.audio_fixtures import espeak_wav
from tests.support.fleet import running_fleet, wait_for
from tests.support.icecast import icecast  # noqa: F401  (fixture)
from tests.support.live_setup import live_setup
from tests.support.served import ServedApi

pytestmark = pytest.mark.integration
DEVICES = [f"hk-lv-{i:02d}" for i in range(4)]
SPEECH = ("Kính thưa bà con. Ủy ban nhân dân phường thông báo lịch tiêm phòng cho đàn gia súc trong tuần này. "
          "Đề nghị các hộ gia đình có mặt đúng giờ tại nhà văn hóa khu phố.")


@pytest.fixture
def world(tmp_path, database_url, icecast):  # noqa: F811
    setup = live_setup(tmp_path, database_url, icecast, DEVICES, {"bien-tap": "editor"})
    container, broker, port, secrets = setup.container, setup.broker, setup.port, setup.secrets
    runtime = Runtime(container, flush_every_s=120, compile_every_s=None)
    specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
    listening = StreamOptions(listen=True)
    try:
        with ServedApi(create_app(container, runtime), port) as api, \
                running_fleet(f"mqtt://{broker.host}:{broker.port}", specs, container.signer.public_key_b64,
                              stream_options=listening) as fleet, \
                httpx.Client(base_url=api.base, timeout=60) as http:
            assert runtime.gateway.wait_connected(10)
            _learn_zones(container, runtime)
            token = http.post("/api/v1/auth/token", data={"username": "bien-tap", "password": PASSWORD})
            http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            yield http, fleet, api.base, tmp_path
    finally:
        broker.kill()
        container.jobs.drain(60)
        wipe(container)
        container.close()


def _learn_zones(container, runtime) -> None:
    """Devices subscribe to their zone topics once their first schedule names the zones."""
    with container.uow() as uow:
        for device in uow.devices.directory():
            stage_schedule(uow, container.clock, container.signer, device, [],
                           horizon_end=container.clock.now() + timedelta(days=7))
        uow.commit()
    runtime.wake_delivery()

    def all_acked() -> bool:
        with container.uow() as u:
            return all(u.devices.state(d).acknowledged_version == 1 for d in DEVICES)

    wait_for(all_acked, 30, what="every device acked its schedule")


def _speech(work: Path) -> Path:
    return espeak_wav(work / "speech.wav", SPEECH)


def _seconds(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def test_devices_hear_the_officer_live_and_the_play_log_shows_each_of_them(world):
    http, fleet, base, work = world
    speech = _speech(work)
    length_s = _seconds(speech)
    response = http.post("/api/v1/live", json={"targets": {"areas": [HOAN_KIEM]}, "priority": "priority"})
    assert response.status_code == 201, response.text
    live = response.json()
    token = http.headers["Authorization"].split()[1]

    result: dict = {}
    sender = threading.Thread(target=lambda: result.update(asyncio.run(send_audio(
        base, token, live["ws_path"], capture_command(str(speech)))) or {}))
    sender.start()

    def reach() -> dict:
        return http.get(f"/api/v1/live/{live['id']}").json()["reach"]

    # `playing` comes only after a device decoded frames of the mount: audio reached every one of them.
    wait_for(lambda: reach()["stages"].get("playing", 0) == len(DEVICES), 20, what="every device playing")
    sender.join(length_s + 30)
    assert not sender.is_alive() and result.get("status") == "ended", result

    ended = http.get(f"/api/v1/live/{live['id']}").json()
    assert ended["status"] == "ended" and ended["stop_cmd_id"]
    wait_for(lambda: fleet.call(lambda: [fleet.fleet.device(d).current for d in DEVICES]) == [None] * len(DEVICES),
             20, what="every device stopped")
    heard = fleet.call(lambda: {d: fleet.fleet.device(d).stream_totals() for d in DEVICES})
    for device_id, totals in heard.items():
        # The devices joined a second or two after the start and the mount has no burst: most of the talk.
        assert totals.audio_s >= length_s - 5, (device_id, totals, length_s)
        # Icecast 2.4 queues a source's MP3 in 1,400-byte blocks and drops the unfinished one when the source
        # leaves, so the mount's end is a cut frame: at most one drop, then the `stop` ends the play.
        assert totals.frames > 0 and totals.drops <= 1, (device_id, totals)

    def rows() -> list[dict]:
        listed = http.get("/api/v1/playlog", params={"area": HOAN_KIEM, "limit": 100})
        assert listed.status_code == 200, listed.text
        return [r for r in listed.json() if r["item_id"] == live["cmd_id"]]

    wait_for(lambda: len(rows()) == len(DEVICES), 20, what="a play-log row per device")
    assert {r["device_id"] for r in rows()} == set(DEVICES)
    for row in rows():
        assert row["outcome"] in ("played", "preempted"), row
        assert row["priority"] == "priority" and row["commune_code"] == HOAN_KIEM
        assert row["live_session_id"] == live["id"]  # the row names the session: its number, officer, targets
        assert row["title"].startswith(f"Phát trực tiếp số {live['id']}: ") and "Phường Hoàn Kiếm" in row["title"]
        assert row["started_at"] is not None and row["ended_at"] is not None

    # Officers can listen back: the recording became a library asset and was rendered.
    wait_for(lambda: http.get(f"/api/v1/live/{live['id']}").json()["recording_id"] is not None, 60,
             what="the recording is an asset")
    asset_id = http.get(f"/api/v1/live/{live['id']}").json()["recording_id"]
    wait_for(lambda: http.get(f"/api/v1/audio/{asset_id}").json()["status"] == "ready", 60,
             what="the recording rendered")
