"""The live page and the audio socket's doors, without a browser: who sees what, and who may open the socket."""
from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.support.app import HOAN_KIEM, add_user
from tests.support.web import csrf_of, sign_in


def test_a_viewer_has_no_menu_entry_and_is_told_why_it_cannot_go_live(container, client):
    add_user(container, "xem-hk", "viewer", HOAN_KIEM)
    assert sign_in(client, "xem-hk").status_code == 303
    page = client.get("/phat-truc-tiep")
    assert page.status_code == 200
    assert 'href="/phat-truc-tiep"' not in page.text
    assert "không có quyền phát trực tiếp" in page.text and "Bắt đầu phát" not in page.text


def test_an_editor_sees_the_picker_and_the_normal_classes_only(container, client):
    add_user(container, "bien-tap-hk", "editor", HOAN_KIEM)
    sign_in(client, "bien-tap-hk")
    page = client.get("/phat-truc-tiep").text
    assert 'href="/phat-truc-tiep"' in page  # the menu entry
    assert "Bắt đầu phát" in page and 'value="normal"' in page and 'value="priority"' in page
    assert 'value="emergency"' not in page
    refused = client.post("/phat-truc-tiep/bat-dau", data={"csrf_token": csrf_of(page)},
                          headers={"X-CSRF-Token": csrf_of(page)})
    assert refused.status_code == 422 and "Chưa chọn nơi nhận" in refused.json()["message"]


def _refused(client, headers: dict[str, str] | None = None) -> tuple[dict, int]:
    with client.websocket_connect("/api/v1/live/1/audio", headers=headers or {}) as ws:
        ws.send_text('{"type": "hello"}')
        message = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    return message, closed.value.code


def test_the_audio_socket_refuses_anyone_not_signed_in(client):
    message, code = _refused(client)
    assert (message["type"], message["code"], code) == ("error", "unauthenticated", 4401)


def test_a_page_cookie_from_a_foreign_origin_does_not_open_the_socket(container, client):
    add_user(container, "bien-tap-hk", "editor", HOAN_KIEM)
    sign_in(client, "bien-tap-hk")
    message, code = _refused(client, {"origin": "http://ke-gian.example"})
    assert (message["code"], code) == ("unauthenticated", 4401)


def test_a_valid_token_for_a_session_that_does_not_exist_is_refused(container, client):
    add_user(container, "bien-tap-hk", "editor", HOAN_KIEM)
    token = client.post("/api/v1/auth/token", data={"username": "bien-tap-hk",
                                                    "password": "Loa-Xa-2026!test"}).json()["access_token"]
    with client.websocket_connect("/api/v1/live/999/audio") as ws:
        ws.send_json({"type": "auth", "token": token})
        message = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert message["type"] == "error" and closed.value.code == 4403


def test_stopping_the_app_ends_a_session_still_waiting_for_its_audio(container):
    from fastapi.testclient import TestClient

    from broadcast.services.context import Actor
    from broadcast.services.devices import DeviceSpec, register_device
    from broadcast.web.app import create_app

    register_device(container.uow(), container.clock, Actor(None),
                    DeviceSpec(id="hk-dung", name="Cụm loa dừng", area_code=HOAN_KIEM))
    add_user(container, "khan-cap-hk", "emergency_operator", HOAN_KIEM)
    with TestClient(create_app(container)) as client:
        token = client.post("/api/v1/auth/token", data={"username": "khan-cap-hk",
                                                        "password": "Loa-Xa-2026!test"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        started = client.post("/api/v1/live", json={"targets": {"areas": [HOAN_KIEM]}, "priority": "emergency"},
                              headers=headers)
        assert started.status_code == 201, started.text
        session_id = started.json()["id"]
    with TestClient(create_app(container)) as client:  # a new process would read the same rows
        ended = client.get(f"/api/v1/live/{session_id}", headers=headers).json()
    assert (ended["status"], ended["end_reason"]) == ("dropped", "never_connected")
    assert ended["stop_cmd_id"] is not None
