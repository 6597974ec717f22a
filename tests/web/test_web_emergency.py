"""The emergency pages over the real app and database: targets, content and a confirmation naming how many devices
will sound, then the emergency the service creates (same as POST /emergencies), the live reach counters from the
acks the delivery inbox stores, the stop, and who may do what."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from broadcast import protocol
from broadcast.domain.audio import AssetStatus, AudioAsset
from broadcast.persistence.models import AuditRow, CommandPublicationRow, EmergencyRow
from broadcast.services.areas import create_zone
from broadcast.services.context import Actor
from broadcast.services.delivery.inbox import DeliveryInbox
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, add_user
from tests.support.audio_fixtures import generate, require_binary
from tests.support.inbound import as_received
from tests.support.web import csrf_of, sign_in

pytestmark = pytest.mark.integration


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def emergencies(container) -> list:
    with container.engine.connect() as connection:
        return list(connection.execute(select(EmergencyRow).order_by(EmergencyRow.id)))


def audited(container, action: str) -> list:
    with container.engine.connect() as connection:
        return list(connection.execute(select(AuditRow).where(AuditRow.action == action)))


@pytest.fixture
def commune(container):
    """Hoàn Kiếm: a residential group with two devices, two more devices, a ready library file (rendered for real:
    an emergency plays the stored rendition); Cửa Nam: one device."""
    system = Actor(None)
    zone = create_zone(container.uow(), container.clock, system, commune_code=HOAN_KIEM, name="Tổ dân phố số 5",
                       kind="residential_group")
    for device_id, area, zones in (("hk-v0", HOAN_KIEM, (zone.id,)), ("hk-v1", HOAN_KIEM, (zone.id,)),
                                   ("hk-0", HOAN_KIEM, ()), ("hk-1", HOAN_KIEM, ()), ("cn-0", CUA_NAM, ())):
        register_device(container.uow(), container.clock, system,
                        DeviceSpec(device_id, f"Cụm loa {device_id}", area, zones=zones))
    require_binary("ffmpeg")
    source = generate(container.settings.data_dir / "canh-bao.wav", kind="speechlike", seconds=2.0)
    rendered = container.audio.render(source, source.name, "speech", container.audio.check(source, source.name))
    uow = container.uow()
    with uow:
        asset = uow.audio.add(AudioAsset(
            id=0, title="Cảnh báo lũ quét", kind="upload", language="vi", topic="disaster", area_code=HOAN_KIEM,
            profile="speech", status=AssetStatus.READY, original_name=source.name, created_by="test",
            created_at=container.clock.now(), original_sha256=rendered.original_sha256, sha256=rendered.sha256,
            bytes=rendered.bytes, duration_ms=rendered.duration_ms))
        uow.commit()
    add_user(container, "khan-cap-hk", "emergency_operator", HOAN_KIEM)
    return {"zone": zone.id, "asset": asset.id}


def confirm(client, data: dict, files: dict | None = None):
    """Step 2 posted as the browser does (multipart), with the content page's CSRF token."""
    targets = {k: v for k, v in data.items() if k in ("areas", "zones", "devices")}
    page = client.get("/khan-cap/noi-dung", params=targets)
    assert page.status_code == 200, page.text
    return client.post("/khan-cap/xac-nhan", data={**data, "csrf_token": csrf_of(page.text)},
                       files=files or {"recording_file": ("", b"", "application/octet-stream")})


def hidden_fields(html: str) -> list[tuple[str, str]]:
    form = html.split('action="/khan-cap/gui"', 1)[1].split("</form>", 1)[0]
    return re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form)


def send(client, confirmation_html: str):
    fields = hidden_fields(confirmation_html)
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value.replace("&#39;", "'").replace("&amp;", "&"))
    return client.post("/khan-cap/gui", data=data, follow_redirects=False)


def test_targets_list_what_the_operator_may_reach(container, client, commune):
    sign_in(client, "khan-cap-hk")
    page = client.get("/khan-cap").text
    assert f'name="areas" value="{HOAN_KIEM}"' in page and f'name="areas" value="{CUA_NAM}"' not in page
    assert f'name="zones" value="{commune["zone"]}"' in page and "Tổ dân phố số 5" in page
    assert 'name="devices" value="hk-0"' in page and 'name="devices" value="cn-0"' not in page
    content = text_of(client.get("/khan-cap/noi-dung", params={"zones": commune["zone"], "devices": "hk-0"}).text)
    assert "Tổ dân phố số 5, Cụm loa hk-0" in content and "3 thiết bị sẽ phát" in content
    empty = client.get("/khan-cap/noi-dung", follow_redirects=False)
    assert empty.status_code == 303 and empty.headers["location"] == "/khan-cap"


