"""The programmes pages over the real app and both databases: a programme made from ordered library audio with its
class and legal references, edited until a schedule uses it and copied after, province programmes that communes
reuse, title search without diacritics, and who may see or change what."""
from __future__ import annotations

import re

import pytest

from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, VUNG_TAU, add_user, user
from tests.support.audio_fixtures import generate, require_binary
from tests.support.web import csrf_of, sign_in

pytestmark = pytest.mark.integration


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def stream_programme(client, who, title: str, area: str, priority: str = "normal") -> int:
    created = client.post("/api/v1/programmes", headers=who.headers, json={
        "title": title, "area_code": area, "topic": "grassroots_mediation", "priority": priority,
        "stream_url": "http://127.0.0.1:9/vov1", "stream_duration_s": 1800})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def post_programme(client, path: str, fields: dict[str, str]):
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path.split("?")[0], data={"csrf_token": csrf_of(page.text), **fields}, follow_redirects=False)


@pytest.fixture
def people(container, client):
    found = {"editor": user(container, client, "can-bo-hk", "editor", HOAN_KIEM),
             "province": user(container, client, "can-bo-so", "editor", HANOI)}
    client.cookies.clear()  # the API logins above set no cookie, but be sure the page session is the test's
    return found


@pytest.fixture
def library(container, client, people, tmp_path) -> dict[str, int]:
    """Two ready assets of Hoàn Kiếm, uploaded through the API."""
    require_binary("ffmpeg")
    ids = {}
    for name, seconds in (("mo-dau", 2), ("noi-dung", 3)):
        source = generate(tmp_path / f"{name}.wav", kind="speechlike", seconds=seconds, rate=16000)
        with source.open("rb") as fh:
            sent = client.post("/api/v1/audio", headers=people["editor"].headers, files={"file": (source.name, fh)},
                               data={"title": f"Tệp {name}", "area_code": HOAN_KIEM, "topic": "grassroots_mediation"})
        assert sent.status_code == 202, sent.text
        ids[name] = sent.json()["id"]
    assert container.jobs.drain(timeout=240)
    return ids


def test_a_programme_of_ordered_audio_with_class_and_legal_basis(container, client, people, library):
    sign_in(client, "can-bo-hk")
    form = client.get("/chuong-trinh/moi").text
    words = text_of(form)
    for label in ("Thông thường", "Ưu tiên", "Khẩn cấp", "Hòa giải ở cơ sở", "Sở Tư pháp", "Tệp mo-dau · 0:02"):
        assert label in words, label
    assert 'name="item_1"' in form and 'name="item_3"' in form and "grassroots_mediation" not in words

    created = post_programme(client, "/chuong-trinh/moi", {
        "title": "Tuyên truyền Luật Hòa giải ở cơ sở", "area_code": HOAN_KIEM, "priority": "priority",
        "topic": "grassroots_mediation", "language": "vi", "source": "justice", "content": "audio",
        "item_1": str(library["noi-dung"]), "item_2": "", "item_3": str(library["mo-dau"]),
        "law_1": "Luật Hòa giải ở cơ sở", "number_1": "35/2013/QH13", "article_1": "Điều 9"})
    assert created.status_code == 303, created.text
    programme_id = int(created.headers["location"].rsplit("/", 1)[1])
    stored = client.get(f"/api/v1/programmes/{programme_id}", headers=people["editor"].headers).json()
    assert stored["audio_ids"] == [library["noi-dung"], library["mo-dau"]]  # the numbered fields' order, gaps dropped
    assert stored["priority"] == "priority" and stored["source"] == "justice"
    assert stored["legal_refs"] == [{"law": "Luật Hòa giải ở cơ sở", "number": "35/2013/QH13", "article": "Điều 9"}]

    detail = client.get(f"/chuong-trinh/{programme_id}").text
    words = text_of(detail)
    assert "Đã tạo chương trình “Tuyên truyền Luật Hòa giải ở cơ sở”" in words
    assert "Phân loại Ưu tiên" in words and "Nguồn Sở Tư pháp" in words
    assert "Luật Hòa giải ở cơ sở số 35/2013/QH13, Điều 9" in words
    assert "2 tệp, phát lần lượt theo thứ tự, tổng 0:05" in words
    assert words.index("Tệp noi-dung") < words.index("Tệp mo-dau")
    assert len(re.findall(r'<audio controls preload="none" src="/media/[0-9a-f]{64}\.mp3"', detail)) == 2


