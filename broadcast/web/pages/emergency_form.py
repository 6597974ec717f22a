"""The emergency flow's values as its forms carry them from step to step (targets, content, confirmation), and
the request the emergency service takes once the operator confirms."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import FormData, QueryParams

from broadcast.domain.audio import TTS_VOICES
from broadcast.domain.errors import InvalidInput
from broadcast.services.emergencies import MAX_TARGETS, AudioFile, EmergencyRequest

SOURCES = {"text": "Văn bản đọc tự động", "recording": "Ghi âm từ micrô", "asset": "Tệp âm thanh có sẵn"}
VOICE_LABELS = {"vi": "Giọng miền Bắc", "vi-vn-x-central": "Giọng miền Trung", "vi-vn-x-south": "Giọng miền Nam"}
VOICES = {voice: VOICE_LABELS.get(voice, voice) for voice in TTS_VOICES}
MINUTES = {15: "15 phút", 30: "30 phút", 60: "1 giờ", 120: "2 giờ", 240: "4 giờ", 720: "12 giờ", 1440: "24 giờ"}
DEFAULT_MINUTES = 60
MAX_TEXT = 20_000


def _ids(data: FormData | QueryParams, name: str) -> tuple[str, ...]:
    values = [str(v).strip()[:64] for v in data.getlist(name)]
    return tuple(dict.fromkeys(v for v in values if v))[:MAX_TARGETS]


def _int(raw: object, default: int) -> int:
    text = str(raw if raw is not None else "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else default


@dataclass(frozen=True)
class Targets:
    areas: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    @classmethod
    def of(cls, data: FormData | QueryParams) -> Targets:
        return cls(_ids(data, "areas"), _ids(data, "zones"), _ids(data, "devices"))

    def __bool__(self) -> bool:
        return bool(self.areas or self.zones or self.devices)

    def query(self) -> str:
        return urlencode([("areas", a) for a in self.areas] + [("zones", z) for z in self.zones]
                         + [("devices", d) for d in self.devices])


@dataclass(frozen=True)
class Content:
    """What the operator entered in the content step (a recording by its token once uploaded)."""

    reason: str = ""
    source: str = "text"
    text: str = ""
    voice: str = "vi"
    audio_id: int | None = None
    recording: str = ""  # token of the uploaded recording
    recording_name: str = ""
    minutes: int = DEFAULT_MINUTES
    volume: int = 100

    @classmethod
    def of(cls, data: FormData) -> Content:
        source = str(data.get("source", "text"))
        voice = str(data.get("voice", "vi"))
        audio = _int(data.get("audio_id"), 0)
        minutes = _int(data.get("minutes"), DEFAULT_MINUTES)
        return cls(reason=str(data.get("reason", "")).strip()[:1000], source=source if source in SOURCES else "text",
                   text=str(data.get("text", "")).strip()[:MAX_TEXT], voice=voice if voice in VOICES else "vi",
                   audio_id=audio or None, recording=str(data.get("recording", ""))[:64],
                   recording_name=str(data.get("recording_name", "")).strip()[:120],
                   minutes=minutes if minutes in MINUTES else DEFAULT_MINUTES,
                   volume=max(0, min(_int(data.get("volume"), 100), 100)))

    def check(self) -> None:
        """What the confirmation needs before it can name the content; the service checks everything again."""
        if not self.reason:
            raise InvalidInput("Cần ghi lý do phát khẩn cấp (ví dụ: lũ quét, cháy rừng).", code="invalid_reason")
        if self.source == "text" and not self.text:
            raise InvalidInput("Cần nhập nội dung để đọc tự động.", code="text_empty")
        if self.source == "recording" and not self.recording:
            raise InvalidInput("Cần ghi âm (hoặc chọn tệp ghi âm) trước khi tiếp tục.", code="recording_missing")
        if self.source == "asset" and self.audio_id is None:
            raise InvalidInput("Cần chọn một tệp âm thanh có sẵn.", code="no_audio")

    def request(self, targets: Targets, recording: AudioFile | None) -> EmergencyRequest:
        return EmergencyRequest(
            reason=self.reason, areas=targets.areas, zones=targets.zones, devices=targets.devices,
            text=self.text if self.source == "text" else None, voice=self.voice,
            audio_id=self.audio_id if self.source == "asset" else None,
            audio_file=recording if self.source == "recording" else None,
            expires_in_minutes=self.minutes, volume=self.volume)
