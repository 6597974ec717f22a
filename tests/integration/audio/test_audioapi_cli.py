"""`loaxa audio import` and `loaxa audio normalize` as an operator runs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, select

from broadcast.persistence.models import AudioAssetRow
from tests.support.audio_fixtures import generate, independent_meter

pytestmark = pytest.mark.integration


def loaxa(args, data_dir, timeout=300):
    env = {**os.environ, "LOAXA_DATA_DIR": str(data_dir)}
    env.pop("LOAXA_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "broadcast", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_import_batch_keeps_going_past_bad_files(tmp_path):
    data = tmp_path / "data"
    assert loaxa(["db", "upgrade"], data).returncode == 0
    good = generate(tmp_path / "bai-1.m4a", kind="speechlike", seconds=4, rate=16000, lufs=-28)
    video = generate(tmp_path / "phong-su.mp4", kind="pink", seconds=3, rate=22050, lufs=-20, video=True)
    (bad := tmp_path / "hong.mp3").write_bytes(b"ID3" + os.urandom(5000))
    result = loaxa(["audio", "import", good, bad, video, "--topic", "land", "--language", "vi"], data)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 tệp thành công, 1 tệp lỗi" in result.stdout
    engine = create_engine(f"sqlite:///{data / 'loaxa.db'}")
    with engine.connect() as connection:
        stored = connection.execute(select(AudioAssetRow.title, AudioAssetRow.status, AudioAssetRow.topic)
                                    .order_by(AudioAssetRow.id)).all()
    engine.dispose()
    assert stored == [("bai-1", "ready", "land"), ("phong-su", "ready", "land")]
    assert good.exists() and video.exists()  # the operator's files are copied, never moved

    only_good = loaxa(["audio", "import", good, "--title", "Bài 1"], data)
    assert only_good.returncode == 0 and "1 tệp thành công, 0 tệp lỗi" in only_good.stdout


def test_normalize_json_contract(tmp_path):
    source = generate(tmp_path / "in.wav", kind="speechlike", seconds=8, rate=48000, channels=2, lufs=-35)
    out = tmp_path / "out.mp3"
    result = loaxa(["audio", "normalize", source, out, "--target-lufs", "-18", "--true-peak", "-2", "--json"],
                   tmp_path / "unused")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {"input_lufs", "output_lufs", "output_true_peak_dbtp", "gain_db", "duration_ms"} <= set(figures)
    assert figures["input_lufs"] == pytest.approx(-35, abs=1)
    assert independent_meter(out).lufs == pytest.approx(-18, abs=0.5)
    missing = loaxa(["audio", "normalize", tmp_path / "nope.wav", out], tmp_path / "unused")
    assert missing.returncode != 0 and missing.stderr.strip()
