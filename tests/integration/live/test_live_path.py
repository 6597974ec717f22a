"""Live broadcast end to end: the real API served by uvicorn with its runtime, a private mosquitto, a private
icecast2, ffmpeg. Audio goes in through the session's WebSocket (the `loaxa live` client, as Opus/WebM clusters),
comes out of the Icecast mount (read and decoded here), and the play_now / stop commands are watched on the broker.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
import websockets

from broadcast.adapters.icecast import mount_is_live
from broadcast.live_cli import capture_command, send_audio
from broadcast.runtime import Runtime
from broadcast.services.context import Actor
from broadcast.services.policies import set_policy
from broadcast.web.app import create_app
from tests.support.app import HOAN_KIEM, PASSWORD, wipe
from tests.support.audio_fixtures import espeak_wav, ffmpeg_lufs
from tests.support.broker import MqttProbe
from tests.support.fleet import wait_for
from tests.support.icecast import icecast  # noqa: F401  (fixture)
from tests.support.live_setup import live_setup
from tests.support.served import ServedApi

pytestmark = pytest.mark.integration
DEVICES = [f"lv-{i:02d}" for i in range(3)]
SPEECH = ("Kính thưa bà con. Ủy ban nhân dân phường thông báo lịch tiêm phòng cho đàn gia súc trong tuần này. "
          "Đề nghị các hộ gia đình chuẩn bị và có mặt đúng giờ tại nhà văn hóa khu phố. Xin cảm ơn bà con.")


class World:
    def __init__(self, http: httpx.Client, base: str, container, probe: MqttProbe, app, icecast_url: str,
                 work: Path):
        self.http, self.base, self.container, self.probe, self.app = http, base, container, probe, app
        self.icecast_url, self.work = icecast_url, work

    def token(self, username: str) -> str:
        response = self.http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def start(self, username: str, priority: str = "normal") -> httpx.Response:
        return self.http.post("/api/v1/live", json={"targets": {"areas": [HOAN_KIEM]}, "priority": priority},
                              headers={"Authorization": f"Bearer {self.token(username)}"})

    def session(self, session_id: int) -> dict:
        response = self.http.get(f"/api/v1/live/{session_id}",
                                 headers={"Authorization": f"Bearer {self.token('bien-tap')}"})
        assert response.status_code == 200, response.text
        return response.json()

    def commands(self, action: str) -> list[dict]:
        found = []
        for _topic, payload, _retained in self.probe.snapshot(lambda t: t.endswith("/command")):
            document = json.loads(payload)
            if document.get("action") == action:
                found.append(document)
        return found


@pytest.fixture
def world(tmp_path, database_url, icecast):  # noqa: F811
    setup = live_setup(tmp_path, database_url, icecast, DEVICES,
                       {"bien-tap": "editor", "khan-cap": "emergency_operator"}, live_idle_timeout_s=2.0)
    container, broker, port = setup.container, setup.broker, setup.port
    runtime = Runtime(container, flush_every_s=120, compile_every_s=None)
    probe = MqttProbe.as_server(broker).connect()
    probe.subscribe(f"{broker.prefix}/zones/+/command")
    probe.subscribe(f"{broker.prefix}/devices/+/command")
    app = create_app(container, runtime)
    try:
        with ServedApi(app, port) as api, httpx.Client(base_url=api.base, timeout=60) as http:
            assert runtime.gateway.wait_connected(10)
            yield World(http, api.base, container, probe, app, icecast.config.url, tmp_path)
    finally:
        probe.close()
        broker.kill()
        container.jobs.drain(60)
        wipe(container)
        container.close()


def _quiet_speech(work: Path) -> Path:
    """Speech 20 dB below espeak's level: the live leveller must bring it up to the target."""
    raw = espeak_wav(work / "speech-raw.wav", SPEECH)
    quiet = work / "speech.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(raw), "-af", "volume=-20dB",
                    str(quiet)], check=True)
    return quiet


def _encoder_pids(mount: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mount in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _listen(url: str, seconds: float, out: Path) -> None:
    """A listener of the mount, as a device is: plain HTTP, bytes for `seconds`."""
    with httpx.stream("GET", url, timeout=10) as response, out.open("wb") as sink:
        assert response.status_code == 200
        assert response.headers["content-type"] == "audio/mpeg"
        end = time.monotonic() + seconds
        for chunk in response.iter_bytes():
            sink.write(chunk)
            if time.monotonic() >= end:
                break


def _decoded_seconds(path: Path) -> float:
    wav = path.with_suffix(".wav")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(path), "-ac", "1", str(wav)],
                   check=True)
    return (wav.stat().st_size - 44) / 2 / 44100