def test_the_page_flow_creates_the_emergency_after_a_confirmation_naming_the_count(container, client, commune):
    sign_in(client, "khan-cap-hk")
    confirmation = confirm(client, {"areas": HOAN_KIEM, "reason": "Lũ quét trên sông Hồng", "source": "asset",
                                    "audio_id": str(commune["asset"]), "minutes": "30", "volume": "90"})
    assert confirmation.status_code == 200, confirmation.text
    page = text_of(confirmation.text)
    assert "Sẽ phát trên 4 thiết bị" in page and "Cảnh báo lũ quét" in page and "30 phút" in page
    assert emergencies(container) == []  # nothing is sent before the operator confirms
    sent = send(client, confirmation.text)
    assert sent.status_code == 303, sent.text
    (row,) = emergencies(container)
    assert sent.headers["location"] == f"/khan-cap/{row.id}"
    assert row.status == "active" and row.created_by == "khan-cap-hk" and row.reason == "Lũ quét trên sông Hồng"
    assert row.targets["areas"] == [HOAN_KIEM] and row.targets["zones"] == [] and row.targets["devices"] == []
    assert row.targets["tracked"] == 4 and row.targets["volume"] == 90 and row.audio_id is not None
    assert (row.expires_at - row.created_at).total_seconds() == 30 * 60
    with container.engine.connect() as connection:
        (document,) = connection.scalars(select(CommandPublicationRow.document)
                                         .where(CommandPublicationRow.cmd_id == row.cmd_id))
    assert document["action"] == "play_now" and document["target"] == {"zone": f"{HANOI}-{HOAN_KIEM}"}
    assert document["media"] and document["volume"] == 90
    assert protocol.verify(document, container.signer.public_key_b64)
    assert [a.actor for a in audited(container, "emergency.start")] == ["khan-cap-hk"]
    live = text_of(client.get(sent.headers["location"]).text)
    assert f"Đã phát lệnh khẩn cấp số {row.id} tới 4 thiết bị." in live and "Dừng phát" in live


def test_zones_and_devices_are_the_targets_sent(container, client, commune):
    sign_in(client, "khan-cap-hk")
    confirmation = confirm(client, {"zones": commune["zone"], "devices": "hk-1", "reason": "Cháy chợ",
                                    "source": "asset", "audio_id": str(commune["asset"])})
    assert "Sẽ phát trên 3 thiết bị" in text_of(confirmation.text)
    assert send(client, confirmation.text).status_code == 303
    (row,) = emergencies(container)
    assert row.targets["zones"] == [commune["zone"]] and row.targets["devices"] == ["hk-1"]
    assert row.targets["publish"] == {"zones": [commune["zone"]], "devices": ["hk-1"]}


def test_missing_content_is_asked_for_again_with_what_was_typed(container, client, commune):
    sign_in(client, "khan-cap-hk")
    answer = confirm(client, {"areas": HOAN_KIEM, "reason": "Bão số 3", "source": "text", "text": "  "})
    assert answer.status_code == 422 and "Cần nhập nội dung để đọc tự động." in answer.text
    assert "Bão số 3" in answer.text and "Sẽ phát trên" not in answer.text
    no_reason = confirm(client, {"areas": HOAN_KIEM, "reason": "", "source": "text", "text": "Sơ tán"})
    assert no_reason.status_code == 422 and "Cần ghi lý do phát khẩn cấp" in no_reason.text
    assert emergencies(container) == []


def test_text_is_read_by_tts_when_sent(container, client, commune):
    require_binary("espeak-ng")
    require_binary("ffmpeg")
    sign_in(client, "khan-cap-hk")
    text = "Khẩn cấp. Nước sông Hồng đang lên nhanh. Bà con khu vực bãi giữa sơ tán ngay."
    confirmation = confirm(client, {"areas": HOAN_KIEM, "reason": "Lũ", "source": "text", "text": text,
                                    "voice": "vi-vn-x-south"})
    assert "Giọng miền Nam" in confirmation.text and "Sẽ phát trên 4 thiết bị" in text_of(confirmation.text)
    assert send(client, confirmation.text).status_code == 303
    (row,) = emergencies(container)
    assert row.text == text
    uow = container.uow()
    with uow:
        asset = uow.audio.get(row.audio_id)
    assert asset.kind == "tts" and asset.voice == "vi-vn-x-south" and asset.status is AssetStatus.READY


