"""The schedule outbox and what devices report (statuses, acks, command deliveries), in SQL: the fan-out path.

Written for fleets of 10,000: prepared statements with bind parameters, one executemany per batch, a partial
index of waiting versions (migration 0006), and stored wire bytes published as they are.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Insert,
    Integer,
    Row,
    Select,
    Table,
    Text,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcast.domain.delivery import (
    AckReport,
    DuePublication,
    Publication,
    StatusReport,
    admissible_acks,
    advanced_deliveries,
    confirms_version,
)
from broadcast.domain.devices import STAGE_PROGRESS, AckStage
from broadcast.persistence.array_rows import BinaryArray, array_params, array_rows
from broadcast.persistence.models import CommandDeliveryRow, DeviceAckRow, DeviceRow, SchedulePublicationRow, core_table
from broadcast.persistence.repositories import _aware, affected_rows


def _publication(row: Row[Any]) -> Publication:
    return Publication(device_id=row.device_id, version=row.version, fingerprint=row.fingerprint,
                       document=row.document, created_at=_aware(row.created_at),
                       published_at=_aware(row.published_at), attempts=row.attempts,
                       next_attempt_at=_aware(row.next_attempt_at), received_at=_aware(row.received_at))


_PUBLICATIONS = core_table(SchedulePublicationRow)
_LATEST_PUBLICATION = (select(_PUBLICATIONS).where(_PUBLICATIONS.c.device_id == bindparam("b_device"))
                       .order_by(_PUBLICATIONS.c.version.desc()).limit(1))
_INSERT_PUBLICATION = insert(_PUBLICATIONS)
_RETIRE_OLDER = (update(_PUBLICATIONS)
                 .where(_PUBLICATIONS.c.device_id == bindparam("b_device"),
                        _PUBLICATIONS.c.version < bindparam("b_version"), _PUBLICATIONS.c.received_at.is_(None),
                        _PUBLICATIONS.c.next_attempt_at.is_not(None))
                 .values(next_attempt_at=None))
_DEVICES = core_table(DeviceRow)
# The document column as stored text: the engine's JSON serializer writes the protocol's wire encoding.
_DUE = (select(_PUBLICATIONS.c.device_id, _PUBLICATIONS.c.version, _PUBLICATIONS.c.attempts,
               cast(_PUBLICATIONS.c.document, Text).label("payload"))
        .join(_DEVICES, _DEVICES.c.id == _PUBLICATIONS.c.device_id)
        .where(_PUBLICATIONS.c.received_at.is_(None), _PUBLICATIONS.c.next_attempt_at <= bindparam("b_now"),
               _DEVICES.c.disabled.is_(False),
               or_(_PUBLICATIONS.c.published_at.is_(None), _DEVICES.c.online.is_(True)))
        .order_by(_PUBLICATIONS.c.published_at.is_not(None), _PUBLICATIONS.c.created_at)
        .limit(bindparam("b_limit")))
_MARK_PUBLISHED = (update(_PUBLICATIONS)
                   .where(_PUBLICATIONS.c.device_id == bindparam("b_device"),
                          _PUBLICATIONS.c.version == bindparam("b_version"))
                   .values(published_at=bindparam("b_at"), attempts=_PUBLICATIONS.c.attempts + 1,
                           next_attempt_at=bindparam("b_next")))
# After the broker connection was lost: every waiting version (newest per device, not yet received) due at once.
_REPUBLISH_NOW = (update(_PUBLICATIONS)
                  .where(_PUBLICATIONS.c.received_at.is_(None), _PUBLICATIONS.c.next_attempt_at.is_not(None),
                         _PUBLICATIONS.c.next_attempt_at > bindparam("b_now"))
                  .values(next_attempt_at=bindparam("b_now")))

# Each enabled device's newest version if it was published or received since a time: what a broker node may have
# lost from its retained store (services/delivery/retained.py); a device reading its retained topic must find its
# current schedule. Received counts too: a publish abandoned at the loss stays unmarked, yet paho sends it again on
# the resumed session and the device may receive it.
_NEWER = _PUBLICATIONS.alias("newer")
_PUBLISHED_SINCE = (select(_PUBLICATIONS.c.device_id, _PUBLICATIONS.c.version, _PUBLICATIONS.c.attempts,
                           cast(_PUBLICATIONS.c.document, Text).label("payload"))
                    .join(_DEVICES, _DEVICES.c.id == _PUBLICATIONS.c.device_id)
                    .where(or_(_PUBLICATIONS.c.published_at >= bindparam("b_since"),
                               _PUBLICATIONS.c.received_at >= bindparam("b_since")),
                           _DEVICES.c.disabled.is_(False),
                           ~select(_NEWER.c.version).where(_NEWER.c.device_id == _PUBLICATIONS.c.device_id,
                                                           _NEWER.c.version > _PUBLICATIONS.c.version).exists())
                    .order_by(_PUBLICATIONS.c.device_id))
# Versions older than a newer one the device has received: superseded for good, kept only for the retention period.
# The newest version (the next one's number follows it) and the newest received one (the device's acknowledged
# state) are never among them.
_OLD = _PUBLICATIONS.alias("old")
_SUPERSEDED = (select(_OLD.c.device_id, _OLD.c.version)
               .where(_OLD.c.created_at < bindparam("b_before"),
                      select(_NEWER.c.version).where(_NEWER.c.device_id == _OLD.c.device_id,
                                                     _NEWER.c.version > _OLD.c.version,
                                                     _NEWER.c.received_at.is_not(None)).exists())
               .limit(bindparam("b_limit")))
_PURGE_SUPERSEDED = delete(_PUBLICATIONS).where(
    tuple_(_PUBLICATIONS.c.device_id, _PUBLICATIONS.c.version).in_(_SUPERSEDED))
# A device read an older version than one sent to it (services.delivery.inbox): the newer ones it has not received are
# due when that was heard.
_RESEND_NEWER = (update(_PUBLICATIONS)
                 .where(_PUBLICATIONS.c.device_id == bindparam("b_device"),
                        _PUBLICATIONS.c.version > bindparam("b_version"),
                        _PUBLICATIONS.c.received_at.is_(None), _PUBLICATIONS.c.published_at.is_not(None),
                        _PUBLICATIONS.c.next_attempt_at > bindparam("b_heard"))
                 .values(next_attempt_at=bindparam("b_heard")))

# Never older over newer: with several nodes, two statuses of one device may be stored out of order.
_NOT_OLDER = or_(_DEVICES.c.last_seen.is_(None), _DEVICES.c.last_seen <= bindparam("b_seen"))
_STATUS_ONLINE = (update(_DEVICES).where(_DEVICES.c.id == bindparam("b_id"), _NOT_OLDER)
                  .values(online=True, last_seen=bindparam("b_seen"), firmware=bindparam("b_firmware"),
                          volume=bindparam("b_volume"), playing_item=bindparam("b_item"),
                          playing_since=bindparam("b_since"), clock_offset_ms=bindparam("b_offset"),
                          storage_free_bytes=bindparam("b_free"), reported_version=bindparam("b_version")))
_STATUS_OFFLINE = (update(_DEVICES).where(_DEVICES.c.id == bindparam("b_id"), _NOT_OLDER)
                   .values(online=False, last_seen=bindparam("b_seen"), playing_item=None, playing_since=None))
# PostgreSQL: the same update for a whole batch, from arrays (persistence/array_rows.py). Keys are unique: newest
# status per device.
_STATUS_COLUMNS = ("id", "last_seen", "firmware", "volume", "playing_item", "playing_since", "clock_offset_ms",
                   "storage_free_bytes", "reported_version")
_STATUSES = array_rows(_DEVICES, _STATUS_COLUMNS, alias="status")
_STATUS_ONLINE_ROWS = (update(_DEVICES)
                       .where(_DEVICES.c.id == _STATUSES.c.id,
                              or_(_DEVICES.c.last_seen.is_(None), _DEVICES.c.last_seen <= _STATUSES.c.last_seen))
                       .values(online=True, **{c: _STATUSES.c[c] for c in _STATUS_COLUMNS[1:]}))


AckKey = tuple[str, str, str, str, str]
_ACK_KEY = ("device_id", "ref_kind", "ref_id", "stage", "item_id")  # AckReport.key, uq_device_ack
_STAGE_RANKS = {stage.value: rank for stage, rank in STAGE_PROGRESS.items()}


def _insert_ignoring_duplicates(connection: Connection, table: Table) -> Insert:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def _is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _unnest(columns: Sequence[Column[Any]], keys: Collection[tuple[Any, ...]]) -> Any:
    """PostgreSQL: `unnest(:k_a, :k_b, ...) AS keys(a, b, ...)`, one array parameter per key column."""
    arrays = [bindparam(f"k_{c.name}", [k[i] for k in keys], type_=BinaryArray(c.type))
              for i, c in enumerate(columns)]
    return func.unnest(*arrays).table_valued(*(c.name for c in columns)).render_derived(name="keys")


def _rows_by_keys(connection: Connection, columns: Sequence[Column[Any]], keys: Collection[tuple[Any, ...]], *,
                  extra: Sequence[Column[Any]] = (), sqlite_filter: Sequence[int]) -> list[tuple[Any, ...]]:
    """The rows whose values of `columns` (one table's, a unique key) are exactly one of `keys`: those values, then
    `extra`.

    PostgreSQL: one index probe per key, whatever the statistics say. With an IN list per column it planned from
    statistics that did not know a brand-new command yet ("about 12 rows") and read every row of the command, tens
    of thousands, for each batch of the inbox; joined to the unnested keys it preferred hashing the whole table.
    So each key is looked up by a LATERAL subquery with LIMIT 1 (the key is unique: at most one row anyway), which
    the planner cannot flatten into a join: a nested loop over the keys, each an index scan on the unique key.
    SQLite keeps an IN list for each column at `sqlite_filter` (its planner probes the index with each value);
    combinations nobody asked for are dropped here."""
    stmt = keyed_lookup(connection.dialect.name, columns, keys, extra=extra, sqlite_filter=sqlite_filter)
    wanted = set(keys)
    width = len(columns)
    return [row for row in map(tuple, connection.execute(stmt)) if row[:width] in wanted]


def keyed_lookup(dialect: str, columns: Sequence[Column[Any]], keys: Collection[tuple[Any, ...]], *,
                 extra: Sequence[Column[Any]] = (), sqlite_filter: Sequence[int]) -> Select[Any]:
    """`_rows_by_keys`' statement for the `dialect` ("postgresql" or "sqlite")."""
    if dialect == "postgresql":
        keyed = _unnest(columns, keys)
        inner: list[ColumnElement[Any]] = [*extra] if extra else [literal(1).label("found")]
        found = select(*inner).where(*(c == keyed.c[c.name] for c in columns)).limit(1).lateral("found")
        return (select(*(keyed.c[c.name] for c in columns), *(found.c[c.name] for c in extra))
                .select_from(keyed).join(found, true()))
    return select(*columns, *extra).where(*(columns[i].in_({k[i] for k in keys}) for i in sqlite_filter))


_ACKS = core_table(DeviceAckRow)
_ACK_COLUMNS = (*_ACK_KEY, "at", "received_at", "reason", "started_at", "ended_at")


def _ack_row(a: AckReport) -> dict[str, Any]:
    return {"device_id": a.device_id, "ref_kind": a.ref_kind, "ref_id": a.ref_id, "stage": a.stage,
            "item_id": a.item_id, "at": a.at, "received_at": a.received_at, "reason": a.reason,
            "started_at": a.started_at, "ended_at": a.ended_at}


def _insert_new_acks_sqlite(connection: Connection, unique: dict[AckKey, AckReport]) -> list[AckReport]:
    """The acks not stored yet (one lookup), inserted by executemany; in batch order."""
    existing = set(_rows_by_keys(connection, [_ACKS.c[name] for name in _ACK_KEY], unique.keys(),
                                 sqlite_filter=(0, 2)))  # device_id, ref_id
    new = [a for k, a in unique.items() if k not in existing]
    if new:
        # DO NOTHING on the unique key: another process storing the same ack at this moment must not fail the
        # batch; the play log and the stages are idempotent as well.
        connection.execute(_insert_ignoring_duplicates(connection, _ACKS), [_ack_row(a) for a in new])
    return new


# PostgreSQL: one statement inserts the batch's acks from arrays and returns the keys it inserted, which are the
# new acks. It replaces a lookup of the stored keys that the planner, with statistics that did not know the
# command's acks yet, ran on ix_device_acks_ref: every key read every ack of the command, 28 s of server CPU for
# a 10,000-device play_now (bench_inbox.py). ON CONFLICT always probes the unique key; and another node storing
# the same ack at this moment waits for it and gets nothing back, so only one of them hands it on as new.
_ACKS_FROM_ARRAYS = func.unnest(*(bindparam(f"a_{name}", type_=BinaryArray(_ACKS.c[name].type))
                                  for name in _ACK_COLUMNS)).table_valued(*_ACK_COLUMNS).render_derived(name="new")
_INSERT_NEW_ACKS = (postgresql.insert(_ACKS)
                    .from_select(_ACK_COLUMNS, select(*(_ACKS_FROM_ARRAYS.c[name] for name in _ACK_COLUMNS)))
                    .on_conflict_do_nothing()
                    .returning(*(_ACKS.c[name] for name in _ACK_KEY)))


def _insert_new_acks_postgresql(connection: Connection,
                                unique: dict[AckKey, AckReport]) -> list[AckReport]:
    acks = list(unique.values())
    params = {f"a_{name}": [getattr(a, name) for a in acks] for name in _ACK_COLUMNS}
    inserted = set(map(tuple, connection.execute(_INSERT_NEW_ACKS, params)))
    return [a for k, a in unique.items() if k in inserted]


_DELIVERIES = core_table(CommandDeliveryRow)
# The stored stage is checked again in the statement: another node may have moved it further since.
_STORED_RANK = case(_STAGE_RANKS, value=_DELIVERIES.c.stage, else_=0)
_ADVANCE = (update(_DELIVERIES)
            .where(_DELIVERIES.c.cmd_id == bindparam("b_cmd"), _DELIVERIES.c.device_id == bindparam("b_device"),
                   or_(_DELIVERIES.c.stage.is_(None), _STORED_RANK <= bindparam("b_rank")))
            .values(stage=bindparam("b_stage"), updated_at=bindparam("b_at")))
_HEARD = func.unnest(*(bindparam(f"heard_{name}", type_=BinaryArray(_DELIVERIES.c[name].type))
                       for name in ("cmd_id", "device_id", "stage", "updated_at")),
                     bindparam("heard_rank", type_=BinaryArray(Integer()))
                     ).table_valued("cmd_id", "device_id", "stage", "updated_at", "rank").render_derived(name="heard")
_ADVANCE_ROWS = (update(_DELIVERIES)
                 .where(_DELIVERIES.c.cmd_id == _HEARD.c.cmd_id, _DELIVERIES.c.device_id == _HEARD.c.device_id,
                        or_(_DELIVERIES.c.stage.is_(None), _STORED_RANK <= _HEARD.c.rank))
                 .values(stage=_HEARD.c.stage, updated_at=_HEARD.c.updated_at))


class SqlDeliveryRepository:
    def __init__(self, session: Session):
        self.session = session

    # A schedule change writes the outbox for a whole fleet (10k devices) and the flush marks as many rows:
    # these per-device calls run prebuilt Core statements on the session's connection (compiled once, no ORM
    # unit of work), about twenty times cheaper than ORM statements built per call.

    def latest_publication(self, device_id: str) -> Publication | None:
        row = self.session.connection().execute(_LATEST_PUBLICATION, {"b_device": device_id}).first()
        return _publication(row) if row else None

    def add_publication(self, publication: Publication) -> None:
        self.session.flush()  # e.g. a device added in this unit of work: the row must exist for the foreign key
        connection = self.session.connection()
        connection.execute(_INSERT_PUBLICATION, {
            "device_id": publication.device_id, "version": publication.version,
            "fingerprint": publication.fingerprint, "document": publication.document,
            "created_at": publication.created_at, "attempts": 0, "next_attempt_at": publication.created_at})
        connection.execute(_RETIRE_OLDER, {"b_device": publication.device_id, "b_version": publication.version})

    def due_publications(self, *, now: datetime, limit: int) -> Sequence[DuePublication]:
        """Versions still waiting (newest per device: older ones were retired), whose next attempt is due;
        never-published first. A device known to be offline waits: the broker keeps its retained document anyway.
        """
        rows = self.session.connection().execute(_DUE, {"b_now": now, "b_limit": limit})
        return [DuePublication(r.device_id, r.version, r.attempts, r.payload.encode()) for r in rows]

    def mark_published(self, published: Sequence[tuple[str, int, datetime]], *, at: datetime) -> None:
        """(device_id, version, next_attempt_at) each: one executemany for a whole flush batch, rows locked in
        (device, version) order as the inbox locks them (`_mark_received`), so the two never deadlock."""
        if published:
            self.session.connection().execute(_MARK_PUBLISHED, [
                {"b_device": d, "b_version": v, "b_at": at, "b_next": nxt}
                for d, v, nxt in sorted(published, key=lambda row: (row[0], row[1]))])

    def republish_unreceived(self, *, now: datetime) -> int:
        """Make every version still waiting for its device's receipt due now; returns how many were waiting on a
        retry timer. What a lost connection carried may be lost with it (a dead cluster node's retained store or its
        devices' deliveries); devices take a version they already have idempotently."""
        return self.session.connection().execute(_REPUBLISH_NOW, {"b_now": now}).rowcount

    def published_since(self, since: datetime) -> Sequence[DuePublication]:
        """Each enabled device's newest version if it was published or received at or after `since`."""
        rows = self.session.connection().execute(_PUBLISHED_SINCE, {"b_since": since})
        return [DuePublication(r.device_id, r.version, r.attempts, r.payload.encode()) for r in rows]

    def purge_superseded(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` versions created before `before` that their device has received a newer one of
        (each device's signed documents otherwise pile up at every change and every horizon roll); the caller
        commits and repeats."""
        params = {"b_before": before.astimezone(UTC), "b_limit": limit}  # SQLite compares the stored UTC text
        result = self.session.connection().execute(_PURGE_SUPERSEDED, params)
        return max(affected_rows(result), 0)

    def resend_newer(self, receipts: Mapping[str, tuple[int, datetime]]) -> None:
        """For each device that read `version` again (domain.delivery.repeated_receipts): every newer version sent
        to it and not yet received becomes due at the time that was heard. Superseded versions stay retired."""
        if receipts:
            self.session.connection().execute(_RESEND_NEWER, [
                {"b_device": device_id, "b_version": version, "b_heard": heard}
                for device_id, (version, heard) in sorted(receipts.items())])

    def record_statuses(self, statuses: Sequence[StatusReport], *, known: Collection[str] | None = None) -> int:
        """Apply the newest status per device; returns how many known devices were updated.

        `known`: the registered devices among them, when the caller has already looked them up.

        Core executemany (one per online/offline shape), not ORM rows: a fleet reports thousands a second, and
        loading each DeviceRow would also load its zones.
        """
        newest: dict[str, StatusReport] = {}
        for status in statuses:
            newest[status.device_id] = status
        self.session.flush()
        connection = self.session.connection()
        if known is None:
            known = set(connection.execute(select(_DEVICES.c.id).where(_DEVICES.c.id.in_(newest))).scalars())
        known = {d for d in newest if d in known}
        offline = [{"b_id": d, "b_seen": s.received_at} for d, s in newest.items() if d in known and not s.online]
        online = [s for d, s in newest.items() if d in known and s.online]
        if online and _is_postgresql(connection):
            connection.execute(_STATUS_ONLINE_ROWS, array_params("status", _STATUS_COLUMNS, (
                {"id": s.device_id, "last_seen": s.received_at, "firmware": s.firmware, "volume": s.volume,
                 "playing_item": s.playing_item, "playing_since": s.playing_since,
                 "clock_offset_ms": s.clock_offset_ms, "storage_free_bytes": s.storage_free_bytes,
                 "reported_version": s.schedule_version} for s in online)))
        elif online:
            connection.execute(_STATUS_ONLINE, [
                {"b_id": s.device_id, "b_seen": s.received_at, "b_firmware": s.firmware, "b_volume": s.volume,
                 "b_item": s.playing_item, "b_since": s.playing_since, "b_offset": s.clock_offset_ms,
                 "b_free": s.storage_free_bytes, "b_version": s.schedule_version} for s in online])
        if offline:
            connection.execute(_STATUS_OFFLINE, offline)
        return len(known)

    def record_acks(self, acks: Sequence[AckReport], *, known: Collection[str] | None = None) -> list[AckReport]:
        """Store each (device, ref, stage, item) once; returns the ones that were new.

        A command's acks count only from devices it was sent to (its deliveries): every device may read every
        zone topic, and an ack from anyone else would be forged proof of play. Those are not stored at all
        (domain.delivery.admissible_acks). `known`: the registered devices among them, when the caller has already
        looked them up."""
        if known is None:
            known = set(self.session.scalars(select(DeviceRow.id).where(DeviceRow.id.in_({a.device_id for a in acks}))))
        deliveries = self._deliveries([a for a in acks if a.ref_kind == "command" and a.device_id in known])
        unique = admissible_acks(acks, known, deliveries)
        if not unique:
            return []
        # Set-wise Core statements, not ORM objects or one statement per ack: a fleet answers a fan-out with
        # thousands of acks a second, and the inbox must keep up on one thread.
        self.session.flush()  # pending ORM changes first: what follows runs on the session's connection directly
        connection = self.session.connection()
        new = (_insert_new_acks_postgresql(connection, unique) if _is_postgresql(connection)
               else _insert_new_acks_sqlite(connection, unique))
        if not new:
            return []
        self._mark_received(connection, [a for a in new if confirms_version(a)])
        self._advance_commands(connection, [a for a in new if a.ref_kind == "command"], deliveries)
        return new

    def _deliveries(self, acks: Sequence[AckReport]) -> dict[tuple[str, str], str | None]:
        """(cmd_id, device_id) -> stored stage of the deliveries these command acks may belong to: one SELECT."""
        if not acks:
            return {}
        table = core_table(CommandDeliveryRow)
        rows = _rows_by_keys(self.session.connection(), [table.c.cmd_id, table.c.device_id],
                             {(a.ref_id, a.device_id) for a in acks}, extra=[table.c.stage], sqlite_filter=(0, 1))
        return {(row[0], row[1]): row[2] for row in rows}

    @staticmethod
    def _mark_received(connection: Connection, acks: Sequence[AckReport]) -> None:
        """First received-or-later ack of a version stamps it ("first wins": the earliest of a version's acks goes
        first). Rows are locked in (device, version) order, as the outbox flush locks them (`mark_published`): in
        arrival order the two deadlocked on PostgreSQL when a fleet's acks came in while a flush still ran."""
        if not acks:
            return
        table = core_table(SchedulePublicationRow)
        ordered = sorted(acks, key=lambda a: (a.device_id, int(a.ref_id), a.received_at))
        connection.execute(
            update(table).where(table.c.device_id == bindparam("b_device"), table.c.version == bindparam("b_version"),
                                table.c.received_at.is_(None)).values(received_at=bindparam("b_at")),
            [{"b_device": a.device_id, "b_version": int(a.ref_id), "b_at": a.received_at} for a in ordered])

    @staticmethod
    def _advance_commands(connection: Connection, acks: Sequence[AckReport],
                          stages: dict[tuple[str, str], str | None]) -> None:
        """Move each delivery to the furthest stage heard (never backwards): one statement per batch.

        `stages`: the deliveries' stored stages (`_deliveries`); every ack here belongs to one of them."""
        if not acks:
            return
        changed = advanced_deliveries(acks, stages)
        if not changed:
            return
        if _is_postgresql(connection):  # one statement from arrays; (cmd_id, device_id) is unique in `changed`
            connection.execute(_ADVANCE_ROWS, {
                "heard_cmd_id": [c for c, _ in changed], "heard_device_id": [d for _, d in changed],
                "heard_stage": [a.stage for a in changed.values()],
                "heard_updated_at": [a.received_at for a in changed.values()],
                "heard_rank": [STAGE_PROGRESS[AckStage(a.stage)] for a in changed.values()]})
            return
        connection.execute(_ADVANCE, [{"b_cmd": c, "b_device": d, "b_stage": a.stage, "b_at": a.received_at,
                                       "b_rank": STAGE_PROGRESS[AckStage(a.stage)]} for (c, d), a in changed.items()])