def test_live_from_a_file_reaches_the_mount_devices_and_the_library(world):
    speech = _quiet_speech(world.work)
    kept = world.work / "kept-recording.flac"
    response = world.start("bien-tap")
    assert response.status_code == 201, response.text
    live = response.json()
    assert live["status"] == "waiting" and live["stream_url"].startswith(world.icecast_url + "/live-")
    relay = world.app.state.live_relay
    keep = relay.on_recording
    relay.on_recording = lambda sid, path: (shutil.copyfile(path, kept), keep(sid, path))
    wait_for(lambda: any(c["cmd_id"] == live["cmd_id"] for c in world.commands("play_now")), 10,
             what="play_now on the broker")
    play = next(c for c in world.commands("play_now") if c["cmd_id"] == live["cmd_id"])
    assert play["stream_url"] == live["stream_url"] and play["priority"] == "normal"

    result: dict = {}
    sender = threading.Thread(target=lambda: result.update(asyncio.run(send_audio(
        world.base, world.token("bien-tap"), live["ws_path"], capture_command(str(speech)))) or {}))
    sender.start()
    mount = live["stream_url"].rsplit("/", 1)[1]
    wait_for(lambda: mount_is_live(world.icecast_url, mount), 10, what="the mount is fed")
    heard = world.work / "heard.mp3"
    _listen(live["stream_url"], 4.0, heard)
    sender.join(60)
    assert not sender.is_alive()
    assert _decoded_seconds(heard) >= 2.5  # a device decoded real audio from Icecast
    assert result.get("type") == "ended" and result.get("status") == "ended", result

    ended = world.session(live["id"])
    assert ended["status"] == "ended" and ended["end_reason"] == "stopped"
    assert ended["bytes_received"] > 10_000 and ended["stop_cmd_id"]
    wait_for(lambda: any(c.get("ref_cmd_id") == live["cmd_id"] for c in world.commands("stop")), 10,
             what="stop on the broker")
    assert not mount_is_live(world.icecast_url, mount)
    assert _encoder_pids(mount) == []
    wait_for(kept.exists, 10, what="the recording handed to the library")
    assert abs(ffmpeg_lufs(kept) - world.container.settings.audio_target_lufs) <= 1.0
    wait_for(lambda: world.session(live["id"])["recording_id"] is not None, 60, what="the recording is an asset")
    asset_id = world.session(live["id"])["recording_id"]
    headers = {"Authorization": f"Bearer {world.token('bien-tap')}"}
    wait_for(lambda: world.http.get(f"/api/v1/audio/{asset_id}", headers=headers).json()["status"] == "ready", 60,
             what="the recording rendered")
    with world.container.uow() as uow:
        actions = [e.action for e in uow.audit.list(_audit_query(live["id"]))]
    assert "live.start" in actions and "live.stop" in actions


def _audit_query(session_id: int):
    from broadcast.domain.audit import AuditQuery

    return AuditQuery(object_type="live_session", object_id=str(session_id))


async def _feed_then(ws_url: str, token: str, chunks: list[bytes], *, close: bool) -> None:
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await ws.recv())["type"] == "ready"
        for chunk in chunks:
            await ws.send(chunk)
            await asyncio.sleep(0.05)
        if not close:
            await asyncio.sleep(4.0)  # connected but silent: longer than the 2 s idle timeout


def _webm(work: Path) -> list[bytes]:
    speech = _quiet_speech(work)
    webm = work / "speech.webm"
    command = capture_command(str(speech))
    command.remove("-re")
    command[-1] = str(webm)
    subprocess.run(command, check=True)
    data = webm.read_bytes()
    return [data[i:i + 4096] for i in range(0, min(len(data), 24_000), 4096)]


@pytest.mark.parametrize("how", ["socket_closed", "idle"])
def test_a_dropped_link_stops_the_devices(world, how):
    chunks = _webm(world.work)
    live = world.start("bien-tap").json()
    mount = live["stream_url"].rsplit("/", 1)[1]
    url = world.base.replace("http://", "ws://") + live["ws_path"]
    asyncio.run(_feed_then(url, world.token("bien-tap"), chunks, close=how == "socket_closed"))
    wait_for(lambda: world.session(live["id"])["status"] == "dropped", 15, what="the session dropped")
    assert world.session(live["id"])["end_reason"] == how
    wait_for(lambda: any(c.get("ref_cmd_id") == live["cmd_id"] for c in world.commands("stop")), 10,
             what="stop on the broker")
    wait_for(lambda: _encoder_pids(mount) == [], 10, what="ffmpeg gone")
    assert not mount_is_live(world.icecast_url, mount)


def test_outside_the_window_an_editor_is_refused_and_an_emergency_operator_is_not(world):
    local = world.container.clock.now().astimezone(world.container.settings.tz)
    window = "00:00-01:00" if local.hour >= 12 else "23:00-24:00"
    set_policy(world.container.uow(), world.container.clock, Actor(None), HOAN_KIEM, windows=[window],
               max_minutes_per_day=None, weekdays=None)
    refused = world.start("bien-tap")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "policy.outside_window"
    assert "ngoài khung giờ" in refused.json()["error"]["message"]
    assert world.commands("play_now") == []
    allowed = world.start("khan-cap", priority="emergency")
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["priority"] == "emergency"
    # An editor cannot borrow the emergency class, and an emergency operator has no normal class.
    assert world.start("bien-tap", priority="emergency").status_code == 403
    assert world.start("khan-cap", priority="normal").status_code == 403
    stop = world.http.post(f"/api/v1/live/{allowed.json()['id']}/stop",
                           headers={"Authorization": f"Bearer {world.token('khan-cap')}"})
    assert stop.status_code == 200 and stop.json()["status"] == "ended"
