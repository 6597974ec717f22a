"""Relay channels: the radio stations a commune relays (VOV, the provincial station, others), and what the last
probe of each found.

Devices open the URL themselves (protocol section 9.3: HTTP, Icecast-compatible, MP3), so a channel's URL is
http or https. A probe is the server's own look at the stream (ffprobe), recorded on the channel so officers see
a dead station before its relay is due.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from broadcast.domain.errors import InvalidInput
from broadcast.domain.text import clean_text

NAME_MAX_CHARS = 100
URL_MAX_CHARS = 500


class ChannelKind(StrEnum):
    VOV = "vov"
    PROVINCIAL = "provincial"
    OTHER = "other"


KIND_LABELS_VI = {ChannelKind.VOV: "Đài Tiếng nói Việt Nam (VOV)", ChannelKind.PROVINCIAL: "Đài tỉnh",
                  ChannelKind.OTHER: "Khác"}


@dataclass(frozen=True)
class ProbeResult:
    """One look at a stream: reachable with its codec and bitrate, or the error."""

    checked_at: datetime
    reachable: bool
    codec: str | None = None
    bitrate_kbps: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class RelayChannel:
    id: int
    name: str
    url: str
    kind: ChannelKind
    created_by: str
    created_at: datetime
    updated_at: datetime
    probe: ProbeResult | None = None  # None until the first probe


@dataclass(frozen=True)
class ChannelDraft:
    name: str
    url: str
    kind: str = ChannelKind.OTHER.value


def check_draft(draft: ChannelDraft) -> ChannelDraft:
    """The draft cleaned, or InvalidInput naming the field at fault."""
    name = " ".join(clean_text(draft.name, "Tên kênh").split())
    if not name or len(name) > NAME_MAX_CHARS:
        raise InvalidInput(f"Tên kênh phải có từ 1 đến {NAME_MAX_CHARS} ký tự.", code="invalid_channel_name",
                           details={"field": "name"})
    url = draft.url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > URL_MAX_CHARS or " " in url:
        raise InvalidInput("Địa chỉ luồng phải là một địa chỉ http:// hoặc https:// (thiết bị nghe luồng qua HTTP), "
                           f"tối đa {URL_MAX_CHARS} ký tự.", code="invalid_stream_url", details={"field": "url"})
    try:
        kind = ChannelKind(draft.kind)
    except ValueError:
        raise InvalidInput("Loại kênh phải là vov, provincial hoặc other.", code="invalid_channel_kind",
                           details={"field": "kind"}) from None
    return ChannelDraft(name, url, kind.value)
