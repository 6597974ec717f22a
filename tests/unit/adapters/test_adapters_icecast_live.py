"""The Icecast config the project writes, its kept passwords, and the live encoder's ffmpeg command."""
from __future__ import annotations

import stat
import xml.etree.ElementTree as ET

from broadcast.adapters.icecast import IcecastConfig, IcecastSecrets, load_or_create_secrets
from broadcast.adapters.live_encoder import LEVELLED_LUFS, encoder_command, live_filter


def test_passwords_are_generated_once_and_kept_private(tmp_path):
    first = load_or_create_secrets(tmp_path / "icecast")
    again = load_or_create_secrets(tmp_path / "icecast")
    assert first == again and first.source_password != first.admin_password and len(first.source_password) >= 20
    assert stat.S_IMODE((tmp_path / "icecast" / "secrets.json").stat().st_mode) == 0o600


def test_the_config_names_port_passwords_limits_and_no_chroot(tmp_path):
    config = IcecastConfig(directory=tmp_path, host="127.0.0.1", port=18001,
                           secrets=IcecastSecrets("src<&>pw", "adm"), max_listeners_per_mount=250)
    root = ET.fromstring(config.render())  # escaped: a password with <&> stays well-formed XML
    assert root.findtext("authentication/source-password") == "src<&>pw"
    assert root.findtext("authentication/admin-password") == "adm"
    assert root.findtext("listen-socket/port") == "18001"
    assert root.findtext("listen-socket/bind-address") == "127.0.0.1"
    assert root.findtext("mount[@type='default']/max-listeners") == "250"
    assert root.findtext("security/chroot") == "0" and root.find("security/changeowner") is None
    assert root.findtext("paths/logdir") == str(tmp_path)
    assert root.findtext("limits/burst-size") == "0"
    path = config.write()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.source_url("/live-1-ab.mp3") == "icecast://source:src%3C%26%3Epw@127.0.0.1:18001/live-1-ab.mp3"


def test_the_encoder_levels_to_the_target_and_writes_mount_and_recording(tmp_path):
    assert f"volume={-16.0 - LEVELLED_LUFS:.2f}dB" in live_filter(-16.0)
    assert f"volume={-20.0 - LEVELLED_LUFS:.2f}dB" in live_filter(-20.0)
    command = encoder_command(tmp_path / "r.flac", -16.0)
    assert command[command.index("-f") + 1] == "matroska" and "pipe:0" in command
    assert "libmp3lame" in command and command[command.index("-b:a") + 1] == "64k"
    assert "pipe:1" in command and str(tmp_path / "r.flac") == command[-1]  # MP3 out to our Icecast source
    assert "alimiter" in live_filter(-16.0) and "aformat=channel_layouts=mono" in live_filter(-16.0)
