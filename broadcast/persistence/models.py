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
