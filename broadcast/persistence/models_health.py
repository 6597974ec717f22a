"""Tables for device health and alerts (migrations 0015, 0018).

Kept beside models.py, on the same Base, so each feature's tables read together.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
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
