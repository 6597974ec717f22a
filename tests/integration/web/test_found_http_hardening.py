"""HTTP hardening on the real app and database: token before body, per-route body limits, no 500 on odd numbers,
honest API description (documented statuses, Allow on 405)."""
from __future__ import annotations

import asyncio

import pytest

from broadcast.domain.audio import AssetStatus, AudioAsset
from broadcast.domain.errors import InvalidInput
from broadcast.web.app import create_app
from tests.integration.emergencies.conftest import ready_asset
from tests.support.app import HANOI, HOAN_KIEM, user
from tests.support.audio_fixtures import generate, require_binary

pytestmark = pytest.mark.integration
MIB = 1024 * 1024
HUGE = 2 ** 64  # past every integer column, past SQLite's 64 bits


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


@pytest.fixture
def admin(container, client):
    return user(container, client, "admin", "admin", HANOI)


# -- 7: the token is checked before the body is read ------------------------------------------------------

def stream_request(app, method: str, path: str, *, chunks: int, chunk: bytes = b"x" * MIB,
                   headers: dict[str, str] | None = None, declare_length: bool = True) -> tuple[int, int]:
    """Send a body of `chunks` chunks straight to the ASGI app; return (status, body bytes the app pulled)."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in {"content-type": "application/json",
                                                                 **(headers or {})}.items()]
    if declare_length:
        raw_headers.append((b"content-length", str(chunks * len(chunk)).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": raw_headers,
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    pulled = 0
    sent = 0
    status = 0

    async def receive():
        nonlocal pulled, sent
        if sent < chunks:
            sent += 1
            pulled += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": sent < chunks}
        await asyncio.sleep(3600)  # a client that keeps the connection open

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=60))
    return status, pulled


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
def test_big_body_without_token_is_refused_before_reading(container, declare_length):
    status, pulled = stream_request(create_app(container), "POST", "/api/v1/audio/tts", chunks=80,
                                    declare_length=declare_length)
    assert status == 401
    assert pulled == 0


def test_big_body_with_a_bad_token_is_refused_before_reading(container):
    status, pulled = stream_request(create_app(container), "POST", "/api/v1/zones", chunks=20,
                                    headers={"Authorization": "Bearer not.a.token"})
    assert status == 401 and pulled == 0


def test_public_routes_need_no_token(container, client):
    assert client.post("/api/v1/auth/token", data={"username": "nobody", "password": "x" * 12}).status_code == 401
    assert client.get("/api/v1/openapi.json").status_code == 200
    # The bridge push is authenticated by its HMAC signature, not by a user token (disabled here: 404).
    assert error_of(client.post("/api/v1/bridge/bulletins", json={}))["code"] == "bridge_push_disabled"


def test_json_over_the_json_limit_is_413_even_signed_in(container, client, admin):
    limit = container.settings.max_body_bytes
    assert limit == 64 * 1024
    huge = b'{"commune_code": "' + b"x" * limit + b'"}'
    response = client.post("/api/v1/zones", headers={**admin.headers, "Content-Type": "application/json"},
                           content=huge)
    assert response.status_code == 413 and error_of(response)["code"] == "payload_too_large"


def test_tts_is_a_json_route_not_an_upload(container, admin):
    """/api/v1/audio/tts once shared the upload's 500 MB limit: a streamed 3 MB JSON is cut at its own limit."""
    status, pulled = stream_request(create_app(container), "POST", "/api/v1/audio/tts", chunks=3,
                                    headers=admin.headers, declare_length=False)
    assert status == 413
    assert pulled <= container.settings.max_document_bytes + MIB


def test_upload_still_takes_large_files(container, client, tmp_path):
    require_binary("ffmpeg")
    editor = user(container, client, "editor", "editor", HOAN_KIEM)
    source = generate(tmp_path / "long.wav", seconds=40, rate=22050, lufs=None)
    assert source.stat().st_size > container.settings.max_document_bytes
    with source.open("rb") as fh:
        response = client.post("/api/v1/audio", headers=editor.headers,
                               data={"title": "Luật Hòa giải ở cơ sở", "area_code": HOAN_KIEM},
                               files={"file": ("long.wav", fh, "audio/wav")})
    assert response.status_code == 202, response.text
    assert container.jobs.drain(timeout=240)


# -- 18: numbers beyond the columns and rows still in use are 4xx, never 500 ------------------------------

