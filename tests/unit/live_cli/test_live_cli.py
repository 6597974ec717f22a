"""`loaxa live`: targets as typed, the capture ffmpeg runs, the socket address."""
from __future__ import annotations

from broadcast.live_cli import LiveClientError, capture_command, parse_targets, ws_url


def test_the_cli_reads_targets_and_builds_its_capture(tmp_path):
    assert parse_targets(["zone:z-1,area:00070", "device:hk-1"]) == {
        "areas": ["00070"], "zones": ["z-1"], "devices": ["hk-1"]}
    for bad in (["thing:1"], ["zone:"], []):
        try:
            parse_targets(bad)
        except LiveClientError as exc:
            assert "Đích nhận" in str(exc) or "Cần ít nhất" in str(exc)
        else:
            raise AssertionError(bad)
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF")
    assert capture_command(str(audio))[5:9] == ["-re", "-i", str(audio), "-vn"]
    assert capture_command("hw:1,0")[5:10] == ["-f", "alsa", "-i", "hw:1,0", "-vn"]
    assert ws_url("https://loa.example.vn", "/api/v1/live/3/audio") == "wss://loa.example.vn/api/v1/live/3/audio"
