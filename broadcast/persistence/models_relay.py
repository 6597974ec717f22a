"""Tables for relay channels and their probes (migration 0020).

Kept beside models.py, on the same Base, so each feature's tables read together. A programme that relays a
channel points at it (programmes.relay_channel_id, added by the same migration).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from broadcast.persistence.models import Base, UtcDateTime  # noqa: F401


class RelayChannelRow(Base):
    """A station in the relay catalogue, with what its last probe found (probe_* all NULL before the first)."""

    __tablename__ = "relay_channels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(16))  # vov | provincial | other
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    probe_checked_at: Mapped[datetime | None]
    probe_reachable: Mapped[bool | None] = mapped_column(Boolean)
    probe_codec: Mapped[str | None] = mapped_column(String(32))
    probe_bitrate_kbps: Mapped[int | None] = mapped_column(Integer)
    probe_error: Mapped[str | None] = mapped_column(String(500))
