"""Programme audio as the library keeps it: uploads and text-to-speech, with their loudspeaker rendition."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from broadcast.domain.errors import InvalidInput
from broadcast.domain.text import clean_text


class AssetStatus(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


# Decree 49/2024: Vietnamese and local ethnic-minority languages (minority items are recorded audio).
LANGUAGES = {
    "vi": "Tiếng Việt", "mtq": "Tiếng Mường", "km": "Tiếng Khmer", "tyz": "Tiếng Tày", "tdd": "Tiếng Thái",
    "hmn": "Tiếng H'Mông", "nut": "Tiếng Nùng", "rad": "Tiếng Ê Đê", "jra": "Tiếng Gia Rai", "bdq": "Tiếng Ba Na",
    "cja": "Tiếng Chăm", "sed": "Tiếng Xơ Đăng", "kpm": "Tiếng Cơ Ho", "other": "Ngôn ngữ khác",
}

# Legal-education topics (PBGDPL), plus general ones.
TOPICS = {
    "land": "Đất đai", "road_traffic": "Trật tự an toàn giao thông", "marriage_family": "Hôn nhân và gia đình",
    "domestic_violence": "Phòng, chống bạo lực gia đình", "children": "Trẻ em",
    "fire_prevention": "Phòng cháy, chữa cháy", "grassroots_mediation": "Hòa giải ở cơ sở",
    "drugs": "Phòng, chống ma túy", "environment": "Bảo vệ môi trường", "cybersecurity": "An ninh mạng",
    "health": "Y tế, phòng chống dịch bệnh", "disaster": "Phòng, chống thiên tai", "elections": "Bầu cử",
    "citizen_feedback": "Trả lời phản ánh, kiến nghị", "news": "Thông tin thời sự", "music": "Âm nhạc",
    "other": "Khác",
}

TTS_VOICES = ("vi", "vi-vn-x-central", "vi-vn-x-south")


@dataclass(frozen=True)
class AudioMeta:
    title: str
    language: str = "vi"
    topic: str = "other"
    profile: str = "speech"
    area_code: str | None = None  # None: the shared library

    def checked(self) -> AudioMeta:
        title = clean_text(self.title, "Tiêu đề")
        if not title or len(title) > 300:
            raise InvalidInput("Tiêu đề phải có từ 1 đến 300 ký tự.", code="invalid_title")
        if self.language not in LANGUAGES:
            raise InvalidInput(f"Ngôn ngữ không hợp lệ: {self.language!r}.", code="invalid_language")
        if self.topic not in TOPICS:
            raise InvalidInput(f"Chủ đề không hợp lệ: {self.topic!r}.", code="invalid_topic")
        if self.profile not in ("speech", "music"):
            raise InvalidInput("Kiểu nội dung phải là speech (lời nói) hoặc music (âm nhạc).", code="invalid_profile")
        area_code = (self.area_code or "").strip() or None  # a form's empty field is a missing one
        return AudioMeta(title, self.language, self.topic, self.profile, area_code)


@dataclass(frozen=True)
class AudioAsset:
    id: int
    title: str
    kind: str
    language: str
    topic: str
    area_code: str | None
    profile: str
    status: AssetStatus
    original_name: str
    created_by: str
    created_at: datetime
    original_sha256: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    duration_ms: int | None = None
    loudness: dict[str, Any] = field(default_factory=dict)
    silences: dict[str, Any] = field(default_factory=dict)
    tts_text: str | None = None
    voice: str | None = None
    error_code: str | None = None
    error_message: str | None = None
