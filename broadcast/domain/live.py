"""Live broadcast sessions (phát trực tiếp): who may go live when, and what a session is.

An editor goes live (class normal or priority) only inside the allowed windows of every commune the targets lie
in, and the devices are told to stop at the end of the narrowest such window, so a live talk cannot run into
quiet hours. An emergency operator goes live as class emergency at any time; it is exempt from policy like every
emergency. Pure rules: no I/O.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from broadcast.domain.errors import InvalidInput
from broadcast.domain.policy import Policy, allowed_until
from broadcast.domain.recurrence import DEFAULT_TZ, WEEKDAY_NAMES_VI, zone_for

LIVE_CLASSES = ("normal", "priority", "emergency")
CLASS_LABELS_VI = {"normal": "thông thường", "priority": "ưu tiên", "emergency": "khẩn cấp"}
MIN_LIVE = timedelta(minutes=1)  # less than this left in the window: refused rather than cut at once


class LiveStatus(StrEnum):
    WAITING = "waiting"  # created, commands staged, no audio yet
    LIVE = "live"  # audio flowing into the mount
    ENDED = "ended"  # stopped by the officer (or reached its end)
    DROPPED = "dropped"  # the link went away: socket closed or silent too long
    FAILED = "failed"  # the encoder or Icecast refused

    @property
    def open(self) -> bool:
        return self in (LiveStatus.WAITING, LiveStatus.LIVE)


STATUS_LABELS_VI = {LiveStatus.WAITING: "đang chờ âm thanh", LiveStatus.LIVE: "đang phát",
                    LiveStatus.ENDED: "đã kết thúc", LiveStatus.DROPPED: "mất kết nối",
                    LiveStatus.FAILED: "lỗi"}


@dataclass(frozen=True)
class LiveSession:
    id: int
    status: LiveStatus
    priority: str  # normal | priority | emergency
    area_code: str  # the narrowest area holding every target: listing and reading rights
    targets: dict[str, Any]  # {areas, zones, devices} as asked, plus {publish: {zones, devices}, chains, tracked}
    mount: str  # Icecast mount path, e.g. "live-12-3f9a.mp3"
    stream_url: str
    created_by: str
    created_at: datetime
    ends_at: datetime  # the play_now's end: window end (editor) or the maximum length
    cmd_id: str | None = None
    stop_cmd_id: str | None = None
    started_at: datetime | None = None  # first audio
    ended_at: datetime | None = None
    end_reason: str | None = None  # stopped | socket_closed | idle | encoder_failed | time_up | never_connected
    bytes_received: int = 0
    recording_id: int | None = None  # the audio asset made from the recording
    recording_error: str | None = None


TITLE_MAX = 300  # the play log's title column
PLACES_SHOWN = 5


def session_label(officer: str, username: str, places: Sequence[str]) -> str:
    """Who went live to where, as officers read it: "Nguyễn Văn An (bien-tap) → Phường Hoàn Kiếm; Thôn 3"."""
    who = f"{officer} ({username})" if officer and officer != username else username
    shown = list(places[:PLACES_SHOWN])
    more = len(places) - len(shown)
    where = "; ".join(shown) + (f" và {more} nơi nhận khác" if more > 0 else "")
    return f"{who} → {where}" if where else who


def live_title(session_id: int, targets: dict[str, Any], created_by: str) -> str:
    """A live session's title in the play log and reports: its number, who and where (the label written when it
    started; a session from before labels names its officer only)."""
    label = str(targets.get("label") or created_by)
    return " ".join(f"Phát trực tiếp số {session_id}: {label}".split())[:TITLE_MAX]


def check_class(priority: str) -> None:
    if priority not in LIVE_CLASSES:
        raise InvalidInput(f"Mức ưu tiên không hợp lệ: {priority!r}. Hợp lệ: {', '.join(LIVE_CLASSES)}.",
                           code="invalid_priority")


def window_end(policy: Policy, now: datetime, tz: str = DEFAULT_TZ) -> datetime:
    """The end of the allowed window `now` lies in; InvalidInput (policy.*) when now is in quiet hours."""
    local = now.astimezone(zone_for(tz))
    day = local.weekday()
    if day not in policy.allowed_weekdays:
        raise InvalidInput(f"Địa bàn không cho phép phát thanh vào {WEEKDAY_NAMES_VI[day]}.",
                           code="policy.weekday_not_allowed")
    end = allowed_until(policy, local)
    if end is not None and end - local >= MIN_LIVE:
        return end
    listed = ", ".join(str(w) for w in policy.windows[day]) or "không có khung giờ nào"
    when = f"{local:%H:%M} {WEEKDAY_NAMES_VI[day]} {local:%d/%m/%Y}"
    raise InvalidInput(f"Bây giờ ({when}) nằm ngoài khung giờ được phép phát ({listed}). "
                       "Chỉ phát khẩn cấp mới được phát ngoài khung giờ.", code="policy.outside_window")


def cap_end(policy: Policy, used_s: int, now: datetime) -> datetime | None:
    """The end the area's daily cap leaves (None without a cap), given the seconds already taken today; InvalidInput
    (policy.daily_cap_exceeded) when less than a minute is left."""
    cap = policy.max_minutes_per_day
    if cap is None:
        return None
    left_s = cap * 60 - used_s
    if left_s < MIN_LIVE.total_seconds():
        raise InvalidInput(f"Hôm nay địa bàn đã phát {-(-used_s // 60)} phút, hết giới hạn {cap} phút/ngày. "
                           "Chỉ phát khẩn cấp mới được phát vượt giới hạn.", code="policy.daily_cap_exceeded")
    return now + timedelta(seconds=left_s)


def counted_s(session: LiveSession, now: datetime) -> int:
    """What a session takes of its areas' daily cap: its real length once over, up to its planned end while open
    (the room is held), nothing when it never sounded or was an emergency."""
    if session.priority == "emergency":
        return 0
    if session.status.open:
        start, end = session.started_at or now, session.ends_at
    elif session.started_at is None or session.ended_at is None:
        return 0
    else:
        start, end = session.started_at, session.ended_at
    return max(0, int((end - start).total_seconds()))


def live_end(policies: Iterable[Policy], now: datetime, max_length: timedelta, tz: str = DEFAULT_TZ, *,
             limits: Iterable[datetime] = ()) -> datetime:
    """When the devices stop by themselves: the earliest window end over the communes (none for emergencies,
    pass no policies), any other limit (daily caps), and never later than the maximum length."""
    ends = [window_end(p, now, tz) for p in policies]
    return min([now + max_length, *ends, *limits]).replace(microsecond=0)


def mount_name(session_id: int, token: str) -> str:
    """An unguessable mount per session: only devices sent the command know where to listen."""
    return f"live-{session_id}-{token}.mp3"
