"""The fixed lists officers pick from, each code with its Vietnamese label: the API publishes them
(`GET /api/v1/vocabularies`) and the pages build their choices from them, so a code is never shown to a person."""
from __future__ import annotations

from collections.abc import Mapping

from broadcast.domain.audio import LANGUAGES, TOPICS, TTS_VOICES, AssetStatus
from broadcast.domain.priority import Priority
from broadcast.domain.scheduling import SOURCES

# espeak-ng's three Vietnamese voices (audio_library/tts.py): the northern one is its plain "vi".
VOICE_LABELS = {"vi": "Giọng miền Bắc", "vi-vn-x-central": "Giọng miền Trung", "vi-vn-x-south": "Giọng miền Nam"}
PROFILE_LABELS = {"speech": "Lời nói", "music": "Âm nhạc"}
ASSET_STATUS_LABELS = {AssetStatus.PROCESSING.value: "Đang xử lý", AssetStatus.READY.value: "Sẵn sàng",
                       AssetStatus.FAILED.value: "Lỗi xử lý"}
PRIORITY_LABELS = {p.value: p.label_vi for p in Priority}

assert set(VOICE_LABELS) == set(TTS_VOICES), "every voice the TTS offers has a label"


def choices(labels: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"code": code, "label": label} for code, label in labels.items()]


def vocabularies() -> dict[str, list[dict[str, str]]]:
    """Every vocabulary, in the order a form offers it."""
    return {"topics": choices(TOPICS), "languages": choices(LANGUAGES), "sources": choices(SOURCES),
            "priorities": choices(PRIORITY_LABELS), "voices": choices(VOICE_LABELS),
            "profiles": choices(PROFILE_LABELS), "audio_statuses": choices(ASSET_STATUS_LABELS)}