@pytest.mark.parametrize("method,path,params,body", [
    ("GET", f"/api/v1/audio/{HUGE}", None, None),
    ("DELETE", f"/api/v1/audio/{HUGE}", None, None),
    ("GET", f"/api/v1/programmes/{HUGE}", None, None),
    ("GET", f"/api/v1/schedules/{HUGE}", None, None),
    ("POST", f"/api/v1/schedules/{HUGE}/submit", None, None),
    ("GET", f"/api/v1/emergencies/{HUGE}", None, None),
    ("GET", "/api/v1/programmes", {"offset": 2 ** 63}, None),
    ("GET", "/api/v1/audit", {"offset": HUGE}, None),
    ("GET", "/api/v1/playlog", {"programme": HUGE}, None),
    ("GET", "/api/v1/schedules", {"programme_id": HUGE}, None),
    ("POST", "/api/v1/programmes", None, {"title": "Luật Đất đai", "area_code": HOAN_KIEM, "audio_ids": [HUGE]}),
    ("POST", "/api/v1/emergencies", None, {"targets": {"areas": [HOAN_KIEM]}, "reason": "Lũ", "audio_id": HUGE}),
    ("POST", "/api/v1/schedules", None, {"programme_id": HUGE, "targets": {"areas": [HOAN_KIEM]},
                                         "start": "2026-12-01T06:00"}),
])
def test_integers_beyond_64_bits_are_refused(client, admin, method, path, params, body):
    response = client.request(method, path, headers=admin.headers, params=params, json=body)
    assert 400 <= response.status_code < 500, response.text
    error_of(response)


def test_values_a_column_cannot_hold_are_invalid_input(container):
    """The database's own refusal (SQLite's 64-bit overflow, PostgreSQL's data exceptions) is the user's input."""
    uow = container.uow()
    with pytest.raises(InvalidInput) as refused, uow:
        uow.audio.add(AudioAsset(id=0, title="Tệp", kind="upload", language="vi", topic="other", area_code=HOAN_KIEM,
                                 profile="speech", status=AssetStatus.PROCESSING, original_name="a.mp3",
                                 created_by="test", created_at=container.clock.now(), bytes=HUGE))
        uow.commit()
    assert refused.value.code == "invalid_value"


def test_deleting_audio_an_emergency_played_is_409(container, client, admin):
    library = ready_asset(container)
    started = client.post("/api/v1/emergencies", headers=admin.headers,
                          json={"targets": {"areas": [HOAN_KIEM]}, "reason": "Lũ quét", "audio_id": library})
    assert started.status_code == 201, started.text
    asset = started.json()["audio_id"]  # the alert as played: the chime, then the library file repeated
    response = client.delete(f"/api/v1/audio/{asset}", headers=admin.headers)
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "audio_in_use" and "khẩn cấp" in error["message"]
    assert client.get(f"/api/v1/audio/{asset}", headers=admin.headers).status_code == 200


# -- 20: the description says what the routes answer --------------------------------------------------------

def operation(spec: dict, method: str, path: str) -> dict:
    return spec["paths"][path][method.lower()]


def test_every_operation_documents_its_errors_with_the_error_shape(client):
    spec = client.get("/api/v1/openapi.json").json()
    error_ref = "#/components/schemas/ErrorOut"
    assert set(spec["components"]["schemas"]["ErrorOut"]["properties"]) == {"error"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            statuses = op["responses"]
            for status, response in statuses.items():
                plain_text = path == "/media/{sha256}.mp3" and status in ("400", "416")  # Starlette's Range errors
                if status.startswith(("4", "5")) and not plain_text:
                    assert response["content"]["application/json"]["schema"] == {"$ref": error_ref}, (path, method)
            if op.get("security"):
                assert "401" in statuses, (method, path)
            if "requestBody" in op:
                assert {"413", "422"} <= set(statuses), (method, path)
    assert {"403", "404", "409"} <= set(operation(spec, "POST", "/api/v1/zones")["responses"])
    assert {"403", "404", "409"} <= set(operation(spec, "DELETE", "/api/v1/audio/{asset_id}")["responses"])
    assert "429" in operation(spec, "POST", "/api/v1/auth/token")["responses"]
    assert {"400", "401", "404", "413"} <= set(operation(spec, "POST", "/api/v1/bridge/bulletins")["responses"])


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/api/v1/audio", "GET, POST"),
    ("PATCH", "/api/v1/schedules/1", "GET, PUT"),
    ("PUT", "/api/v1/audit", "GET"),
    ("POST", "/healthz", "GET"),
    ("DELETE", "/media/" + "ab" * 32 + ".mp3", "GET, HEAD"),
])
def test_405_names_every_allowed_method(client, admin, method, path, allowed):
    response = client.request(method, path, headers=admin.headers)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert error_of(response)["code"] == "method_not_allowed"
