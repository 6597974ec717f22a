"""Tables for device health and alerts (migrations 0015, 0016).

Kept beside models.py, on the same Base, so each feature's tables read together.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from broadcast.persistence.models import Base


class DeviceHealthRow(Base):
    """A device's newest health (spec section 9.1), one row per device that ever sent one."""

    __tablename__ = "device_health"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime]  # when the server received it
    temperature_c: Mapped[int | None]
    supply_mv: Mapped[int | None]
    amplifier: Mapped[str | None] = mapped_column(String(8))
    speaker_line: Mapped[str | None] = mapped_column(String(8))
    rssi_dbm: Mapped[int | None]
    network: Mapped[str | None] = mapped_column(String(16))
    uptime_s: Mapped[int | None]
    power: Mapped[str | None] = mapped_column(String(4))


class DeviceHealthSampleRow(Base):
    """The history, downsampled: one row per device and bucket (LOAXA_HEALTH_BUCKET_MINUTES) with the range and the
    last value of each number and how many samples showed each fault, kept LOAXA_HEALTH_RETENTION_DAYS."""

    __tablename__ = "device_health_samples"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True, index=True)  # the bucket's start (UTC)
    samples: Mapped[int] = mapped_column(Integer)
    temperature_min: Mapped[int | None]
    temperature_max: Mapped[int | None]
    temperature_last: Mapped[int | None]
    supply_min: Mapped[int | None]
    supply_max: Mapped[int | None]
    supply_last: Mapped[int | None]
    rssi_last: Mapped[int | None]
    amplifier_faults: Mapped[int] = mapped_column(Integer)  # samples with the amplifier in fault
    line_faults: Mapped[int] = mapped_column(Integer)  # samples with the speaker line open or short
    power_off: Mapped[int] = mapped_column(Integer)  # samples with the amplifier relay off


class AlertRow(Base):
    """One per (device, cause) while unresolved (a partial unique index); resolved ones stay as history."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    cause: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending open acknowledged resolved
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]
    clear_since: Mapped[datetime | None]
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(1000))
    resolved_at: Mapped[datetime | None]
    __table_args__ = (Index("uq_alert_unresolved", "device_id", "cause", unique=True,
                            sqlite_where=text("state != 'resolved'"), postgresql_where=text("state != 'resolved'")),)


class AlertThresholdRow(Base):
    """An area's overrides of the alert thresholds (domain/alerts.py Thresholds); a commune inherits the rest."""

    __tablename__ = "alert_thresholds"
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), primary_key=True)
    overrides: Mapped[dict] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
