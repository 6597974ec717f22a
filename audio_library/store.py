"""Content-addressed storage of originals and renditions.

DATA/media/originals/ab/<sha256>.<ext>   the upload, byte for byte
DATA/media/renditions/<sha256>.mp3       the loudspeaker rendition
DATA/media/index/<orig sha256>-<params>.json  which rendition an original gave with which parameters

Storing the same original again with the same parameters returns the recorded
asset without rendering. Every write is temp file + rename, so a failed render
leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .config import AudioConfig, Profile
from .editing import join_with_chimes
from .errors import MediaNotFoundError, UnsafeFileNameError
from .fsutil import copy_atomic, publish, sha256_file, temp_path, write_text_atomic
from .normalize import NormalizeResult, normalize
from .probe import ProbeResult, check_size, validate

# Bump when the render pipeline changes in a way that changes the output.
PIPELINE_VERSION = 2
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredAsset:
    original_sha256: str
    original_name: str
    original_ext: str
    original_bytes: int
    rendition_sha256: str
    rendition_bytes: int
    duration_ms: int
    profile: str
    params_key: str
    loudness: NormalizeResult
    reused: bool = False

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["loudness"] = self.loudness.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> StoredAsset:
        return cls(**{**data, "loudness": NormalizeResult(**data["loudness"])})


def check_file_name(name: str) -> str:
    """Refuse names that carry a path, traversal, control characters or nothing at all."""
    cleaned = unicodedata.normalize("NFC", name or "")
    bad = (
        not cleaned.strip()
        or len(cleaned) > 255
        or "/" in cleaned
        or "\\" in cleaned
        or cleaned in {".", ".."}
        or cleaned.startswith("..")
        or any(unicodedata.category(ch) == "Cc" for ch in cleaned)
        or re.match(r"^[A-Za-z]:", cleaned) is not None
    )
    if bad:
        raise UnsafeFileNameError(file_name=cleaned[:100])
    return cleaned


class AudioStore:
    def __init__(self, root: str | Path, config: AudioConfig | None = None) -> None:
        self.root = Path(root)
        self.config = config or AudioConfig()
        self.media = self.root / "media"
        self.originals = self.media / "originals"
        self.renditions = self.media / "renditions"
        self.index = self.media / "index"
        self.work = self.media / "tmp"

    def params_key(self, profile: Profile, chimes: bool) -> str:
        c = self.config
        spec = (f"v{PIPELINE_VERSION}|{c.target_lufs}|{c.true_peak_dbtp}|{profile.value}|{c.sample_rate}"
                f"|{c.bitrate_kbps(profile)}|q{c.lame_quality}|chimes={chimes}")
        return hashlib.sha256(spec.encode()).hexdigest()[:16]

    def media_path(self, sha256: str) -> Path:
        """Path of a rendition by its sha256 (what devices download)."""
        if not _SHA_RE.match(sha256 or ""):
            raise MediaNotFoundError(sha256=str(sha256)[:80])
        path = self.renditions / f"{sha256}.mp3"
        if not path.is_file():
            raise MediaNotFoundError(sha256=sha256)
        return path

    def original_path(self, sha256: str, ext: str) -> Path:
        return self.originals / sha256[:2] / f"{sha256}.{ext}"

    def _index_path(self, original_sha: str, key: str) -> Path:
        return self.index / f"{original_sha}-{key}.json"

    def lookup(self, original_sha: str, profile: Profile | str = Profile.speech,
               chimes: bool = False) -> StoredAsset | None:
        entry = self._index_path(original_sha, self.params_key(Profile(profile), chimes))
        if not entry.is_file():
            return None
        asset = StoredAsset.from_dict(json.loads(entry.read_text(encoding="utf-8")))
        if not (self.renditions / f"{asset.rendition_sha256}.mp3").is_file():
            return None  # rendition lost: render again
        return replace(asset, reused=True)

    def ingest(self, path: str | Path, original_name: str, profile: Profile | str = Profile.speech,
               *, chimes: bool = False, checked: ProbeResult | None = None) -> StoredAsset:
        """Validate, keep the original, render the rendition; idempotent per (content, parameters).

        `checked`: the result of an earlier validate() of this same file, so it is not decoded twice.
        """
        name = check_file_name(original_name)
        profile = Profile(profile)
        src = Path(path)
        check_size(src, self.config)  # cheap limits before hashing 500 MB
        original_sha = sha256_file(src)
        existing = self.lookup(original_sha, profile, chimes)
        if existing is not None:
            return existing
        checked = checked or validate(src, self.config)
        key = self.params_key(profile, chimes)
        with temp_path(self.work, ".mp3") as rendered:
            if chimes:
                with temp_path(self.work, ".wav") as joined:
                    join_with_chimes(src, joined, sample_rate=self.config.sample_rate,
                                     work_dir=self.work)
                    result = normalize(joined, rendered, profile=profile, config=self.config)
            else:
                result = normalize(src, rendered, profile=profile, config=self.config,
                                   probe_result=checked)
            rendition_sha = sha256_file(rendered)
            final = self.renditions / f"{rendition_sha}.mp3"
            publish(rendered, final)
        original = self.original_path(original_sha, checked.extension)
        if not original.is_file():
            copy_atomic(src, original)
        asset = StoredAsset(
            original_sha256=original_sha,
            original_name=name,
            original_ext=checked.extension,
            original_bytes=checked.size_bytes,
            rendition_sha256=rendition_sha,
            rendition_bytes=final.stat().st_size,
            duration_ms=result.duration_ms,
            profile=profile.value,
            params_key=key,
            loudness=result,
        )
        write_text_atomic(self._index_path(original_sha, key),
                          json.dumps(asset.to_dict(), ensure_ascii=False, indent=1))
        return asset

    def ingest_text(self, text: str, voice: str = "vi", *, engine=None) -> StoredAsset:
        """Text-to-speech, then the same path as an upload (speech profile)."""
        from .tts import synthesize_to_file

        with temp_path(self.work, ".wav") as wav:
            synthesize_to_file(text, wav, voice=voice, engine=engine, config=self.config)
            return self.ingest(wav, "tts.wav", Profile.speech)