def test_a_recording_is_checked_then_rendered_and_kept(container, client, commune, tmp_path):
    require_binary("ffmpeg")
    recording = generate(tmp_path / "ghi-am.webm", kind="speechlike", seconds=3.0)
    sign_in(client, "khan-cap-hk")
    confirmation = confirm(client, {"areas": HOAN_KIEM, "reason": "Sạt lở đất", "source": "recording"},
                           files={"recording_file": ("ghi-am.webm", recording.read_bytes(), "audio/webm")})
    assert confirmation.status_code == 200, confirmation.text
    assert "Ghi âm từ micrô: ghi-am.webm" in text_of(confirmation.text)
    token = dict(hidden_fields(confirmation.text))["recording"]
    assert len(token) > 20
    assert send(client, confirmation.text).status_code == 303
    (row,) = emergencies(container)
    uow = container.uow()
    with uow:
        asset = uow.audio.get(row.audio_id)
    assert asset.kind == "upload" and asset.status is AssetStatus.READY and asset.duration_ms > 2000
    assert not any((container.settings.data_dir / "emergency-work").glob("recording-*"))  # handed over, then removed
    not_audio = confirm(client, {"areas": HOAN_KIEM, "reason": "Sạt lở", "source": "recording"},
                        files={"recording_file": ("ghi-am.webm", b"day khong phai am thanh" * 50, "audio/webm")})
    assert not_audio.status_code == 422 and "Sẽ phát trên" not in not_audio.text


def test_a_one_word_recording_is_a_warning_like_any_other(container, client, commune, tmp_path):
    """"Cháy!" lasts under the library's one-second minimum; a warning is never refused for being short."""
    require_binary("ffmpeg")
    word = generate(tmp_path / "chay.webm", kind="speechlike", seconds=0.7)
    sign_in(client, "khan-cap-hk")
    confirmation = confirm(client, {"areas": HOAN_KIEM, "reason": "Cháy chợ", "source": "recording"},
                           files={"recording_file": ("chay.webm", word.read_bytes(), "audio/webm")})
    assert confirmation.status_code == 200 and "Sẽ phát trên" in text_of(confirmation.text), confirmation.text
    assert send(client, confirmation.text).status_code == 303
    assert len(emergencies(container)) == 1


