"""Parsers on ffmpeg/ffprobe output captured from ffmpeg 5.1 runs."""

import math

import pytest

from audio_library import parsers

EBUR128_TAIL = """\
Output #0, null, to 'pipe:':
  Stream #0:0: Audio: pcm_s16le, 44100 Hz, mono, s16, 705 kb/s
size=N/A time=00:10:00.00 bitrate=N/A speed= 146x    
video:0kB audio:51680kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: unknown
[Parsed_ebur128_1 @ 0x557ddc2e4940] Summary:

  Integrated loudness:
    I:         -32.5 LUFS
    Threshold: -42.5 LUFS

  Loudness range:
    LRA:         0.3 LU
    Threshold: -52.5 LUFS
    LRA low:   -32.6 LUFS
    LRA high:  -32.4 LUFS

  True peak:
    Peak:      -13.3 dBFS
"""  # noqa: W291 (captured as ffmpeg printed it: its progress line ends in spaces)

SILENT_TAIL = """\
size=N/A time=00:00:02.00 bitrate=N/A speed= 500x
[Parsed_ebur128_1 @ 0x5] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold:   0.0 LUFS
    LRA low:     0.0 LUFS
    LRA high:    0.0 LUFS

  True peak:
    Peak:       -inf dBFS
"""

RANDOM_BYTES_LINES = [
    "[mp3float @ 0x55e880891a40] Header missing\n",
    "Error while decoding stream #0:0: Invalid data found when processing input\n",
    "[mp3 @ 0x55e8808768c0] Format mp3 detected only with low score of 1, misdetection possible!\n",
    "    I:         -70.0 LUFS\n",
]

SILENCEDETECT = """\
[silencedetect @ 0x1] silence_start: 1.29
[silencedetect @ 0x1] silence_end: 1.639 | silence_duration: 0.349
[silencedetect @ 0x1] silence_start: 4.907
[silencedetect @ 0x1] silence_end: 5.221 | silence_duration: 0.314
[silencedetect @ 0x1] silence_start: 9.5
"""

FFPROBE_PNG = ('{"programs":[],"streams":[{"index":0,"codec_name":"png","codec_type":"video",'
               '"disposition":{"attached_pic":0}}],"format":{"format_name":"png_pipe"}}')
FFPROBE_MP4 = """{"streams": [
 {"index": 0, "codec_name": "h264", "codec_type": "video", "duration": "2.000000"},
 {"index": 1, "codec_name": "aac", "codec_type": "audio", "sample_rate": "48000", "channels": 2,
  "duration": "1.984000"}],
 "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "2.000000", "bit_rate": "137000"}}"""


def test_ebur128_summary_values():
    summary = parsers.parse_ebur128_summary(EBUR128_TAIL)
    assert summary.integrated_lufs == -32.5
    assert summary.lra_lu == 0.3
    assert summary.peak_db == -13.3


def test_ebur128_silence_gives_minus_inf_peak():
    summary = parsers.parse_ebur128_summary(SILENT_TAIL)
    assert summary.integrated_lufs == -70.0
    assert math.isinf(summary.peak_db) and summary.peak_db < 0


def test_ebur128_takes_the_last_summary_and_rejects_missing_one():
    assert parsers.parse_ebur128_summary(SILENT_TAIL + EBUR128_TAIL).integrated_lufs == -32.5
    with pytest.raises(ValueError):
        parsers.parse_ebur128_summary("size=N/A time=00:00:01.00\n")


def test_last_time_stamp():
    assert parsers.parse_last_time(EBUR128_TAIL) == 600.0
    assert parsers.parse_last_time("time=00:00:09.32 x\ntime=01:02:03.50 y") == pytest.approx(3723.5)
    assert parsers.parse_last_time("no progress here") is None


def test_decode_errors_are_counted():
    assert parsers.count_decode_errors(RANDOM_BYTES_LINES) == 2
    assert parsers.count_decode_errors(EBUR128_TAIL.splitlines()) == 0


def test_silences_pair_and_close_at_end():
    spans = parsers.parse_silences(SILENCEDETECT, total_s=12.0)
    assert spans == [(1.29, 1.639), (4.907, 5.221), (9.5, 12.0)]
    assert parsers.parse_silences(SILENCEDETECT) == [(1.29, 1.639), (4.907, 5.221)]


def test_ffprobe_png_has_no_audio_stream():
    data = parsers.parse_ffprobe_json(FFPROBE_PNG)
    assert data.format_name == "png_pipe"
    assert [s.codec_type for s in data.streams] == ["video"]
    assert data.duration_s is None


def test_ffprobe_video_with_audio():
    data = parsers.parse_ffprobe_json(FFPROBE_MP4)
    audio = [s for s in data.streams if s.codec_type == "audio"][0]
    assert (audio.codec_name, audio.sample_rate, audio.channels) == ("aac", 48000, 2)
    assert audio.duration_s == pytest.approx(1.984)
    assert data.bit_rate == 137000


def test_ffprobe_empty_output():
    assert parsers.parse_ffprobe_json("{}").streams == ()


ASTATS_TAIL = """\
size=N/A time=00:07:05.79 bitrate=N/A speed=30.7x
[Parsed_astats_5 @ 0x561dcdb93040] Channel: 1
[Parsed_astats_5 @ 0x561dcdb93040] Peak level dB: -3.186201
[Parsed_astats_5 @ 0x561dcdb93040] Channel: 2
[Parsed_astats_5 @ 0x561dcdb93040] Peak level dB: -2.500000
[Parsed_ebur128_2 @ 0x561dcdb920c0] Summary:
"""


def test_astats_peak_is_the_highest_channel():
    assert parsers.parse_astats_peak(ASTATS_TAIL) == pytest.approx(-2.5)
    assert parsers.parse_astats_peak("[Parsed_astats_1 @ 0x1] Peak level dB: -inf\n") == -math.inf
    with pytest.raises(ValueError):
        parsers.parse_astats_peak(EBUR128_TAIL)
