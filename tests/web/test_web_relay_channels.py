"""The relay channel page under administration: admins see each station with its last probe, add, change, probe
and remove channels; others are refused (SQLite and PostgreSQL, the real app)."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from broadcast.domain.relay_channels import ChannelDraft, ProbeResult
from broadcast.services.context import Actor
from broadcast.services.relay_channels import create_channel
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, add_user
from tests.support.http_servers import closed_port
from tests.support.web import post_form, sign_in

pytestmark = pytest.mark.integration
PAGE = "/quan-tri/kenh-tiep-song"
MORNING = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def admins(container, clock):
    clock.current = MORNING
    add_user(container, "quan-tri", "admin", HANOI)
    add_user(container, "xem-cn", "viewer", CUA_NAM)


def channel_id(container, name: str) -> int:
    uow = container.uow()
    with uow:
        found = uow.relay_channels.by_name(name)
        assert found is not None
        return found.id


def test_only_admins_open_the_page_and_it_is_linked_from_administration(client, admins):
    sign_in(client, "xem-cn")
    refused = client.get(PAGE)
    assert refused.status_code == 403 and "không có quyền" in refused.text
    client.cookies.clear()
    sign_in(client, "quan-tri")
    assert PAGE in client.get("/quan-tri").text
    page = client.get(PAGE)
    assert page.status_code == 200 and "Chưa có kênh nào." in text_of(page.text)


def test_an_admin_adds_changes_probes_and_removes_a_channel(container, client, admins):
    sign_in(client, "quan-tri")
    bad = post_form(client, PAGE, PAGE, {"ten": "VOV1", "dia_chi": "vov1", "loai": "vov"})
    assert bad.status_code == 422 and "http:// hoặc https://" in text_of(bad.text)
    assert 'value="vov1"' in bad.text  # what was typed stays in the form

    dead_url = f"http://127.0.0.1:{closed_port()}/vov1.mp3"
    added = post_form(client, PAGE, PAGE, {"ten": "VOV1 Thời sự", "dia_chi": dead_url, "loai": "vov"})
    assert added.status_code == 303
    page = text_of(client.get(PAGE).text)
    assert "Đã thêm kênh “VOV1 Thời sự”" in page and "Chưa kiểm tra" in page
    cid = channel_id(container, "VOV1 Thời sự")

    probed = post_form(client, PAGE, f"{PAGE}/{cid}", {"thao_tac": "kiem_tra", "ten": "", "dia_chi": "", "loai": ""})
    assert probed.status_code == 303
    page = text_of(client.get(PAGE).text)
    assert "Kênh “VOV1 Thời sự” không nghe được." in page and "Không nghe được" in page
    assert "28/11/2026" in page  # the probe time, local date

    # A probe found the stream: shown with its codec and bitrate.
    uow = container.uow()
    with uow:
        uow.relay_channels.record_probe(cid, dead_url, ProbeResult(MORNING, True, codec="mp3", bitrate_kbps=64))
        uow.commit()
    page = text_of(client.get(PAGE).text)
    assert "Đang phát" in page and "MP3 64 kbit/s" in page

    saved = post_form(client, PAGE, f"{PAGE}/{cid}", {"thao_tac": "luu", "ten": "Đài Hà Nội",
                                                       "dia_chi": "http://127.0.0.1:9/hn.mp3", "loai": "provincial"})
    assert saved.status_code == 303
    page = text_of(client.get(PAGE).text)
    assert "Đã lưu kênh “Đài Hà Nội”." in page and "Chưa kiểm tra" in page  # a new address, not yet probed

    removed = post_form(client, PAGE, f"{PAGE}/{cid}", {"thao_tac": "xoa"})
    assert removed.status_code == 303
    assert "Đã xóa kênh tiếp sóng." in text_of(client.get(PAGE).text)
    assert "Đài Hà Nội" not in text_of(client.get(PAGE).text)


def test_an_editor_picks_a_channel_in_the_programme_form(container, client, admins):
    channel = create_channel(container.uow(), container.clock, Actor(None),
                             ChannelDraft("VOV1 Thời sự", "http://127.0.0.1:9/vov1.mp3", "vov"))
    add_user(container, "can-bo-hk", "editor", HOAN_KIEM)
    sign_in(client, "can-bo-hk")
    form = client.get("/chuong-trinh/moi").text
    assert f'<option value="{channel.id}">VOV1 Thời sự</option>' in form
    base = {"title": "Tiếp sóng VOV1 buổi sáng", "area_code": HOAN_KIEM, "priority": "normal", "topic": "news",
            "language": "vi", "source": "central", "content": "stream"}
    neither = post_form(client, "/chuong-trinh/moi", "/chuong-trinh/moi", {**base, "stream_minutes": "30"})
    assert neither.status_code == 422 and "Cần chọn kênh tiếp sóng hoặc nhập địa chỉ luồng." in neither.text
    made = post_form(client, "/chuong-trinh/moi", "/chuong-trinh/moi", {**base, "relay_channel": str(channel.id),
                                                       "stream_minutes": "30"})
    assert made.status_code == 303, made.text
    programme_id = int(made.headers["location"].rstrip("/").split("/")[-1])
    uow = container.uow()
    with uow:
        programme = uow.programmes.get(programme_id)
    assert programme is not None
    assert (programme.relay_channel_id, programme.stream_url, programme.stream_duration_ms) == (
        channel.id, "http://127.0.0.1:9/vov1.mp3", 1_800_000)
    edit = client.get(f"/chuong-trinh/{programme_id}/sua").text
    assert f'<option value="{channel.id}" selected>' in edit
