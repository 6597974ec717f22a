"""Tables for the scheduler's leader lease (migration 0018).

Kept beside models.py, on the same Base, so each feature's tables read together.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from broadcast.persistence.models import Base, UtcDateTime


class SchedulerLeaseRow(Base):
    """One row per lease (`scheduler`): who holds it until when, and the fencing token of that holding.

    The token grows by one at every change of holder, so a publication checked against it can tell a current
    leader from a former one that was paused (docs/deployment.md, several nodes)."""

    __tablename__ = "scheduler_lease"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