def test_the_reach_counters_count_devices_by_their_acks(container, client, commune):
    sign_in(client, "khan-cap-hk")
    sent = send(client, confirm(client, {"areas": HOAN_KIEM, "reason": "Lũ", "source": "asset",
                                         "audio_id": str(commune["asset"])}).text)
    (row,) = emergencies(container)
    fragment = client.get(f"/khan-cap/{row.id}/phu-song", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s' in fragment.text and "<html" not in fragment.text
    counts = dict(re.findall(r'data-count="([a-z-]+)">(\d+)<', fragment.text))
    assert counts == {"received": "0", "sounding": "0", "not-reached": "4"}

    now = container.clock.now()
    stages = {"hk-v0": ["received", "ready", "playing"], "hk-v1": ["received", "playing", "played"],
              "hk-0": ["received"], "cn-0": ["received", "playing"]}  # cn-0 was not sent this command
    times = {"playing": {"started_at": now}, "played": {"started_at": now, "ended_at": now}}
    DeliveryInbox(container.uow).handle([
        as_received(protocol.build_ack(device, protocol.command_ref(row.cmd_id), stage, at=now,
                                       **times.get(stage, {})), now)
        for device, device_stages in stages.items() for stage in device_stages])
    fragment = client.get(f"/khan-cap/{row.id}/phu-song").text
    counts = dict(re.findall(r'data-count="([a-z-]+)">(\d+)<', fragment))
    assert counts == {"received": "3", "sounding": "2", "not-reached": "1"}
    assert "trên 4 thiết bị" in text_of(fragment)
    assert sent.headers["location"] == f"/khan-cap/{row.id}"


def test_stop_through_the_page_ends_the_polling(container, client, commune):
    sign_in(client, "khan-cap-hk")
    send(client, confirm(client, {"areas": HOAN_KIEM, "reason": "Lũ", "source": "asset",
                                  "audio_id": str(commune["asset"])}).text)
    (row,) = emergencies(container)
    live = client.get(f"/khan-cap/{row.id}").text
    stopped = client.post(f"/khan-cap/{row.id}/dung", data={"csrf_token": csrf_of(live)}, follow_redirects=False)
    assert stopped.status_code == 303 and stopped.headers["location"] == f"/khan-cap/{row.id}"
    (row,) = emergencies(container)
    assert row.status == "stopped" and row.stop_cmd_id is not None
    with container.engine.connect() as connection:
        (document,) = connection.scalars(select(CommandPublicationRow.document)
                                         .where(CommandPublicationRow.cmd_id == row.stop_cmd_id))
    assert document["action"] == "stop" and document["ref_cmd_id"] == row.cmd_id
    assert [a.actor for a in audited(container, "emergency.stop")] == ["khan-cap-hk"]
    after = client.get(f"/khan-cap/{row.id}").text
    assert "Đã gửi lệnh dừng phát" in after and "Dừng phát</button>" not in after and "đã dừng" in after
    assert "hx-trigger" not in client.get(f"/khan-cap/{row.id}/phu-song").text
    again = client.post(f"/khan-cap/{row.id}/dung", data={"csrf_token": csrf_of(after)}, follow_redirects=False)
    assert again.status_code == 303 and "đã được dừng trước đó" in client.get(f"/khan-cap/{row.id}").text
    assert len(audited(container, "emergency.stop")) == 1


def test_a_viewer_sees_emergencies_without_controls(container, client, commune):
    sign_in(client, "khan-cap-hk")
    send(client, confirm(client, {"areas": HOAN_KIEM, "reason": "Lũ", "source": "asset",
                                  "audio_id": str(commune["asset"])}).text)
    (row,) = emergencies(container)
    client.cookies.clear()
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    listing = client.get("/khan-cap").text
    assert "không có quyền phát khẩn cấp" in listing and 'action="/khan-cap/noi-dung"' not in listing
    assert f'href="/khan-cap/{row.id}"' in listing
    live = client.get(f"/khan-cap/{row.id}").text
    assert "Dừng phát</button>" not in live and "Mức phủ sóng" in live
    refused = client.post(f"/khan-cap/{row.id}/dung", data={"csrf_token": csrf_of(live)}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/khan-cap/noi-dung", params={"areas": HOAN_KIEM}).status_code == 403
    assert emergencies(container)[0].status == "active"


def test_an_operator_of_another_commune_can_neither_see_nor_send(container, client, commune):
    sign_in(client, "khan-cap-hk")
    send(client, confirm(client, {"areas": HOAN_KIEM, "reason": "Lũ", "source": "asset",
                                  "audio_id": str(commune["asset"])}).text)
    (row,) = emergencies(container)
    client.cookies.clear()
    add_user(container, "khan-cap-cn", "emergency_operator", CUA_NAM)
    sign_in(client, "khan-cap-cn")
    page = client.get("/khan-cap").text
    assert f'value="{HOAN_KIEM}"' not in page and 'value="hk-0"' not in page and f"/khan-cap/{row.id}" not in page
    assert client.get(f"/khan-cap/{row.id}").status_code == 403
    assert client.get(f"/khan-cap/{row.id}/phu-song").status_code == 403
    assert client.get("/khan-cap/noi-dung", params={"areas": HOAN_KIEM}).status_code == 403
    forged = client.post("/khan-cap/gui", data={"csrf_token": csrf_of(page), "areas": HOAN_KIEM, "reason": "Giả",
                                                "source": "asset", "audio_id": str(commune["asset"])})
    assert forged.status_code == 403
    assert client.post(f"/khan-cap/{row.id}/dung", data={"csrf_token": csrf_of(page)}).status_code == 403
    assert len(emergencies(container)) == 1 and emergencies(container)[0].status == "active"
    with container.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(AuditRow)
                                 .where(AuditRow.actor == "khan-cap-cn", AuditRow.action.like("emergency.%"))) == 0


def test_the_menu_links_the_emergency_page_for_operators_only(container, client, commune):
    sign_in(client, "khan-cap-hk")
    assert '<a href="/khan-cap"' in client.get("/").text
    client.cookies.clear()
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    home = client.get("/").text
    assert '<a href="/khan-cap"' not in home and '<a href="/thiet-bi"' in home
