"""`sim` CLI end to end: credentials file, public key file, real broker, bounded duration."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from broadcast import protocol as p
from device_sim.cli import app

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("log_events", [False, True])
def test_sim_cli_runs_a_small_fleet_from_a_credentials_file(server_factory, tmp_path, log_events):
    ids = ["cli-dev-001", "cli-dev-002", "cli-dev-003"]
    side = server_factory(ids)
    now = time.time()
    for d in ids:
        doc = p.build_schedule(d, 3, issued_at=p.epoch_to_rfc3339(now), horizon_end=p.epoch_to_rfc3339(now + 3600),
                               zones=["37"], items=[])
        side.publish_schedule(doc)
    creds = tmp_path / "creds.csv"
    creds.write_text("device_id,password,zones\n" + "".join(f"{d},pw-{d},37\n" for d in ids))
    keyfile = tmp_path / "server.pub"
    keyfile.write_text(p.public_key_b64(side.key) + "\n")

    result = CliRunner().invoke(app, [
        "--broker", side.broker.url, "--credentials", str(creds), "--public-key-file", str(keyfile),
        "--duration", "2", "--no-live", "--speed", "5", *(["--log-events"] if log_events else []),
    ])
    assert result.exit_code == 0, result.output
    assert "Đã nhận lịch" in result.output
    # With --log-events, what each device did, one line each (the demo's sim.log); without it, none.
    assert ("cli-dev-002 đã nhận: lịch phát phiên bản 3" in result.output) is log_events
    assert ("cli-dev-001 đã kết nối tới broker" in result.output) is log_events
    received = {a["device_id"] for a in side.acks() if a["stage"] == "received" and a["ref"] == {"schedule": 3}}
    assert received == set(ids)
    last_status = {}
    for topic, payload, _ in side.probe.snapshot(lambda t: t.endswith("/status")):
        last_status[topic] = json.loads(payload)
    assert len(last_status) == 3 and all(s["online"] is False for s in last_status.values())  # clean stop
