"""Tables for webhooks and the notification outbox (migration 0017).

Kept beside models.py, on the same Base, so each feature's tables read together.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from broadcast.persistence.models import Base


class WebhookRow(Base):
    """An HTTP endpoint told of alert events in one area (and below), signed with its own secret."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))  # HMAC-SHA256 key; shown once at creation
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    causes: Mapped[list] = mapped_column(JSON, default=list)  # empty: every cause
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class NotificationRow(Base):
    """The outbox: one row per message and recipient, staged with the event, delivered and retried by a job.
    Per recipient, messages go out in id order and a failing one holds back the later ones (in order, once)."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | webhook
    recipient: Mapped[str] = mapped_column(String(254))  # an e-mail address, or the webhook's id
    event_id: Mapped[str] = mapped_column(String(64))  # the same for every recipient of one event
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # the e-mail's text, or the webhook's JSON
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    __table_args__ = (Index("ix_notifications_pending", "sent_at", "next_attempt_at"),)
