"""The library page over the real app, real ffmpeg and espeak-ng and both databases: upload through the page's own
endpoint (plain form and script), the render and its loudness figures, the voice preview and text-to-speech, the
vocabularies with Vietnamese labels, who sees which controls, and the missing area_code answered for what it is."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.app import HANOI, HOAN_KIEM, VUNG_TAU, add_user, user
from tests.support.audio_fixtures import generate, require_binary
from tests.support.web import csrf_of, sign_in

pytestmark = pytest.mark.integration
SCRIPT = {"X-Requested-With": "XMLHttpRequest"}


@pytest.fixture(autouse=True)
def _audio_tools():
    require_binary("ffmpeg")
    require_binary("ffprobe")


def text_of(html: str) -> str:
    """What a person reads: tags (and the codes in their attributes) dropped."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def stored_assets(container):
    uow = container.uow()
    with uow:
        return uow.audio.list(within_areas=None, status=None, topic=None, language=None, limit=100, offset=0)


def upload(client, files: list[Path], *, headers=None, **fields):
    page = client.get("/thu-vien")
    data = {"csrf_token": csrf_of(page.text), "title": "", "area_code": HOAN_KIEM, "topic": "grassroots_mediation",
            "language": "vi", "profile": "speech", **fields}
    parts = [("file", (f.name, f.read_bytes(), "audio/ogg")) for f in files]
    return client.post("/thu-vien/tai-len", data=data, files=parts, headers=headers or {}, follow_redirects=False)


@pytest.fixture
def editor(container, client):
    add_user(container, "can-bo-hk", "editor", HOAN_KIEM)
    assert sign_in(client, "can-bo-hk").status_code == 303


@pytest.fixture
def sounds(tmp_path) -> list[Path]:
    return [generate(tmp_path / "hoa-giai.ogg", kind="speechlike", seconds=3, rate=16000, lufs=-30),
            generate(tmp_path / "giao-thong.wav", kind="speechlike", seconds=2, rate=16000, lufs=-20)]


def test_several_files_through_the_plain_form_are_rendered_with_their_loudness(container, client, editor, sounds):
    posted = upload(client, sounds, title="Luật Hòa giải ở cơ sở")
    assert posted.status_code == 303 and posted.headers["location"] == "/thu-vien"
    page = client.get("/thu-vien").text
    assert "Đã tải lên 2 tệp" in page
    assert "Luật Hòa giải ở cơ sở (1)" in page and "Luật Hòa giải ở cơ sở (2)" in page
    assert 'hx-trigger="every 2s"' in page or "Sẵn sàng" in page  # cards poll while processing

    assert container.jobs.drain(timeout=240)
    page = client.get("/thu-vien").text
    words = text_of(page.split("data-assets", 1)[1])  # the cards, not the filters' options
    assert words.count("Sẵn sàng") == 2 and 'hx-trigger="every' not in page  # ready: the polling stops
    for asset in stored_assets(container):  # the figures the render measured, with a decimal comma
        loud = asset.loudness
        assert -18 < loud["output_lufs"] < -15 and loud["output_true_peak_dbtp"] <= -1.5
        for label, value, unit in (("Độ to", loud["output_lufs"], "LUFS"), ("Đỉnh thực", loud["output_true_peak_dbtp"],
                                   "dBTP"), ("Độ to bản gốc", loud["input_lufs"], "LUFS")):
            assert f"{label} {value:.1f} {unit}".replace(".", ",") in words, (label, value)
    assert "Hòa giải ở cơ sở · Tiếng Việt · Phường Hoàn Kiếm" in words
    players = re.findall(r'<audio controls preload="none" src="(/media/[0-9a-f]{64}\.mp3)"', page)
    assert len(players) == 2
    media = client.get(players[0])
    assert media.status_code == 200 and media.headers["content-type"] == "audio/mpeg"


class Held:
    """A job queue that keeps the renders until the test lets them run: "processing" lasts as long as needed."""

    def __init__(self):
        self.jobs = []

    def submit(self, job):
        self.jobs.append(job)

    def run(self):
        for job in self.jobs:
            job()


