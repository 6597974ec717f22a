"""Content-addressed store: layout, idempotence, chimes, TTS, silences, CLI."""

import hashlib
import json

import pytest
from typer.testing import CliRunner

from audio_library import AudioStore, ffmpeg_cli, measure_loudness
from audio_library.cli import app
from audio_library.editing import find_silences, make_chime
from tests.support.audio_fixtures import generate, independent_meter

pytestmark = pytest.mark.integration


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_audio_store_layout_and_no_second_render(tmp_path, monkeypatch):
    src = generate(tmp_path / "prog.m4a", kind="speechlike", seconds=6, rate=44100, channels=2, lufs=-24)
    store = AudioStore(tmp_path / "data")
    renders = []
    real = ffmpeg_cli.render_mp3
    monkeypatch.setattr(ffmpeg_cli, "render_mp3", lambda *a, **k: renders.append(1) or real(*a, **k))
    first = store.ingest(src, "bản tin.m4a")
    count = len(renders)
    assert count >= 1
    original = store.root / "media" / "originals" / sha(src)[:2] / f"{sha(src)}.m4a"
    assert original.is_file() and sha(original) == first.original_sha256
    rendition = store.media_path(first.rendition_sha256)
    assert rendition.name == f"{first.rendition_sha256}.mp3" and sha(rendition) == first.rendition_sha256
    assert first.duration_ms == pytest.approx(6000, abs=150)
    assert first.loudness.output_lufs == pytest.approx(-16, abs=0.3)

    again = store.ingest(src, "copy with another name.m4a")
    assert len(renders) == count  # no second render
    assert again.reused and again.rendition_sha256 == first.rendition_sha256
    assert again.loudness == first.loudness
    # A fresh store object over the same directory finds it too (the index is on disk).
    assert AudioStore(tmp_path / "data").lookup(first.original_sha256).rendition_sha256 == first.rendition_sha256
    leftovers = [p for p in (store.root / "media").rglob(".tmp-*")]
    assert leftovers == []
    index = list((store.root / "media" / "index").glob("*.json"))
    assert len(index) == 1 and json.loads(index[0].read_text())["original_name"] == "bản tin.m4a"

    music = store.ingest(src, "bản tin.m4a", "music")
    assert music.rendition_sha256 != first.rendition_sha256 and len(renders) > count


def test_audio_store_chimes_and_tts(tmp_path):
    store = AudioStore(tmp_path / "data")
    src = generate(tmp_path / "p.wav", kind="pink", seconds=4, rate=22050, lufs=-20)
    plain = store.ingest(src, "p.wav")
    chimed = store.ingest(src, "p.wav", chimes=True)
    chime = make_chime(tmp_path / "chime.wav")
    chime_ms = measure_loudness(chime).decoded_s * 1000
    assert chimed.duration_ms == pytest.approx(plain.duration_ms + 2 * chime_ms, abs=100)
    assert chimed.rendition_sha256 != plain.rendition_sha256

    spoken = store.ingest_text("Kính thưa bà con, chiều nay xã tổ chức họp dân tại nhà văn hóa thôn.",
                               voice="vi-vn-x-central")
    path = store.media_path(spoken.rendition_sha256)
    assert abs(independent_meter(path).lufs + 16) <= 0.5


def test_audio_silences_are_reported_not_trimmed(tmp_path):
    import subprocess

    src = tmp_path / "gap.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "aevalsrc='0.3*sin(2*PI*440*t)*(lt(t,2)+gt(t,5.5))':s=16000:d=8", str(src)], check=True)
    spans = find_silences(src, min_silence_ms=2000)
    assert len(spans) == 1
    start, end = spans[0]
    assert start == pytest.approx(2000, abs=60) and end == pytest.approx(5500, abs=60)
    assert find_silences(src, min_silence_ms=4000) == []
    out = tmp_path / "out.mp3"
    from audio_library import normalize

    result = normalize(src, out)
    assert result.duration_ms == pytest.approx(8000, abs=100)  # nothing trimmed


def test_audio_cli_json_and_errors(tmp_path):
    src = generate(tmp_path / "in.ogg", kind="speechlike", seconds=5, rate=48000, channels=2, lufs=-28)
    out = tmp_path / "out.mp3"
    runner = CliRunner()
    res = runner.invoke(app, ["normalize", str(src), str(out), "--target-lufs", "-18", "--true-peak", "-2",
                              "--profile", "music", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    for key in ("input_lufs", "output_lufs", "output_true_peak_dbtp", "gain_db", "duration_ms"):
        assert key in data
    assert data["bitrate_kbps"] == 128 and abs(independent_meter(out).lufs + 18) <= 0.5

    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"%PDF-1.4 not audio")
    res = runner.invoke(app, ["normalize", str(bad), str(tmp_path / "x.mp3")])
    assert res.exit_code != 0 and "Lỗi" in res.stderr
    res = runner.invoke(app, ["normalize", str(bad), str(tmp_path / "x.mp3"), "--json"])
    assert res.exit_code != 0 and json.loads(res.stdout)["error"] == "not_audio"
    assert not (tmp_path / "x.mp3").exists()
