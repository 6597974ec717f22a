"""LoaXa audio library: probe, validate, normalize, store and speak audio.

Standalone: never imports the server. ffmpeg is only started from
``ffmpeg_cli``; its output is parsed in ``parsers``.
"""

from .config import AudioConfig, Profile
from .errors import AudioError
from .normalize import NormalizeResult, normalize
from .probe import Loudness, ProbeResult, measure_loudness, probe, validate
from .store import AudioStore, StoredAsset

__all__ = [
    "AudioConfig", "AudioError", "AudioStore", "Loudness", "NormalizeResult", "ProbeResult",
    "Profile", "StoredAsset", "measure_loudness", "normalize", "probe", "validate",
]