def test_the_script_gets_each_file_s_card_which_polls_until_ready(container, client, editor, sounds, monkeypatch):
    held = Held()
    monkeypatch.setattr(container, "jobs", held)  # the real queue is back before the container closes
    sent = upload(client, sounds[:1], headers=SCRIPT, title="Tin giao thông")
    assert sent.status_code == 202, sent.text
    asset_id = int(re.search(r'id="tep-(\d+)"', sent.text).group(1))
    assert "<html" not in sent.text and "Đang xử lý" in sent.text
    assert f'hx-get="/thu-vien/{asset_id}/the" hx-trigger="every 2s"' in sent.text
    assert 'hx-select="#tep-chi-tiet" hx-trigger="every 2s"' in client.get(f"/thu-vien/{asset_id}").text
    held.run()
    card = client.get(f"/thu-vien/{asset_id}/the", headers={"HX-Request": "true"})
    assert card.status_code == 200 and "Sẵn sàng" in card.text and "hx-trigger" not in card.text
    detail = client.get(f"/thu-vien/{asset_id}").text
    assert "hx-trigger" not in detail
    detail = text_of(detail)
    for figure in ("Thời lượng 0:03", "Đỉnh thực", "dBTP", "Mức điều chỉnh", "Tên tệp gốc hoa-giai.ogg"):
        assert figure in detail, figure

    refused = upload(client, [], headers=SCRIPT)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "file_required"


def test_a_file_that_is_not_sound_fails_with_its_reason(container, client, editor, tmp_path):
    fake = tmp_path / "bai-doc.mp3"
    fake.write_bytes(b"ID3" + bytes(range(256)) * 40)
    sent = upload(client, [fake], headers=SCRIPT)
    assert sent.status_code == 422 and sent.json()["error"]["message"]  # refused before any row, said in Vietnamese
    plain = upload(client, [fake])
    assert plain.status_code == 422 and "bai-doc.mp3:" in text_of(plain.text)


def test_a_missing_area_code_is_named_not_taken_for_a_missing_right(container, client, editor, sounds):
    """Before: 'không có quyền quản lý tài khoản' (403) for an upload that simply left area_code out."""
    api_editor = user(container, client, "bien-tap-api", "editor", HOAN_KIEM)
    with sounds[0].open("rb") as fh:
        answer = client.post("/api/v1/audio", headers=api_editor.headers, data={"title": "Thiếu khu vực"},
                             files={"file": (sounds[0].name, fh, "audio/ogg")})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "area_code_required" and "area_code" in error["message"]
    assert "quản lý tài khoản" not in error["message"]
    assert error["details"] == [{"field": "area_code", "problem": "missing"}]
    tts = client.post("/api/v1/audio/tts", headers=api_editor.headers, json={"text": "Xin chào", "title": "Thử"})
    assert tts.status_code == 422 and tts.json()["error"]["code"] == "area_code_required"

    page = upload(client, sounds[:1], area_code="")
    assert page.status_code == 422
    assert "Thiếu khu vực của tệp âm thanh (trường area_code)" in page.text
    assert upload(client, sounds[:1], area_code="", headers=SCRIPT).json()["error"]["code"] == "area_code_required"

    admin = user(container, client, "quan-tri", "admin", HANOI)  # the shared library stays the admins' choice
    with sounds[0].open("rb") as fh:
        shared = client.post("/api/v1/audio", headers=admin.headers, data={"title": "Nhạc hiệu chung"},
                             files={"file": (sounds[0].name, fh, "audio/ogg")})
    assert shared.status_code == 202 and shared.json()["area_code"] is None
    assert container.jobs.drain(timeout=240)


def test_vocabularies_come_with_vietnamese_labels_and_pages_show_only_labels(container, client, editor):
    api_user = user(container, client, "xem-api", "viewer", HOAN_KIEM)
    assert client.get("/api/v1/vocabularies").status_code == 401
    found = client.get("/api/v1/vocabularies", headers=api_user.headers).json()
    assert {"code": "grassroots_mediation", "label": "Hòa giải ở cơ sở"} in found["topics"]
    assert {"code": "km", "label": "Tiếng Khmer"} in found["languages"]
    assert {"code": "justice", "label": "Sở Tư pháp"} in found["sources"]
    assert {"code": "vi-vn-x-south", "label": "Giọng miền Nam"} in found["voices"]
    assert [p["label"] for p in found["priorities"]] == ["thông thường", "ưu tiên", "khẩn cấp"]
    assert all(set(c) == {"code", "label"} for values in found.values() for c in values)

    page = client.get("/thu-vien").text
    words = text_of(page)
    assert "Hòa giải ở cơ sở" in words and "Tiếng Khmer" in words and "Giọng miền Trung" in words
    for code in ("grassroots_mediation", "road_traffic", "vi-vn-x-south", "mtq"):
        assert code not in words and f'value="{code}"' in page  # in the form, never in what a person reads


