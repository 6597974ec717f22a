"""SQLAlchemy 2.0 typed models: the database is the source of truth."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from broadcast.persistence.models_relay import RelayChannelRow


class UtcDateTime(TypeDecorator):
    """Aware datetimes stored as UTC and read back aware in UTC, on SQLite (which keeps no offset) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every stored time must carry its offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_utc_text(value):
            """process_bind_param and SQLite's DATETIME formatting in one step: the device inbox binds
            hundreds of thousands of times an hour at fleet scale. Same text as SQLAlchemy's storage format."""
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime: every stored time must carry its offset")
            v = value.astimezone(UTC)
            # %-formatting on purpose: twice as fast here as the f-string with format specs (1.0 vs 0.5 µs).
            return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031
                v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)

        return to_utc_text

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


PENDING_PUBLICATION = "received_at IS NULL AND next_attempt_at IS NOT NULL"


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict: JSON}


def core_table(model: type[Base]) -> Table:
    """A mapped class's table for Core statements (DeclarativeBase types `__table__` as any FromClause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to one table")
    return table


class AreaRow(Base):
    __tablename__ = "areas"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # domain/text.py fold(name): search ignores case and diacritics ("chau son" finds "Châu Sơn") in the database
    name_folded: Mapped[str] = mapped_column(String(200), server_default="")
    level: Mapped[str] = mapped_column(String(16))
    division_type: Mapped[str] = mapped_column(String(40))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)


class ZoneRow(Base):
    __tablename__ = "zones"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # village, group, ...
    commune_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))  # looked up through uq_zone_name_per_commune
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
    # Tokens carry the epoch they were issued in; a password change or disabling bumps it (revokes them all).
    token_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime]
    email: Mapped[str | None] = mapped_column(String(254))  # alerts and the daily digest of the user's areas
    grants: Mapped[list[GrantRow]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="GrantRow.id"
    )


class GrantRow(Base):
    __tablename__ = "user_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # looked up through uq_grant
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


class RevokedTokenRow(Base):
    """One token ended by a logout; kept until it would have expired anyway."""

    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class CalendarLinkRow(Base):
    """A user's private calendar address (/lich/{token}.ics, migration 0011): only the token's SHA-256 is kept, and
    the account's token epoch when it was made, so disabling the account or a new password ends it too."""

    __tablename__ = "calendar_links"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    token_epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class PronunciationRow(Base):
    """An administrator's reading of an abbreviation for text-to-speech (migration 0013); the built-in defaults
    live in audio_library/pronunciations.py and a row for a default term replaces it."""

    __tablename__ = "pronunciations"
    term: Mapped[str] = mapped_column(String(40), primary_key=True)
    spoken: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))


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
    # domain/text.py fold(name): the device list's search ignores case and diacritics in the database
    name_folded: Mapped[str] = mapped_column(String(200), server_default="")
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
    updated_at: Mapped[datetime | None]  # zones changed: the compiler's change marker reads it
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
    next_attempt_at: Mapped[datetime | None]  # None: superseded by a newer version, never resent
    received_at: Mapped[datetime | None]  # first `received` (or later) ack of this version
    # The flush looks only at versions still waiting; a partial index keeps that lookup as small as the backlog,
    # however many acknowledged versions the table holds.
    __table_args__ = (Index("ix_schedule_publications_pending", "next_attempt_at",
                            sqlite_where=text(PENDING_PUBLICATION), postgresql_where=text(PENDING_PUBLICATION)),)


class DeviceAckRow(Base):
    """Every ack stage once: idempotent on (device, ref, stage, item)."""

    __tablename__ = "device_acks"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64))  # looked up through uq_device_ack, which starts with it
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
    # The process rendering it (services/audio_claims.py), until when; the last holder stays once it is done.
    render_claimed_by: Mapped[str | None] = mapped_column(String(200))
    render_claimed_until: Mapped[datetime | None]


class ProgrammeRow(Base):
    """What plays: audio assets in order, or a relay stream for a duration."""

    __tablename__ = "programmes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    # domain/text.py fold(title): the programmes page finds "Hòa giải" when an officer types "hoa giai"
    title_folded: Mapped[str] = mapped_column(String(300), server_default="")
    topic: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # commune | province | central | justice
    priority: Mapped[str] = mapped_column(String(16))  # normal | priority | emergency (Circular 39/2020)
    legal_refs: Mapped[list] = mapped_column(JSON, default=list)
    stream_url: Mapped[str | None] = mapped_column(String(500))
    stream_duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    # A relay of a catalogued channel (models_relay.py): the channel's URL is played, whatever it is when compiled.
    relay_channel_id: Mapped[int | None] = mapped_column(ForeignKey("relay_channels.id"), index=True)
    relay_channel: Mapped[RelayChannelRow | None] = relationship(lazy="joined")
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    bulletin_id: Mapped[str | None] = mapped_column(String(128), index=True)  # from the central system
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    items: Mapped[list[ProgrammeItemRow]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                         order_by="ProgrammeItemRow.position")


class ProgrammeItemRow(Base):
    __tablename__ = "programme_items"
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("audio_assets.id"), index=True)


class ScheduleRow(Base):
    """When and where a programme plays; only approved schedules reach devices."""

    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # draft submitted approved rejected cancelled
    targets: Mapped[dict]  # {areas, zones, devices, exclude_areas, exclude_zones, exclude_devices}
    start_local: Mapped[str] = mapped_column(String(19))  # wall-clock "YYYY-MM-DDTHH:MM:SS" in the timezone
    rrule: Mapped[str | None] = mapped_column(String(500))
    exdates: Mapped[list] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    volume: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)  # owner (authorization)
    author: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str | None] = mapped_column(String(64))
    # Everyone who changed the content, in order: none of them may approve it (four eyes).
    editors: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    rejection_reason: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]