def test_an_unused_programme_is_edited_and_a_used_one_is_copied(container, client, people, library):
    sign_in(client, "can-bo-hk")
    made = post_programme(client, "/chuong-trinh/moi", {
        "title": "Bản tin sáng", "area_code": HOAN_KIEM, "priority": "normal", "topic": "news", "language": "vi",
        "source": "commune", "content": "audio", "item_1": str(library["mo-dau"]), "item_2": str(library["noi-dung"])})
    programme_id = int(made.headers["location"].rsplit("/", 1)[1])
    edit_page = client.get(f"/chuong-trinh/{programme_id}/sua").text
    assert 'value="Bản tin sáng"' in edit_page
    assert re.search(rf'name="item_1">.*?<option value="{library["mo-dau"]}" selected', edit_page, re.S)

    moved = post_programme(client, f"/chuong-trinh/{programme_id}/sua", {
        "title": "Bản tin sáng", "area_code": HOAN_KIEM, "priority": "emergency", "topic": "news", "language": "vi",
        "source": "commune", "content": "audio", "item_1": str(library["noi-dung"]), "item_2": str(library["mo-dau"])})
    assert moved.status_code == 303
    stored = client.get(f"/api/v1/programmes/{programme_id}", headers=people["editor"].headers).json()
    assert stored["audio_ids"] == [library["noi-dung"], library["mo-dau"]] and stored["priority"] == "emergency"

    schedule = client.post("/api/v1/schedules", headers=people["editor"].headers, json={
        "programme_id": programme_id, "targets": {"areas": [HOAN_KIEM]}, "start": "2026-12-01T07:00"})
    assert schedule.status_code == 201, schedule.text
    refused = post_programme(client, f"/chuong-trinh/{programme_id}/sua", {
        "title": "Bản tin sáng đổi", "area_code": HOAN_KIEM, "priority": "normal", "topic": "news", "language": "vi",
        "source": "commune", "content": "audio", "item_1": str(library["mo-dau"])})
    assert refused.status_code == 409
    assert "hãy tạo bản sao rồi sửa bản sao" in refused.text and f"/chuong-trinh/moi?tu={programme_id}" in refused.text
    api = client.put(f"/api/v1/programmes/{programme_id}", headers=people["editor"].headers, json={
        "title": "x", "area_code": HOAN_KIEM, "audio_ids": [library["mo-dau"]]})
    assert api.status_code == 409 and api.json()["error"]["code"] == "programme_in_use"

    copy_form = client.get(f"/chuong-trinh/moi?tu={programme_id}").text
    assert "Bản sao của “Bản tin sáng”" in copy_form and 'action="/chuong-trinh/moi"' in copy_form
    copied = post_programme(client, f"/chuong-trinh/moi?tu={programme_id}", {
        "title": "Bản tin sáng (sửa)", "area_code": HOAN_KIEM, "priority": "normal", "topic": "news",
        "language": "vi", "source": "commune", "content": "audio", "item_1": str(library["mo-dau"])})
    assert copied.status_code == 303 and copied.headers["location"] != f"/chuong-trinh/{programme_id}"
    assert client.get(f"/api/v1/programmes/{programme_id}",
                      headers=people["editor"].headers).json()["title"] == "Bản tin sáng"


def test_communes_reuse_their_province_programmes(container, client, people):
    shared = stream_programme(client, people["province"], "Bản tin Sở Tư pháp Hà Nội", HANOI, "priority")
    own = stream_programme(client, people["editor"], "Tin riêng Hoàn Kiếm", HOAN_KIEM)
    add_user(container, "can-bo-cn", "editor", CUA_NAM)
    sign_in(client, "can-bo-cn")
    listing = text_of(client.get("/chuong-trinh").text)
    assert "Bản tin Sở Tư pháp Hà Nội" in listing and "của tỉnh, xã dùng lại được" in listing
    assert "Tin riêng Hoàn Kiếm" not in listing  # a sibling commune's own programme stays its own
    detail = client.get(f"/chuong-trinh/{shared}").text
    assert f'href="/lich-phat/moi?chuong_trinh={shared}"' in detail and "Lập lịch phát" in detail
    assert f"/chuong-trinh/{shared}/sua" not in detail and "Tạo bản sao" not in detail
    assert client.get(f"/chuong-trinh/{shared}/sua").status_code == 403
    assert client.get(f"/chuong-trinh/{own}").status_code == 403
    only_province = text_of(client.get(f"/chuong-trinh?khu_vuc={HANOI}").text)
    assert "Bản tin Sở Tư pháp Hà Nội" in only_province

    api_user = user(container, client, "xem-cn", "viewer", CUA_NAM)  # the API lists what the page lists
    assert [p["id"] for p in client.get("/api/v1/programmes", headers=api_user.headers).json()] == [shared]
    outsider = user(container, client, "can-bo-vt", "editor", VUNG_TAU)
    assert client.get("/api/v1/programmes", headers=outsider.headers).json() == []
    assert client.get("/api/v1/programmes", params={"area_code": HANOI},
                      headers=outsider.headers).status_code == 403


