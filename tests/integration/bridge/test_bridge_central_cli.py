"""The stand-in central server as its command starts it: a foreign process on a free port."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.support.broker import free_port

pytestmark = pytest.mark.integration
RUN = "import typer; from device_sim.central.cli import central_sim; typer.run(central_sim)"


def test_central_sim_serves_its_preloaded_feed_behind_a_token(tmp_path):
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps([{"id": "TW-1", "title": "Bản tin", "priority": "normal", "areas": ["01"]}]),
                    encoding="utf-8")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", RUN, "--port", str(port), "--token", "bi-mat",
                                "--bulletins", str(feed)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                if httpx.get(f"{base}/admin/received", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "central-sim did not answer"
            time.sleep(0.05)
        assert httpx.get(f"{base}/api/v1/bulletins").status_code == 401
        page = httpx.get(f"{base}/api/v1/bulletins", headers={"Authorization": "Bearer bi-mat"}).json()
        assert [b["id"] for b in page["items"]] == ["TW-1"] and page["next_cursor"] == "1"
        key = {"Authorization": "Bearer bi-mat", "Idempotency-Key": "k-1"}
        assert httpx.post(f"{base}/api/v1/reports/master_data", json={}, headers=key).json()["status"] == "recorded"
        assert httpx.post(f"{base}/api/v1/reports/master_data", json={}, headers=key).json()["status"] == "duplicate"
        assert httpx.post(f"{base}/admin/mode", json={"mode": "fail"}).status_code == 200
        assert httpx.get(f"{base}/api/v1/bulletins", headers={"Authorization": "Bearer bi-mat"}).status_code == 500
    finally:
        process.terminate()
        process.wait(timeout=10)
