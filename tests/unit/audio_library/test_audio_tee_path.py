"""The tee muxer's slave list is parsed by ffmpeg: output paths must be escaped."""

from pathlib import Path

from audio_library.ffmpeg_cli import _tee_slave


def test_audio_tee_slave_escapes_separators_and_pins_the_file_protocol(tmp_path):
    odd = tmp_path / "a|b [c]'d\\e:f.mp3"
    slave = _tee_slave(odd)
    assert slave.startswith("file:/")  # absolute, so "f:" in a name is never read as a protocol
    unescaped = slave.removeprefix("file:").replace("\\|", "|").replace("\\[", "[").replace("\\]", "]") \
        .replace("\\'", "'").replace("\\\\", "\\")
    assert unescaped == str(odd.resolve())
    assert "|" not in slave.replace("\\|", "")


def test_audio_tee_slave_plain_path_unchanged(tmp_path):
    assert _tee_slave(tmp_path / "x.mp3") == "file:" + str((tmp_path / "x.mp3").resolve())
    assert isinstance(_tee_slave(Path("rel.mp3")), str)
