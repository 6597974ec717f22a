"""Tables for live broadcast sessions (migration 0019).

Kept beside models.py, on the same Base, so each feature's tables read together.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from broadcast.persistence.models import Base, UtcDateTime  # noqa: F401


class LiveSessionRow(Base):
    """One live broadcast: its targets, mount, commands, how it ended, and the asset made from its recording."""

    __tablename__ = "live_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # waiting | live | ended | dropped | failed
    priority: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    targets: Mapped[dict]
    mount: Mapped[str] = mapped_column(String(200), unique=True)
    stream_url: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    cmd_id: Mapped[str | None] = mapped_column(String(128), index=True)
    stop_cmd_id: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    bytes_received: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("audio_assets.id", ondelete="SET NULL"))
    recording_error: Mapped[str | None] = mapped_column(String(500))
