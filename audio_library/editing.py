"""Short edits: a generated chime (pydub), chime + programme joins, silence reports.

pydub builds the chime: it is a second of audio, made from sine generators in
memory. Joining a chime to an hour-long programme goes through ffmpeg's concat
filter instead, so the programme is never decoded into Python memory. Silences
are only reported, never trimmed: pauses in speech are part of the message.
"""

from __future__ import annotations

from pathlib import Path

from . import ffmpeg_cli, parsers
from .errors import ProcessingError
from .fsutil import publish, temp_path


def make_chime(out_path: str | Path, *, sample_rate: int = 44100) -> Path:
    """Write the default two-tone chime ("ding-dong", ~1.3 s) as WAV."""
    from pydub import AudioSegment
    from pydub.generators import Sine

    def tone(freq: float, ms: int) -> AudioSegment:
        base = Sine(freq, sample_rate=sample_rate).to_audio_segment(duration=ms, volume=-14.0)
        overtone = Sine(freq * 2, sample_rate=sample_rate).to_audio_segment(duration=ms, volume=-26.0)
        return base.overlay(overtone).fade_in(10).fade_out(ms - 60)

    chime = tone(784.0, 650).append(tone(659.3, 800), crossfade=150)  # G5 then E5
    chime = chime.set_channels(1) + AudioSegment.silent(duration=300, frame_rate=sample_rate)
    out = Path(out_path)
    with temp_path(out.parent, ".wav") as tmp:
        chime.export(tmp, format="wav")  # plain WAV: pydub writes it itself, no ffmpeg
        publish(tmp, out)
    return out


def join_with_chimes(programme: str | Path, out_path: str | Path, *, intro: str | Path | None = None,
                     outro: str | Path | None = None, sample_rate: int = 44100,
                     default_chime: bool = True, work_dir: str | Path | None = None) -> Path:
    """intro + programme + outro as one mono WAV (the default chime where none is given)."""
    out = Path(out_path)
    work = Path(work_dir) if work_dir else out.parent
    with temp_path(work, ".wav") as chime_tmp:
        if default_chime and (intro is None or outro is None):
            make_chime(chime_tmp, sample_rate=sample_rate)
        first = Path(intro) if intro else (chime_tmp if default_chime else None)
        last = Path(outro) if outro else (chime_tmp if default_chime else None)
        parts = [p for p in (first, Path(programme), last) if p is not None]
        with temp_path(out.parent, ".wav") as tmp:
            run = ffmpeg_cli.concat_to_wav(parts, tmp, sample_rate=sample_rate)
            if run.returncode != 0:
                raise ProcessingError("Không ghép được nhạc hiệu vào chương trình.")
            publish(tmp, out)
    return out


def find_silences(path: str | Path, *, threshold_db: float = -50.0,
                  min_silence_ms: int = 2000) -> list[tuple[int, int]]:
    """Silences longer than ``min_silence_ms`` as (start_ms, end_ms); the file is untouched."""
    run, lines = ffmpeg_cli.silencedetect(Path(path), noise_db=threshold_db,
                                          min_silence_s=min_silence_ms / 1000)
    if run.returncode != 0:
        raise ProcessingError("Không phân tích được khoảng lặng.")
    total = parsers.parse_last_time(run.tail)
    return [(round(a * 1000), round(b * 1000)) for a, b in parsers.parse_silences(lines, total)]
