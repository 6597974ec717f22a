"""Two real `loaxa serve --no-scheduler` processes on one database and one data directory (the media store on a
shared path), as several API nodes behind a proxy would run (docs/deployment.md): a session opened on one node
works on the other, a sign-out on one ends it on both, and audio uploaded on one is listed and served by the other
byte for byte. Once on SQLite and once on PostgreSQL."""
from __future__ import annotations

import hashlib
import os
from contextlib import ExitStack

import httpx
import pytest

from broadcast.web.pages.session import SESSION_COOKIE
from tests.support.app import HOAN_KIEM, PASSWORD, add_user
from tests.support.audio_fixtures import generate
from tests.support.broker import free_port
from tests.support.fleet import wait_for
from tests.support.served import serve_process
from tests.support.web import csrf_of, sign_in

pytestmark = pytest.mark.integration

SECRET = "nodes-test-secret-key-0123456789-abcdefghij"


def test_sessions_and_uploads_work_on_any_node(tmp_path, database_url, container):
    add_user(container, "can-bo", "editor", HOAN_KIEM)
    env = {**os.environ, "LOAXA_DATA_DIR": str(container.settings.data_dir), "LOAXA_DATABASE_URL": database_url,
           "LOAXA_SECRET_KEY": SECRET, "LOAXA_PASSWORD_HASH_MEMORY_KIB": "8192", "LOAXA_API_INBOX": "false"}
    with ExitStack() as stack:
        a, b = (stack.enter_context(serve_process({**env, "LOAXA_PUBLIC_URL": f"http://127.0.0.1:{port}"}, port,
                                                  tmp_path / f"node-{name}.log"))
                for name, port in (("a", free_port()), ("b", free_port())))
        node_a = stack.enter_context(httpx.Client(base_url=a, timeout=30))
        node_b = stack.enter_context(httpx.Client(base_url=b, timeout=30))

        # A browser session opened on A, its cookies carried to B (a proxy without sticky sessions).
        assert sign_in(node_a, "can-bo").status_code == 303
        node_b.cookies = node_a.cookies
        page = node_b.get("/", follow_redirects=False)
        assert page.status_code == 200, page.headers.get("location")

        # Audio uploaded on A: rendered there into the shared media store, listed and served by B.
        token = node_a.post("/api/v1/auth/token", data={"username": "can-bo", "password": PASSWORD}).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        wav = generate(tmp_path / "ban-tin.wav", kind="speechlike", seconds=3, rate=22050)
        with wav.open("rb") as fh:
            uploaded = node_a.post("/api/v1/audio", headers=bearer, files={"file": ("ban-tin.wav", fh)},
                                   data={"title": "Bản tin phòng chống lụt bão", "area_code": HOAN_KIEM})
        assert uploaded.status_code == 202, uploaded.text
        asset_id = uploaded.json()["id"]
        wait_for(lambda: node_b.get(f"/api/v1/audio/{asset_id}", headers=bearer).json()["status"] == "ready", 60,
                 what="the upload rendered, as node B sees it")
        asset = node_b.get(f"/api/v1/audio/{asset_id}", headers=bearer).json()
        media_path = httpx.URL(asset["media_url"]).path
        from_b = node_b.get(media_path)
        assert from_b.status_code == 200 and from_b.headers["content-type"] == "audio/mpeg"
        assert hashlib.sha256(from_b.content).hexdigest() == asset["sha256"]
        assert node_a.get(media_path).content == from_b.content

        # Signing out on B ends the session on A too: revoked tokens live in the shared database.
        session = node_a.cookies[SESSION_COOKIE]
        signed_out = node_b.post("/dang-xuat", data={"csrf_token": csrf_of(node_b.get("/").text)},
                                 follow_redirects=False)
        assert signed_out.status_code == 303
        assert node_a.cookies[SESSION_COOKIE] == session  # A's client still sends the cookie, and A refuses it
        assert node_a.get("/", follow_redirects=False).status_code == 303
