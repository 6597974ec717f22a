"""An audio asset as the library and programme pages show it: Vietnamese labels for its codes, its loudness figures
in words and numbers a commune officer reads (decimal comma), and where the browser can listen to it."""
from __future__ import annotations

from dataclasses import dataclass

from broadcast.domain.audio import LANGUAGES, TOPICS, AssetStatus, AudioAsset
from broadcast.domain.auth import Action, Principal
from broadcast.domain.vocabularies import ASSET_STATUS_LABELS, PROFILE_LABELS, VOICE_LABELS
from broadcast.services.areas import get_area
from broadcast.web.pages.area_choices import area_names

KIND_LABELS = {"upload": "Tệp tải lên", "tts": "Đọc từ văn bản"}


def number(value: object, digits: int = 1) -> str:
    """-16.04 -> "-16,0": Vietnamese writes a decimal comma."""
    if not isinstance(value, int | float):
        return "—"
    return f"{value:.{digits}f}".replace(".", ",")


def duration(ms: int | None) -> str:
    """Milliseconds as m:ss, or h:mm:ss past an hour."""
    if ms is None:
        return "—"
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def size(value: int | None) -> str:
    if value is None:
        return "—"
    if value < 1024 * 1024:
        return f"{number(value / 1024)} KB"
    return f"{number(value / (1024 * 1024))} MB"


@dataclass(frozen=True)
class Figure:
    label: str
    value: str


@dataclass(frozen=True)
class AssetView:
    asset: AudioAsset
    area_name: str
    may_manage: bool

    @property
    def id(self) -> int:
        return self.asset.id

    @property
    def processing(self) -> bool:
        return self.asset.status is AssetStatus.PROCESSING

    @property
    def ready(self) -> bool:
        return self.asset.status is AssetStatus.READY

    @property
    def failed(self) -> bool:
        return self.asset.status is AssetStatus.FAILED

    @property
    def status_label(self) -> str:
        return ASSET_STATUS_LABELS[self.asset.status.value]

    @property
    def topic_label(self) -> str:
        return TOPICS.get(self.asset.topic, "Khác")

    @property
    def language_label(self) -> str:
        return LANGUAGES.get(self.asset.language, "Ngôn ngữ khác")

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.asset.kind, "Tệp âm thanh")

    @property
    def voice_label(self) -> str | None:
        return VOICE_LABELS.get(self.asset.voice or "") if self.asset.kind == "tts" else None

    @property
    def duration(self) -> str:
        return duration(self.asset.duration_ms)

    @property
    def media_path(self) -> str | None:
        """The rendition devices play; same origin, so the page's strict CSP lets the <audio> element load it."""
        return f"/media/{self.asset.sha256}.mp3" if self.ready and self.asset.sha256 else None

    @property
    def summary(self) -> list[Figure]:
        """The figures a card shows: length, loudness after rendering (and before), true peak."""
        loud = self.asset.loudness or {}
        figures = [Figure("Thời lượng", self.duration)]
        if self.ready:
            figures.append(Figure("Độ to", f"{number(loud.get('output_lufs'))} LUFS"))
            figures.append(Figure("Đỉnh thực", f"{number(loud.get('output_true_peak_dbtp'))} dBTP"))
            figures.append(Figure("Độ to bản gốc", f"{number(loud.get('input_lufs'))} LUFS"))
        return figures

    @property
    def details(self) -> list[Figure]:
        """Everything the rendering measured, for the asset's own page."""
        loud = self.asset.loudness or {}
        figures = [*self.summary]
        if self.ready:
            figures += [
                Figure("Đỉnh thực bản gốc", f"{number(loud.get('input_true_peak_dbtp'))} dBTP"),
                Figure("Biên độ độ to (LRA)", f"{number(loud.get('output_lra_lu'))} LU"),
                Figure("Mức điều chỉnh", f"{number(loud.get('gain_db'))} dB"),
                Figure("Mục tiêu", f"{number(loud.get('target_lufs'))} LUFS, đỉnh tối đa "
                                   f"{number(loud.get('true_peak_ceiling_dbtp'))} dBTP"),
                Figure("Kiểu nội dung", PROFILE_LABELS.get(self.asset.profile, self.asset.profile)),
                Figure("Định dạng phát", f"MP3 {loud.get('bitrate_kbps', '—')} kbps, "
                                         f"{number((loud.get('sample_rate') or 0) / 1000)} kHz"),
                Figure("Dung lượng", size(self.asset.bytes)),
            ]
        return figures

    @property
    def long_silences(self) -> list[str]:
        """Silences of 5 s or more in the rendition, as "0:12–0:19"."""
        ranges = (self.asset.silences or {}).get("ranges_ms") or []
        return [f"{duration(round(start))}–{duration(round(end))}" for start, end in ranges
                if isinstance(start, int | float) and isinstance(end, int | float)]


class Rights:
    """What the principal may do with assets, area by area (each area looked up once per request)."""

    def __init__(self, uow, principal: Principal):
        self.uow, self.principal = uow, principal
        self._manage: dict[str | None, bool] = {None: principal.may(Action.MANAGE_USERS, None)}

    def may_manage(self, area_code: str | None) -> bool:
        if area_code is None:
            return self.shared_library
        if area_code not in self._manage:
            self._manage[area_code] = self.principal.may(Action.MANAGE_AUDIO, get_area(self.uow, area_code).chain())
        return self._manage[area_code]

    @property
    def shared_library(self) -> bool:
        """Only an administrator adds to, or deletes from, the library every area shares."""
        return self._manage[None]


def asset_views(uow, principal: Principal, assets: list[AudioAsset]) -> list[AssetView]:
    rights = Rights(uow, principal)
    names = area_names(uow, (a.area_code for a in assets))
    return [AssetView(a, names[a.area_code], rights.may_manage(a.area_code)) for a in assets]
