"""SQLAlchemy 2.0 typed models: the database is the source of truth."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict: JSON}


class AreaRow(Base):
    __tablename__ = "areas"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    division_type: Mapped[str] = mapped_column(String(40))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)


class ZoneRow(Base):
    __tablename__ = "zones"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # village, group, ...
    commune_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("commune_code", "name", name="uq_zone_name_per_commune"),)


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    grants: Mapped[list[GrantRow]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="GrantRow.id"
    )


class GrantRow(Base):
    __tablename__ = "user_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    user: Mapped[UserRow] = relationship(back_populates="grants")
    __table_args__ = (UniqueConstraint("user_id", "role", "area_code", name="uq_grant"),)


class LoginThrottleRow(Base):
    """Failed logins per key (username or address); survives restarts and is shared by workers."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class AuditRow(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(200))
    area_code: Mapped[str | None] = mapped_column(String(16), index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(default=dict)
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)


class DeviceRow(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    commune_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    vendor: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    connection: Mapped[str] = mapped_column(String(16))
    mqtt_password_hash: Mapped[str] = mapped_column(String(200))  # mosquitto $7$ PBKDF2; the secret is shown once
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    test_device: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # Live state, from status documents.
    online: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    last_seen: Mapped[datetime | None]
    firmware: Mapped[str | None] = mapped_column(String(64))
    volume: Mapped[int | None]
    playing_item: Mapped[str | None] = mapped_column(String(128))
    playing_since: Mapped[datetime | None]
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)
    storage_free_bytes: Mapped[int | None] = mapped_column(BigInteger)
    reported_version: Mapped[int | None] = mapped_column(BigInteger)
    zones: Mapped[list[DeviceZoneRow]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                      order_by="DeviceZoneRow.zone_id")


class DeviceZoneRow(Base):
    __tablename__ = "device_zones"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id"), primary_key=True, index=True)


class SchedulePublicationRow(Base):
    """The outbox of schedule documents: written with the change, published after commit, retried until acked."""

    __tablename__ = "schedule_publications"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict]
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    received_at: Mapped[datetime | None]  # first `received` (or later) ack of this version


class DeviceAckRow(Base):
    """Every ack stage once: idempotent on (device, ref, stage, item)."""

    __tablename__ = "device_acks"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    ref_kind: Mapped[str] = mapped_column(String(16))  # schedule | command
    ref_id: Mapped[str] = mapped_column(String(128))
    stage: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint("device_id", "ref_kind", "ref_id", "stage", "item_id", name="uq_device_ack"),
        Index("ix_device_acks_ref", "ref_kind", "ref_id"),
    )


class CommandRow(Base):
    """A live action (play now, stop, volume, resync), once per cmd_id whatever its targets."""

    __tablename__ = "commands"
    cmd_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str | None] = mapped_column(String(16))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    emergency_id: Mapped[int | None] = mapped_column(Integer, index=True)


class CommandPublicationRow(Base):
    """The command outbox: one signed document per target topic (a zone, or one device)."""

    __tablename__ = "command_publications"
    cmd_id: Mapped[str] = mapped_column(ForeignKey("commands.cmd_id", ondelete="CASCADE"), primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # zone | device
    target_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[dict]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class CommandDeliveryRow(Base):
    """The devices a command is meant to reach, and the furthest stage each reported."""

    __tablename__ = "command_deliveries"
    cmd_id: Mapped[str] = mapped_column(ForeignKey("commands.cmd_id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime | None]


class AudioAssetRow(Base):
    """An uploaded or synthesized programme audio and its loudspeaker rendition."""

    __tablename__ = "audio_assets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(8))  # upload | tts
    language: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(64), default="")
    # None: the shared library (imported by an operator), readable by everyone.
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)
    profile: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), index=True)  # processing | ready | failed
    original_name: Mapped[str] = mapped_column(String(255))
    original_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # of the rendition devices download
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    loudness: Mapped[dict] = mapped_column(default=dict)
    silences: Mapped[dict] = mapped_column(default=dict)
    tts_text: Mapped[str | None] = mapped_column(Text)
    voice: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