class AreaPolicyRow(Base):
    """Broadcast policy overrides of one area; a commune inherits what it does not override from its province."""

    __tablename__ = "area_policies"
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), primary_key=True)
    windows: Mapped[list | None] = mapped_column(JSON)  # ["05:30-07:00", "17:00-19:00"]
    max_minutes_per_day: Mapped[int | None]
    weekdays: Mapped[list | None] = mapped_column(JSON)  # [0..6], Monday = 0
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class EmergencyRow(Base):
    __tablename__ = "emergencies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # active | stopped | expired
    reason: Mapped[str] = mapped_column(String(1000))
    targets: Mapped[dict]
    audio_id: Mapped[int | None] = mapped_column(ForeignKey("audio_assets.id"))
    stream_url: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str | None] = mapped_column(Text)
    cmd_id: Mapped[str | None] = mapped_column(String(128), index=True)
    stop_cmd_id: Mapped[str | None] = mapped_column(String(128))
    test_only: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="operator")  # operator | cap | central
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)  # CAP identifier, bulletin id
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    # One broadcast per external alert and area: a CAP alert or central bulletin imported twice at once is refused;
    # another province sending the same CAP alert for its own areas gets its own broadcast (migration 0008).
    __table_args__ = (UniqueConstraint("source", "external_id", "area_code", name="uq_emergency_external_area"),)


class PlayLogRow(Base):
    """Proof of play: one row per device and item outcome (played, preempted, missed, failed)."""

    __tablename__ = "play_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64))  # looked up through uq_play_log_outcome
    commune_code: Mapped[str] = mapped_column(String(16), index=True)
    item_id: Mapped[str] = mapped_column(String(128))
    schedule_id: Mapped[int | None] = mapped_column(Integer, index=True)
    programme_id: Mapped[int | None] = mapped_column(Integer, index=True)
    emergency_id: Mapped[int | None] = mapped_column(Integer, index=True)
    live_session_id: Mapped[int | None] = mapped_column(Integer, index=True)  # a live broadcast's (migration 0022)
    title: Mapped[str] = mapped_column(String(300), default="")
    priority: Mapped[str | None] = mapped_column(String(16))
    planned_start: Mapped[datetime | None] = mapped_column(index=True)
    planned_end: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(index=True)
    __table_args__ = (
        UniqueConstraint("device_id", "item_id", "outcome", name="uq_play_log_outcome"),
        # Reports and the home page select by this expression (report_repository.PLAY_TIME): without its own index
        # a day of a province is a scan of the whole year.
        Index("ix_play_log_play_time", text("coalesce(planned_start, started_at, recorded_at)")),
    )


class DevicePresenceRow(Base):
    """Each change of a device's online state: uptime reports are computed from these."""

    __tablename__ = "device_presence"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    online: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(index=True)


class BulletinRow(Base):
    """A bulletin (bản tin) from the central source information system, and what became of it here."""

    __tablename__ = "bulletins"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the central system's id
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str | None] = mapped_column(Text)
    audio_url: Mapped[str | None] = mapped_column(String(1000))
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    topic: Mapped[str] = mapped_column(String(64), default="other")
    agency: Mapped[str] = mapped_column(String(300), default="")
    priority: Mapped[str] = mapped_column(String(16))
    target_areas: Mapped[list] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    issued_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pooled | placed | broadcast | refused
    reason: Mapped[str | None] = mapped_column(String(1000))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("audio_assets.id"))
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    emergency_id: Mapped[int | None] = mapped_column(ForeignKey("emergencies.id"))
    payload: Mapped[dict] = mapped_column(default=dict)  # as received, for audit


class BridgeOutboxRow(Base):
    """Messages for the central system, delivered in order, retried with backoff, each once by its key."""

    __tablename__ = "bridge_outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # receipt | master_data | playback | daily_report ...
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(String(1000))


class BridgeStateRow(Base):
    """Small durable state of the bridge, e.g. the bulletin pull cursor."""

    __tablename__ = "bridge_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000))
    updated_at: Mapped[datetime]


class DailyAirtimeRow(Base):
    """What aired per commune and local day, by source, topic, language and priority: kept past the play-log purge."""

    __tablename__ = "daily_airtime"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    priority: Mapped[str] = mapped_column(String(16), primary_key=True)
    items: Mapped[int] = mapped_column(Integer, default=0)  # distinct items played on at least one device
    plays: Mapped[int] = mapped_column(Integer, default=0)  # device plays (proof-of-play rows)
    seconds: Mapped[int] = mapped_column(BigInteger, default=0)  # airtime of distinct items


class DailyCommuneRow(Base):
    """Per commune and local day: outcomes, devices and uptime, emergencies and their reach."""

    __tablename__ = "daily_commune"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    played: Mapped[int] = mapped_column(Integer, default=0)
    missed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    preempted: Mapped[int] = mapped_column(Integer, default=0)
    powered_off: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # missed: amplifier off
    devices: Mapped[int] = mapped_column(Integer, default=0)
    uptime_ratio: Mapped[float | None]
    emergencies: Mapped[int] = mapped_column(Integer, default=0)
    emergency_devices: Mapped[int] = mapped_column(Integer, default=0)
    emergency_reached: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime]


# Feature tables in their own modules, on this Base (imported here so Base.metadata holds every table).
from broadcast.persistence import (  # noqa: E402,F401
    models_health,
    models_lease,
    models_live,
    models_notify,
    models_relay,
)
