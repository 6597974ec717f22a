"""The whole chain over a real broker and HTTP: an officer schedules, a leader approves, simulated devices
download the audio, play it on time, and the play log shows it. Then a crash between staging and publishing."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from broadcast.persistence.models import PlayLogRow, SchedulePublicationRow
from broadcast.runtime import Runtime
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.dispatch import DispatchSettings, dispatch
from broadcast.web.app import create_app
from device_sim.device import DeviceSpec as SimSpec
from tests.support.app import HANOI, HOAN_KIEM, PASSWORD, add_user, make_container, wipe
from tests.support.audio_fixtures import generate, require_binary
from tests.support.broker import free_port, start_broker
from tests.support.fleet import running_fleet, wait_for

pytestmark = pytest.mark.integration
DEVICES = ["hk-e2e-01", "hk-e2e-02", "hk-e2e-03"]


class Server:
    """The real app (API + embedded runtime) served by uvicorn on a loopback port."""

    def __init__(self, container, port: int):
        self.runtime = Runtime(container, flush_every_s=0.5)
        config = uvicorn.Config(create_app(container, self.runtime), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.base = f"http://127.0.0.1:{port}"

    def __enter__(self):
        self.thread.start()
        wait_for(lambda: self.server.started, 20, what="uvicorn started")
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=20)


def token(http: httpx.Client, username: str) -> dict:
    response = http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def local_iso(moment, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None).isoformat(timespec="seconds")


def count(container, model, *where) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def world(tmp_path, database_url):
    require_binary("ffmpeg")
    port = free_port()
    boot = make_container(tmp_path, database_url)
    secrets = {d: register_device(boot.uow(), boot.clock, Actor(None),
                                  DeviceSpec(id=d, name=f"Cụm loa {d}", area_code=HOAN_KIEM)).mqtt_password
               for d in DEVICES}
    for name, role, area in (("can-bo", "editor", HOAN_KIEM), ("chu-tich", "approver", HOAN_KIEM),
                             ("quan-tri", "admin", HANOI)):
        add_user(boot, name, role, area)
    boot.close()
    broker = start_broker(tmp_path / "broker", devices=list(secrets.items()), persistence=True)
    settings = {"mqtt_url": broker.server_url,
                "public_url": f"http://127.0.0.1:{port}"}
    yield (lambda: make_container(tmp_path, database_url, **settings)), broker, secrets, port, tmp_path
    broker.kill()
    last = make_container(tmp_path, database_url)
    wipe(last)
    last.close()


def test_officer_schedules_leader_approves_devices_play_and_log(world):
    make, broker, secrets, port, tmp_path = world
    container = make()
    tz = container.settings.timezone
    specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
    with Server(container, port) as server, httpx.Client(base_url=server.base, timeout=30) as http, \
            running_fleet(f"mqtt://{broker.host}:{broker.port}", specs, container.signer.public_key_b64,
                          media_dir=tmp_path / "device-cache"):
        editor, approver, admin = token(http, "can-bo"), token(http, "chu-tich"), token(http, "quan-tri")
        # Any hour of the day is allowed here: the test must not depend on when it runs.
        allowed = http.put(f"/api/v1/policies/{HOAN_KIEM}", headers=admin, json={"windows": ["00:00-24:00"]})
        assert allowed.status_code == 200
        wav = generate(tmp_path / "luat.wav", kind="speechlike", seconds=3, rate=22050)
        with wav.open("rb") as fh:
            asset = http.post("/api/v1/audio", headers=editor, files={"file": ("luat.wav", fh)},
                              data={"title": "Luật Hòa giải ở cơ sở", "area_code": HOAN_KIEM,
                                    "topic": "grassroots_mediation"}).json()
        wait_for(lambda: http.get(f"/api/v1/audio/{asset['id']}", headers=editor).json()["status"] == "ready", 60)
        programme = http.post("/api/v1/programmes", headers=editor, json={
            "title": "Luật Hòa giải ở cơ sở - số 3", "area_code": HOAN_KIEM, "topic": "grassroots_mediation",
            "audio_ids": [asset["id"]]}).json()
        start = container.clock.now() + timedelta(seconds=25)
        schedule = http.post("/api/v1/schedules", headers=editor, json={
            "programme_id": programme["id"], "targets": {"areas": [HOAN_KIEM]}, "start": local_iso(start, tz),
            "volume": 70}).json()
        assert http.post(f"/api/v1/schedules/{schedule['id']}/submit", headers=editor).status_code == 200
        approved = http.post(f"/api/v1/schedules/{schedule['id']}/approve", headers=approver)
        assert approved.status_code == 200, approved.text

        def played() -> int:
            return count(container, PlayLogRow, PlayLogRow.outcome == "played")

        wait_for(lambda: played() == len(DEVICES), 90, what="every device played")
        with container.engine.connect() as connection:
            rows = connection.execute(select(PlayLogRow)).all()
        for row in rows:
            assert row.schedule_id == schedule["id"] and row.programme_id == programme["id"]
            planned = row.planned_start if row.planned_start.tzinfo else row.planned_start.replace(tzinfo=start.tzinfo)
            actual = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=start.tzinfo)
            assert abs((planned - start).total_seconds()) < 1
            assert abs((actual - planned).total_seconds()) < 3  # on time, from the device's own clock
        log = http.get("/api/v1/playlog", headers=approver).json()
        assert len(log) >= len(DEVICES)
    container.close()


def test_crash_between_staging_and_publishing_loses_nothing_and_sends_no_new_version(world):
    make, broker, secrets, port, tmp_path = world
    container = make()
    specs = [SimSpec(device_id=d, password=pw) for d, pw in secrets.items()]
    # The compiler staged new versions, then the process died before the flush.
    settings = DispatchSettings(container.settings.timezone, container.settings.horizon_days,
                                container.settings.public_url)
    report, _ = dispatch(container.uow, container.clock, container.signer, settings)
    assert report.staged == len(DEVICES)
    container.close()

    container = make()  # the restarted process
    runtime = Runtime(container, flush_every_s=0.5)
    with running_fleet(f"mqtt://{broker.host}:{broker.port}", specs, container.signer.public_key_b64):
        runtime.start()
        try:
            def acknowledged() -> int:
                return count(container, SchedulePublicationRow, SchedulePublicationRow.received_at.is_not(None))

            wait_for(lambda: acknowledged() == len(DEVICES), 30, what="staged versions delivered after restart")
            assert runtime.compile(force=True) is True
            time.sleep(1.0)
            assert count(container, SchedulePublicationRow) == len(DEVICES)  # same timelines: no new version
        finally:
            runtime.stop()
    container.close()
