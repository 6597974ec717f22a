"""CLI argument errors are refused before anything connects, in Vietnamese."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from broadcast import protocol as p
from device_sim.cli import app


@pytest.mark.parametrize("args,needle", [
    ([], "khóa công khai"),
    (["--public-key", "abc"], "32 byte"),
    (["--public-key", "K", "--offline-fraction", "1.5"], "0..1"),
    (["--public-key", "K", "--speed", "0"], "--speed"),
    (["--public-key", "K", "--devices", "0"], "--devices"),
])
def test_bad_arguments_are_refused(args, needle):
    key = p.public_key_b64(p.generate_private_key())
    args = [key if a == "K" else a for a in args]
    result = CliRunner().invoke(app, args + ["--broker", "mqtt://127.0.0.1:1", "--no-live"])
    assert result.exit_code == 2
    assert needle in result.output
