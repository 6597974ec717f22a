"""The live encoder holds its own Icecast source connection (adapters/icecast_source.py): the mount exists as soon
as the officer's link opens, before any audio, so devices connect once and wait; a refused mount makes the encoder
dead (the session then ends as encoder_failed), and finishing closes the mount."""
from __future__ import annotations

import dataclasses
import subprocess

import pytest

from broadcast.adapters.icecast import IcecastSecrets, mount_is_live
from broadcast.adapters.live_encoder import EncoderGone, FfmpegLiveEncoder
from broadcast.live_cli import capture_command
from tests.support.audio_fixtures import require_binary
from tests.support.icecast import icecast  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


def test_the_mount_exists_before_the_first_audio_and_goes_with_the_encoder(icecast, tmp_path):  # noqa: F811
    require_binary("ffmpeg")
    encoder = FfmpegLiveEncoder(icecast.config.source_url("early.mp3"), tmp_path / "rec.flac", -16.0)
    encoder.start()
    try:
        assert encoder.alive
        assert mount_is_live(icecast.config.url, "early.mp3")  # no audio fed yet
        tone = tmp_path / "tone.wav"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                        "-ac", "1", "-ar", "48000", str(tone)], check=True)
        webm = subprocess.run([c for c in capture_command(str(tone)) if c != "-re"], capture_output=True,
                              check=True).stdout
        encoder.feed(webm)
    finally:
        assert encoder.finish() == 0
    assert not mount_is_live(icecast.config.url, "early.mp3")
    assert (tmp_path / "rec.flac").stat().st_size > 0


def test_a_refused_mount_leaves_the_encoder_dead_with_the_reason(icecast, tmp_path):  # noqa: F811
    wrong = dataclasses.replace(icecast.config, secrets=IcecastSecrets("not-the-password", "x"))
    encoder = FfmpegLiveEncoder(wrong.source_url("refused.mp3"), tmp_path / "rec.flac", -16.0)
    encoder.start()
    assert not encoder.alive
    assert "HTTP 401" in encoder.error_tail()
    with pytest.raises(EncoderGone):
        encoder.feed(b"\x1a\x45\xdf\xa3")
    assert encoder.finish() is None
