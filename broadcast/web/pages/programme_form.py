"""The programme form of the web pages: what an officer fills in, read back from the posted fields, and turned into
the services' `ProgrammeDraft`.

Without JavaScript the order of the audio is the order of numbered fields (`item_1`, `item_2`, ...: one <select>
each), and legal references are numbered rows too (`law_1`, `number_1`, `article_1`); programmes.js only moves
values between those fields, so both ways post the same thing."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from broadcast.domain.errors import InvalidInput
from broadcast.domain.scheduling import LegalRef, Programme
from broadcast.services.programmes import MAX_ITEMS, MAX_STREAM_MS, ProgrammeDraft

MAX_REFS = 20
SPARE_ITEMS = 2  # empty audio rows offered below the chosen ones (more with JavaScript's "Thêm tệp")
MIN_ITEM_ROWS = 3
CONTENTS = {"audio": "Các tệp âm thanh, phát lần lượt", "stream": "Tiếp sóng một luồng phát thanh"}
MAX_STREAM_MINUTES = MAX_STREAM_MS // 60_000


@dataclass(frozen=True)
class RefRow:
    law: str = ""
    number: str = ""
    article: str = ""


@dataclass
class ProgrammeForm:
    title: str = ""
    area_code: str = ""
    topic: str = "other"
    language: str = "vi"
    source: str = "commune"
    priority: str = "normal"
    content: str = "audio"
    items: list[str] = field(default_factory=list)  # asset ids in playing order
    stream_url: str = ""
    relay_channel: str = ""  # a catalogued channel's id (services/relay_channels.py), instead of a raw URL
    stream_minutes: str = ""
    refs: list[RefRow] = field(default_factory=list)

    @classmethod
    def from_form(cls, form: Mapping[str, object]) -> ProgrammeForm:
        def text(name: str, default: str = "") -> str:
            value = form.get(name, default)
            return value.strip() if isinstance(value, str) else default

        items = [v for n in range(1, MAX_ITEMS + 1) if (v := text(f"item_{n}"))]
        refs = [RefRow(text(f"law_{n}"), text(f"number_{n}"), text(f"article_{n}")) for n in range(1, MAX_REFS + 1)]
        return cls(title=text("title"), area_code=text("area_code"), topic=text("topic", "other"),
                   language=text("language", "vi"), source=text("source", "commune"),
                   priority=text("priority", "normal"), content=text("content", "audio"), items=items,
                   stream_url=text("stream_url"), relay_channel=text("relay_channel"),
                   stream_minutes=text("stream_minutes"),
                   refs=[r for r in refs if r.law or r.number or r.article])

    @classmethod
    def from_programme(cls, programme: Programme) -> ProgrammeForm:
        minutes = str(max(1, round(programme.stream_duration_ms / 60_000))) if programme.stream_duration_ms else ""
        return cls(title=programme.title, area_code=programme.area_code, topic=programme.topic,
                   language=programme.language, source=programme.source, priority=programme.priority.value,
                   content="stream" if programme.stream_url else "audio",
                   items=[str(a) for a in programme.asset_ids],
                   stream_url="" if programme.relay_channel_id else programme.stream_url or "",
                   relay_channel=str(programme.relay_channel_id or ""), stream_minutes=minutes,
                   refs=[RefRow(r.law, r.number, r.article) for r in programme.legal_refs])

    @property
    def item_rows(self) -> list[str]:
        """The chosen ids, then empty rows to add more."""
        count = min(MAX_ITEMS, max(MIN_ITEM_ROWS, len(self.items) + SPARE_ITEMS))
        return (self.items + [""] * count)[:count]

    @property
    def ref_rows(self) -> list[RefRow]:
        count = min(MAX_REFS, max(1, len(self.refs) + 1))
        return (self.refs + [RefRow()] * count)[:count]

    def draft(self) -> ProgrammeDraft:
        """The services' draft; the services check everything else (title, codes, rights, assets)."""
        if not self.area_code:
            raise InvalidInput("Cần chọn khu vực của chương trình.", code="area_code_required")
        if self.content not in CONTENTS:
            raise InvalidInput("Cần chọn nội dung: các tệp âm thanh hoặc tiếp sóng.", code="programme_content")
        if any(r.law == "" for r in self.refs):
            raise InvalidInput("Mỗi căn cứ pháp lý cần có tên văn bản.", code="invalid_legal_ref")
        if any(len(r.number) > 64 or len(r.article) > 64 for r in self.refs):
            raise InvalidInput("Số hiệu và điều khoản của căn cứ pháp lý dài tối đa 64 ký tự.",
                               code="invalid_legal_ref")
        refs = tuple(LegalRef(r.law, r.number, r.article) for r in self.refs)
        draft = ProgrammeDraft(title=self.title, area_code=self.area_code, topic=self.topic, language=self.language,
                               source=self.source, priority=self.priority, legal_refs=refs)
        if self.content == "stream" and self.relay_channel:
            if not self.relay_channel.isdigit():
                raise InvalidInput("Kênh tiếp sóng được chọn không hợp lệ.", code="relay_channel_not_found")
            return replace(draft, relay_channel_id=int(self.relay_channel), stream_duration_ms=self._stream_ms())
        if self.content == "stream":
            return replace(draft, stream_url=self.stream_url or None, stream_duration_ms=self._stream_ms())
        if not all(v.isdigit() for v in self.items):
            raise InvalidInput("Tệp âm thanh được chọn không hợp lệ.", code="invalid_item")
        if not self.items:
            raise InvalidInput("Cần chọn ít nhất một tệp âm thanh.", code="programme_content")
        return replace(draft, asset_ids=tuple(int(v) for v in self.items))

    def _stream_ms(self) -> int:
        if not self.stream_url and not self.relay_channel:
            raise InvalidInput("Cần chọn kênh tiếp sóng hoặc nhập địa chỉ luồng.", code="invalid_stream_url")
        if not self.stream_minutes.isdigit() or not 1 <= int(self.stream_minutes) <= MAX_STREAM_MINUTES:
            raise InvalidInput(f"Thời lượng tiếp sóng phải từ 1 đến {MAX_STREAM_MINUTES} phút.",
                               code="invalid_stream_duration")
        return int(self.stream_minutes) * 60_000
