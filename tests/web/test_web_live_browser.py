"""The live page in a real browser on a phone: Chromium's fake microphone (a speech WAV) goes live to a ward, the
audio comes out of the private Icecast's mount (read and decoded here), the counters move as device acks arrive,
"Dừng phát" ends it and the session page links to the recording in the library."""
from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from broadcast import protocol
from broadcast.persistence.migrate import upgrade
from broadcast.persistence.models_live import LiveSessionRow
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import seed_areas
from broadcast.services.context import Actor
from broadcast.services.delivery.inbox import DeliveryInbox
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import HOAN_KIEM, add_user, make_container
from tests.support.audio_fixtures import espeak_wav, require_binary
from tests.support.browser import PHONE, Site, Watch, check, chromium, phone_context, running_site, sign_in
from tests.support.fleet import wait_for
from tests.support.icecast import start_icecast
from tests.support.inbound import as_received
from tests.support.live_setup import allow_all_day

pytestmark = pytest.mark.integration
DEVICES = ["loa-hk-1", "loa-hk-2"]
SPEECH = ("Kính thưa bà con. Sáng mai phường tổ chức tổng vệ sinh môi trường. Mỗi hộ cử một người tham gia. "
          "Xin cảm ơn bà con. ") * 3


def seed(container) -> None:
    upgrade(container.engine)
    system = Actor(None)
    seed_areas(container.uow(), container.clock, official_areas(), system)
    for device_id in DEVICES:
        register_device(container.uow(), container.clock, system, DeviceSpec(device_id, f"Cụm loa {device_id}",
                                                                             HOAN_KIEM))
    add_user(container, "bien-tap-hk", "editor", HOAN_KIEM)
    allow_all_day(container, HOAN_KIEM)


def newest_session(site: Site) -> LiveSessionRow | None:
    container = make_container(site.root, site.database_url)
    try:
        with container.session_factory() as session:
            return session.scalars(select(LiveSessionRow).order_by(LiveSessionRow.id.desc()).limit(1)).first()
    finally:
        container.close()


def acks_arrive(site: Site, cmd_id: str, stages: dict[str, list[str]]) -> None:
    container = make_container(site.root, site.database_url)
    try:
        now = container.clock.now()
        DeliveryInbox(container.uow).handle([
            as_received(protocol.build_ack(device, protocol.command_ref(cmd_id), stage, at=now,
                                           **({"started_at": now} if stage == "playing" else {})), now)
            for device, device_stages in stages.items() for stage in device_stages])
    finally:
        container.close()


def test_an_editor_goes_live_from_a_phone_microphone(tmp_path_factory, measurements):
    require_binary("espeak-ng")
    require_binary("ffmpeg")
    from playwright.sync_api import expect

    work = tmp_path_factory.mktemp("live-web")
    wav = work / "mic.wav"
    raw = espeak_wav(work / "speech.wav", SPEECH)
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(raw), "-ar", "48000", "-ac", "1",
                    str(wav)], check=True)
    icecast_dir = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))
    icecast = start_icecast(icecast_dir)
    env = {"LOAXA_ICECAST_HOST": icecast.config.host, "LOAXA_ICECAST_PORT": str(icecast.config.port),
           "LOAXA_ICECAST_SOURCE_PASSWORD": icecast.config.secrets.source_password}
    flags = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             f"--use-file-for-fake-audio-capture={wav}", "--autoplay-policy=no-user-gesture-required"]
    try:
        with running_site(work / "site", seed, env) as site, chromium(flags) as browser:
            context = phone_context(browser, permissions=["microphone"])
            page = context.new_page()
            watch = Watch().attach(page)
            sign_in(page, site.base, "bien-tap-hk")
            assert page.locator('nav a[href="/phat-truc-tiep"]').count() >= 1  # in the menu
            page.goto(site.base + "/phat-truc-tiep")
            check(page, "truc-tiep-1-chon-360", PHONE["width"], measurements)
            page.get_by_label("Hoàn Kiếm").check()
            page.get_by_role("button", name="Bắt đầu phát").click()
            expect(page.get_by_role("button", name="Dừng phát")).to_be_visible(timeout=15_000)
            live = newest_session(site)
            assert live is not None and live.priority == "normal"
            wait_for(lambda: newest_session(site).status == "live", 10, what="audio flowing")
            heard = work / "heard.mp3"
            with httpx.stream("GET", live.stream_url, timeout=10) as response, heard.open("wb") as sink:
                assert response.status_code == 200
                end = time.monotonic() + 3.0
                for chunk in response.iter_bytes():
                    sink.write(chunk)
                    if time.monotonic() >= end:
                        break
            decoded = subprocess.run(["ffmpeg", "-nostdin", "-i", str(heard), "-af", "volumedetect", "-f", "null",
                                      "-"], capture_output=True, text=True, check=True).stderr
            mean_db = float(decoded.split("mean_volume:")[1].split("dB")[0])
            assert mean_db > -40, decoded[-500:]  # speech, not silence, came out of the mount
            assert page.locator("[data-live-level]").evaluate("m => m.value") >= 0
            acks_arrive(site, live.cmd_id, {"loa-hk-1": ["received", "playing"], "loa-hk-2": ["received"]})
            expect(page.locator('[data-count="received"]')).to_have_text("2", timeout=10_000)
            assert page.locator('[data-count="sounding"]').inner_text() == "1"
            assert page.locator("[data-live-elapsed]").inner_text() != "00:00"
            check(page, "truc-tiep-2-dang-phat-360", PHONE["width"], measurements)

            page.get_by_role("button", name="Dừng phát").click()
            link = page.get_by_role("link", name="Xem phiên phát và bản ghi âm")
            expect(link).to_be_visible(timeout=15_000)
            ended = newest_session(site)
            assert ended.status == "ended" and ended.end_reason == "stopped" and ended.stop_cmd_id
            link.click()
            page.wait_for_url(site.base + f"/phat-truc-tiep/{live.id}")
            assert "đã kết thúc" in page.locator("main").inner_text()
            wait_for(lambda: newest_session(site).recording_id is not None, 60, what="the recording kept")
            page.reload()
            expect(page.get_by_role("link", name="Nghe lại trong thư viện")).to_be_visible()
            check(page, "truc-tiep-3-da-dung-360", PHONE["width"], measurements)
            assert watch.foreign() == []
            assert [e for e in watch.errors if "favicon" not in e] == []
            context.close()
    finally:
        icecast.stop()
