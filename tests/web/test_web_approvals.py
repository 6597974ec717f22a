"""The approvals pages over the real app (SQLite and PostgreSQL, real ffmpeg for the programme's audio): the leader's
inbox with the audio to listen to, approving, rejecting with a reason, ordering an overlap of the same class, and
the four-eyes rule said in words."""
from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest

from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import CUA_NAM, HOAN_KIEM, add_user, user
from tests.support.audio_fixtures import generate
from tests.support.web import approved_schedule, csrf_of, sign_in

pytestmark = pytest.mark.integration
MORNING = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam, Saturday 28/11/2026
AUDIO = re.compile(r'<audio controls preload="none" src="(/media/[0-9a-f]{64}\.mp3)"></audio>')


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def post(client, action: str, data: dict, page: str):
    token = csrf_of(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


@pytest.fixture
def waiting(container, client, clock, tmp_path):
    """A programme with real rendered audio and a weekly schedule for Hoàn Kiếm, submitted by its officer."""
    clock.current = MORNING
    editor = user(container, client, "can-bo-hk", "editor", HOAN_KIEM)
    add_user(container, "chu-tich-hk", "approver", HOAN_KIEM)
    for n in (1, 2):
        register_device(container.uow(), clock, Actor(None), DeviceSpec(f"loa-hk-{n}", f"Cụm loa {n}", HOAN_KIEM))
    wav = generate(tmp_path / "hoa-giai.wav", kind="speechlike", seconds=3, rate=16000)
    with wav.open("rb") as fh:
        asset = client.post("/api/v1/audio", headers=editor.headers, files={"file": ("hoa-giai.wav", fh)},
                            data={"title": "Luật Hòa giải ở cơ sở", "area_code": HOAN_KIEM})
    assert asset.status_code == 202, asset.text
    assert container.jobs.drain(timeout=240)
    ready = client.get(f"/api/v1/audio/{asset.json()['id']}", headers=editor.headers).json()
    assert ready["status"] == "ready", ready
    programme = client.post("/api/v1/programmes", headers=editor.headers, json={
        "title": "Luật Hòa giải ở cơ sở", "area_code": HOAN_KIEM, "topic": "grassroots_mediation",
        "audio_ids": [ready["id"]]}).json()
    created = client.post("/api/v1/schedules", headers=editor.headers, json={
        "programme_id": programme["id"], "targets": {"areas": [HOAN_KIEM]}, "start": "2026-11-30T06:00",
        "rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20261231"}).json()
    assert client.post(f"/api/v1/schedules/{created['id']}/submit", headers=editor.headers).status_code == 200
    return {"editor": editor, "id": created["id"], "sha256": ready["sha256"]}


def status_of(client, who, sid: int) -> dict:
    return client.get(f"/api/v1/schedules/{sid}", headers=who.headers).json()


def test_the_inbox_lets_the_leader_listen_then_approve(container, client, waiting):
    sign_in(client, "chu-tich-hk")
    inbox = client.get("/duyet-lich")
    assert inbox.status_code == 200 and 'href="/duyet-lich"' in inbox.text  # the menu names the page
    words = text_of(inbox.text)
    assert "Luật Hòa giải ở cơ sở" in words and "Thứ Hai, Thứ Tư, Thứ Sáu lúc 06:00, đến 31/12/2026" in words
    assert "tới 2 cụm loa" in words and "can-bo-hk" in words
    sources = AUDIO.findall(inbox.text)
    assert sources == [f"/media/{waiting['sha256']}.mp3"]
    heard = client.get(sources[0])
    assert heard.status_code == 200 and hashlib.sha256(heard.content).hexdigest() == waiting["sha256"]

    sid = waiting["id"]
    unheard = post(client, f"/duyet-lich/{sid}/duyet", {}, "/duyet-lich")
    assert unheard.status_code == 303 and status_of(client, waiting["editor"], sid)["status"] == "submitted"
    assert "Hãy nghe nội dung chương trình" in text_of(client.get(unheard.headers["location"]).text)

    approved = post(client, f"/duyet-lich/{sid}/duyet", {"listened": "1"}, "/duyet-lich")
    assert approved.status_code == 303 and approved.headers["location"] == "/duyet-lich"
    after = text_of(client.get("/duyet-lich").text)
    assert f"Đã duyệt lịch phát số {sid} «Luật Hòa giải ở cơ sở»." in after and "Không có lịch nào chờ duyệt." in after
    stored = status_of(client, waiting["editor"], sid)
    assert stored["status"] == "approved" and stored["approver"] == "chu-tich-hk"


def test_a_rejection_needs_a_reason_and_the_author_reads_it(container, client, waiting):
    sign_in(client, "chu-tich-hk")
    sid = waiting["id"]
    detail = text_of(client.get(f"/duyet-lich/{sid}").text)
    assert "Kiểm tra giờ phát và trùng giờ" in detail and "Số cụm loa nhận lịch 2" in detail
    assert "Không vi phạm quy định giờ phát, không trùng giờ với lịch đã duyệt." in detail
    empty = post(client, f"/duyet-lich/{sid}/tu-choi", {"reason": "   "}, f"/duyet-lich/{sid}")
    assert empty.status_code == 303
    assert "Cần ghi lý do từ chối" in text_of(client.get(empty.headers["location"]).text)
    assert status_of(client, waiting["editor"], sid)["status"] == "submitted"
    reason = "Nội dung chưa nêu số điện thoại của tổ hòa giải; đề nghị bổ sung."
    refused = post(client, f"/duyet-lich/{sid}/tu-choi", {"reason": reason}, f"/duyet-lich/{sid}")
    assert refused.status_code == 303
    assert status_of(client, waiting["editor"], sid)["rejection_reason"] == reason

    client.cookies.clear()
    sign_in(client, "can-bo-hk")
    page = text_of(client.get(f"/lich-phat/{sid}").text)
    assert "bị từ chối" in page and f"Lý do từ chối: {reason}" in page and "Gửi duyệt" in page


def test_an_overlap_of_the_same_class_is_ordered_by_the_approver(container, client, waiting):
    approver = user(container, client, "pho-chu-tich-hk", "approver", HOAN_KIEM)
    approved_schedule(client, waiting["editor"], approver, title="Bản tin buổi sáng", start="2026-11-30T06:00",
                      rrule="FREQ=DAILY;COUNT=10")
    sid = waiting["id"]  # submitted before the other was approved: now it overlaps it
    sign_in(client, "chu-tich-hk")
    page = client.get(f"/duyet-lich/{sid}").text
    assert "cần lãnh đạo chọn lịch nào phát trước" in text_of(page) and 'name="order" value="first"' in page
    unordered = post(client, f"/duyet-lich/{sid}/duyet", {"listened": "1"}, f"/duyet-lich/{sid}")
    assert unordered.status_code == 303 and status_of(client, waiting["editor"], sid)["status"] == "submitted"
    assert "cần chọn thứ tự hoặc dời giờ" in text_of(client.get(unordered.headers["location"]).text)
    ordered = post(client, f"/duyet-lich/{sid}/duyet", {"listened": "1", "order": "first"}, f"/duyet-lich/{sid}")
    assert ordered.status_code == 303 and ordered.headers["location"] == "/duyet-lich"
    stored = status_of(client, waiting["editor"], sid)
    assert stored["status"] == "approved" and stored["rank"] == -1  # plays before the approved one (rank 0)


def test_the_author_cannot_approve_and_is_told_why(container, client, clock):
    clock.current = MORNING
    add_user(container, "quan-tri-hk", "admin", HOAN_KIEM)  # may write and approve, but not both on one schedule
    register_device(container.uow(), clock, Actor(None), DeviceSpec("loa-hk-1", "Cụm loa 1", HOAN_KIEM))
    admin = user(container, client, "quan-tri-hk-api", "admin", HOAN_KIEM)
    sid = approved_schedule(client, admin, admin, title="Thông báo tiêm chủng", start="2026-11-30T07:00",
                            approve=False)
    client.cookies.clear()
    sign_in(client, "quan-tri-hk-api")
    inbox = text_of(client.get("/duyet-lich").text)
    assert "Thông báo tiêm chủng" in inbox and "Người soạn lịch không được tự duyệt lịch của mình." in inbox
    assert f'action="/duyet-lich/{sid}/duyet"' not in client.get("/duyet-lich").text
    forced = post(client, f"/duyet-lich/{sid}/duyet", {"listened": "1"}, "/duyet-lich")
    assert forced.status_code == 303
    assert "Người soạn lịch không được tự duyệt lịch của mình." in text_of(client.get(forced.headers["location"]).text)
    assert status_of(client, admin, sid)["status"] == "submitted"

    client.cookies.clear()
    sign_in(client, "quan-tri-hk")  # another leader of the ward may
    decided = post(client, f"/duyet-lich/{sid}/duyet", {"listened": "1"}, "/duyet-lich")
    assert decided.status_code == 303 and status_of(client, admin, sid)["status"] == "approved"


def test_only_approvers_of_the_area_see_the_inbox_and_decide(container, client, waiting):
    add_user(container, "chu-tich-cn", "approver", CUA_NAM)
    sign_in(client, "chu-tich-cn")
    assert "Không có lịch nào chờ duyệt." in text_of(client.get("/duyet-lich").text)
    assert client.get(f"/duyet-lich/{waiting['id']}").status_code == 403
    token = csrf_of(client.get("/duyet-lich").text)
    for action, data in (("duyet", {"listened": "1"}), ("tu-choi", {"reason": "Không phù hợp"})):
        refused = client.post(f"/duyet-lich/{waiting['id']}/{action}", data={**data, "csrf_token": token},
                              follow_redirects=False)
        assert refused.status_code == 403, action
    assert status_of(client, waiting["editor"], waiting["id"])["status"] == "submitted"
    client.cookies.clear()
    sign_in(client, "can-bo-hk")  # an officer: no inbox in the menu, and the page says so
    assert 'href="/duyet-lich"' not in client.get("/lich-phat").text
    assert client.get("/duyet-lich").status_code == 403
