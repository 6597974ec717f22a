"""Every kind of bad input gets a clear error and leaves no file behind."""

import subprocess

import pytest

from audio_library import AudioConfig, AudioStore, errors, ffmpeg_cli, normalize
from tests.support.audio_fixtures import generate

pytestmark = pytest.mark.integration


def _files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path):
    return AudioStore(tmp_path / "data", AudioConfig(max_bytes=2_000_000, max_duration_s=30.0))


def _mp3(path, seconds=20.0):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=f=440:d={seconds}", "-c:a", "libmp3lame", "-b:a", "128k", str(path)], check=True)
    return path


def _pdf(path):
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    return path


def _png(path):
    tmp = path.with_suffix(".png")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=d=1:s=64x64",
                    "-frames:v", "1", str(tmp)], check=True)
    tmp.rename(path)
    return path


def _truncated(path):
    full = _mp3(path.with_name("full.mp3"))
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    full.unlink()
    return path


def _video_without_audio(path):
    mp4 = path.with_suffix(".mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=d=2:s=64x64",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(mp4)], check=True)
    return mp4


def _random(path):
    import random

    path.write_bytes(random.Random(42).randbytes(200_000))
    return path


def _too_large(path):
    return generate(path.with_suffix(".wav"), kind="pink", seconds=25, rate=48000, channels=2, lufs=-20)


def _too_long(path):
    return generate(path.with_suffix(".flac"), kind="pink", seconds=40, rate=8000, lufs=-20)


def _too_short(path):
    return generate(path.with_suffix(".wav"), kind="pink", seconds=0.5, rate=8000, lufs=-20)


def _silent(path):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "anullsrc=r=8000:cl=mono", "-t", "5", str(path.with_suffix(".wav"))], check=True)
    return path.with_suffix(".wav")


CASES = [
    ("zero bytes", lambda p: (p.write_bytes(b""), p)[1], errors.EmptyFileError),
    ("random bytes", _random, errors.NotAudioError),
    ("pdf named mp3", _pdf, errors.NotAudioError),
    ("png named mp3", _png, errors.NotAudioError),
    ("truncated mp3", _truncated, errors.TruncatedAudioError),
    ("video without audio", _video_without_audio, errors.NotAudioError),
    ("over size limit", _too_large, errors.TooLargeError),
    ("over duration limit", _too_long, errors.TooLongError),
    ("under duration limit", _too_short, errors.TooShortError),
    ("only silence", _silent, errors.SilentAudioError),
]


@pytest.mark.parametrize("make,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_audio_bad_input_is_refused_cleanly(tmp_path, store, make, expected):
    src = make(tmp_path / "upload.mp3")
    with pytest.raises(expected) as info:
        store.ingest(src, "upload.mp3")
    assert info.value.code == expected.code
    assert any(ord(ch) > 127 for ch in info.value.message)  # Vietnamese text for the officer
    assert _files(store.root) == []


def test_audio_path_traversal_name_is_refused(tmp_path, store):
    src = generate(tmp_path / "ok.wav", kind="pink", seconds=2, rate=8000, lufs=-20)
    with pytest.raises(errors.UnsafeFileNameError):
        store.ingest(src, "../../../etc/cron.d/x.mp3")
    assert _files(store.root) == []


def test_audio_tts_text_too_long_or_empty(tmp_path, store):
    small = AudioStore(tmp_path / "tts", AudioConfig(tts_max_chars=50))
    with pytest.raises(errors.TextTooLongError):
        small.ingest_text("Thông báo " * 20)
    with pytest.raises(errors.TextEmptyError):
        small.ingest_text("   ")
    assert _files(small.root) == []


def test_audio_failed_render_leaves_nothing(tmp_path, store, monkeypatch):
    src = generate(tmp_path / "ok.wav", kind="pink", seconds=3, rate=8000, lufs=-20)
    real = ffmpeg_cli.render_mp3

    def broken(src_, dst, **kw):
        done = real(src_, dst, **kw)  # a real partial output exists...
        crash = ffmpeg_cli.RunOutput(1, "simulated encoder crash", 0)  # ...then the encoder "fails"
        return ffmpeg_cli.RenderOutput(crash, done.check)

    monkeypatch.setattr(ffmpeg_cli, "render_mp3", broken)
    with pytest.raises(errors.ProcessingError):
        store.ingest(src, "ok.wav")
    assert _files(store.root) == []
    out = tmp_path / "out" / "x.mp3"
    out.parent.mkdir()
    with pytest.raises(errors.ProcessingError):
        normalize(src, out)
    assert list(out.parent.iterdir()) == []