def test_titles_are_found_without_diacritics(container, client, people):
    stream_programme(client, people["editor"], "Luật Hòa giải ở cơ sở", HOAN_KIEM)
    stream_programme(client, people["editor"], "Phòng chống đuối nước", HOAN_KIEM)
    sign_in(client, "can-bo-hk")
    found = text_of(client.get("/chuong-trinh", params={"q": "hoa giai"}).text)
    assert "Luật Hòa giải ở cơ sở" in found and "Phòng chống đuối nước" not in found
    found = text_of(client.get("/chuong-trinh", params={"q": "DUOI NUOC"}).text)
    assert "Phòng chống đuối nước" in found and "Luật Hòa giải" not in found
    assert "Không có chương trình nào khớp" in client.get("/chuong-trinh", params={"q": "bầu cử"}).text
    api = client.get("/api/v1/programmes", params={"q": "hòa GIẢI"}, headers=people["editor"].headers).json()
    assert [p["title"] for p in api] == ["Luật Hòa giải ở cơ sở"]


def test_a_stream_programme_and_the_form_s_own_errors(container, client, people):
    sign_in(client, "can-bo-hk")
    base = {"title": "Tiếp sóng VOV1", "area_code": HOAN_KIEM, "priority": "normal", "topic": "news",
            "language": "vi", "source": "central"}
    empty = post_programme(client, "/chuong-trinh/moi", {**base, "content": "audio", "law_1": "Luật Báo chí"})
    assert empty.status_code == 422 and "Cần chọn ít nhất một tệp âm thanh." in empty.text
    assert 'value="Tiếp sóng VOV1"' in empty.text and 'value="Luật Báo chí"' in empty.text  # kept as typed
    minutes = post_programme(client, "/chuong-trinh/moi", {**base, "content": "stream",
                                                          "stream_url": "https://vov.vn/vov1", "stream_minutes": "0"})
    assert minutes.status_code == 422 and "Thời lượng tiếp sóng phải từ 1 đến 240 phút." in minutes.text
    made = post_programme(client, "/chuong-trinh/moi", {**base, "content": "stream",
                                                       "stream_url": "https://vov.vn/vov1", "stream_minutes": "30"})
    assert made.status_code == 303
    detail = text_of(client.get(made.headers["location"]).text)
    assert "Tiếp sóng luồng https://vov.vn/vov1 trong 30 phút." in detail


def test_viewers_read_and_other_communes_are_refused(container, client, people):
    own = stream_programme(client, people["editor"], "Tin riêng Hoàn Kiếm", HOAN_KIEM)
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    sign_in(client, "xem-hk")
    page = client.get("/chuong-trinh").text
    assert "Tin riêng Hoàn Kiếm" in page and "/chuong-trinh/moi" not in page
    detail = client.get(f"/chuong-trinh/{own}").text
    assert "Tiếp sóng luồng" in detail and "/sua" not in detail and "Tạo bản sao" not in detail
    assert client.get("/chuong-trinh/moi").status_code == 403
    csrf = csrf_of(page)
    assert client.post("/chuong-trinh/moi", data={"csrf_token": csrf, "title": "x", "area_code": HOAN_KIEM,
                                                 "content": "stream", "stream_url": "https://vov.vn/vov1",
                                                 "stream_minutes": "5"}).status_code == 403

    client.cookies.clear()
    add_user(container, "can-bo-cn", "editor", CUA_NAM)
    sign_in(client, "can-bo-cn")
    assert client.get(f"/chuong-trinh/{own}/sua").status_code == 403
    into_other = post_programme(client, "/chuong-trinh/moi", {
        "title": "Sang xã khác", "area_code": HOAN_KIEM, "content": "stream", "stream_url": "https://vov.vn/vov1",
        "stream_minutes": "5"})
    assert into_other.status_code == 403
    form = client.get("/chuong-trinh/moi").text
    assert f'value="{HOAN_KIEM}"' not in form and f'value="{CUA_NAM}"' in form  # its own commune only