def test_read_aloud_preview_then_save(container, client, editor):
    require_binary("espeak-ng")
    csrf = csrf_of(client.get("/thu-vien").text)
    text = "Thông báo về việc hòa giải ở cơ sở. " * 30
    heard = client.post("/thu-vien/doc-thu", data={"csrf_token": csrf, "text": text, "voice": "vi-vn-x-south"})
    assert heard.status_code == 200 and heard.headers["content-type"] == "audio/wav"
    assert heard.content[:4] == b"RIFF" and heard.headers["cache-control"] == "no-store"
    empty = client.post("/thu-vien/doc-thu", data={"csrf_token": csrf, "text": " ", "voice": "vi"}, headers=SCRIPT)
    assert empty.status_code == 422 and empty.json()["error"]["message"]
    assert not list((container.settings.data_dir / "uploads").glob("preview-*"))  # stored nowhere

    saved = client.post("/thu-vien/doc-van-ban", follow_redirects=False, data={
        "csrf_token": csrf, "title": "Thông báo hòa giải", "text": text[:200], "voice": "vi-vn-x-south",
        "area_code": HOAN_KIEM, "topic": "grassroots_mediation"})
    assert saved.status_code == 303 and saved.headers["location"].startswith("/thu-vien#tep-")
    asset_id = int(saved.headers["location"].rsplit("-", 1)[1])
    assert container.jobs.drain(timeout=240)
    detail = text_of(client.get(f"/thu-vien/{asset_id}").text)
    assert "Sẵn sàng" in detail and "Giọng đọc Giọng miền Nam" in detail and "Đọc từ văn bản" in detail

    wrong = client.post("/thu-vien/doc-van-ban", data={"csrf_token": csrf, "title": "Giọng lạ", "text": "Xin chào",
                                                      "voice": "klingon", "area_code": HOAN_KIEM, "topic": "news"})
    assert wrong.status_code == 422 and "Giọng đọc không hợp lệ" in wrong.text
    assert "Xin chào</textarea>" in wrong.text  # the officer's text is kept


def test_a_viewer_listens_but_adds_nothing(container, client, editor, sounds):
    sent = upload(client, sounds[:1], headers=SCRIPT, title="Tin giao thông")
    asset_id = int(re.search(r'id="tep-(\d+)"', sent.text).group(1))
    assert container.jobs.drain(timeout=240)
    client.cookies.clear()
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    page = client.get("/thu-vien").text
    assert "Tin giao thông" in page and '<audio controls preload="none" src="/media/' in page
    for control in ('action="/thu-vien/tai-len"', 'action="/thu-vien/doc-van-ban"', "data-recorder", "/xoa"):
        assert control not in page, control
    assert "/xoa" not in client.get(f"/thu-vien/{asset_id}").text
    csrf = csrf_of(page)
    assert upload(client, sounds[:1]).status_code == 403
    assert client.post("/thu-vien/doc-thu", data={"csrf_token": csrf, "text": "Xin chào"}).status_code == 403
    assert client.post(f"/thu-vien/{asset_id}/xoa", data={"csrf_token": csrf}).status_code == 403


def test_an_editor_of_another_commune_is_refused(container, client, editor, sounds):
    sent = upload(client, sounds[:1], headers=SCRIPT, title="Tin riêng Hoàn Kiếm")
    asset_id = int(re.search(r'id="tep-(\d+)"', sent.text).group(1))
    assert container.jobs.drain(timeout=240)
    client.cookies.clear()
    add_user(container, "can-bo-vt", "editor", VUNG_TAU)
    sign_in(client, "can-bo-vt")
    assert "Tin riêng Hoàn Kiếm" not in client.get("/thu-vien").text
    assert client.get(f"/thu-vien/{asset_id}").status_code == 403
    into_other = upload(client, sounds[:1], area_code=HOAN_KIEM)
    assert into_other.status_code == 403 and "không có quyền quản lý tệp âm thanh" in into_other.text
    csrf = csrf_of(client.get("/thu-vien").text)
    assert client.post(f"/thu-vien/{asset_id}/xoa", data={"csrf_token": csrf}).status_code == 403
    assert upload(client, sounds[:1], headers={"X-CSRF-Token": "forged"}, csrf_token="forged").status_code == 403


def test_the_owner_deletes_an_unused_asset(container, client, editor, sounds):
    sent = upload(client, sounds[:1], headers=SCRIPT, title="Bản nháp")
    asset_id = int(re.search(r'id="tep-(\d+)"', sent.text).group(1))
    assert container.jobs.drain(timeout=240)
    detail = client.get(f"/thu-vien/{asset_id}").text
    gone = client.post(f"/thu-vien/{asset_id}/xoa", data={"csrf_token": csrf_of(detail)}, follow_redirects=False)
    assert gone.status_code == 303
    assert "Đã xóa tệp “Bản nháp”" in client.get("/thu-vien").text
    assert client.get(f"/thu-vien/{asset_id}").status_code == 404
