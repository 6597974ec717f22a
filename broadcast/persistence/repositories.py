"""SQLAlchemy implementations of the service ports; rows in, domain objects out."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from sqlalchemy import CursorResult, Result, delete, func, or_, select, update
from sqlalchemy.orm import Session

from broadcast.domain.areas import Area, AreaLevel, Zone
from broadcast.domain.audit import AuditEntry, AuditQuery
from broadcast.domain.auth import Grant, Role
from broadcast.domain.text import fold
from broadcast.domain.users import User
from broadcast.persistence.models import (
    AreaRow,
    AuditRow,
    GrantRow,
    LoginThrottleRow,
    RevokedTokenRow,
    UserRow,
    ZoneRow,
)


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: datetime | None) -> datetime | None: ...
def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything we store is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def affected_rows(result: Result[Any]) -> int:
    """The row count of an UPDATE or DELETE (-1 when the driver does not know). Session.execute is typed as
    returning any Result; for these statements it is a CursorResult, which has the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount


def _area(row: AreaRow) -> Area:
    return Area(code=row.code, name=row.name, level=AreaLevel(row.level), division_type=row.division_type,
                parent_code=row.parent_code)


def within_areas_clause(column, areas: frozenset[str]):
    """column's area is one of `areas` or lies under one of them (communes under a province)."""
    # Never correlated, even inside a statement that reads areas itself: that is what an alias would give, without
    # the alias's cost (SQLAlchemy adapts every column of an aliased entity: 2-3 ms a clause, five per report).
    under = select(AreaRow.code).where(AreaRow.parent_code.in_(areas)).correlate(None)
    return or_(column.in_(areas), column.in_(under))


class SqlAreaRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, code: str) -> Area | None:
        row = self.session.get(AreaRow, code)
        return _area(row) if row else None

    def list(self, *, level=None, parent_code=None, query=None, limit=100, offset=0) -> Sequence[Area]:
        stmt = select(AreaRow).order_by(AreaRow.code).limit(limit).offset(offset)
        if level is not None:
            stmt = stmt.where(AreaRow.level == level.value)
        if parent_code is not None:
            stmt = stmt.where(AreaRow.parent_code == parent_code)
        if query and (folded := fold(query)):
            stmt = stmt.where(AreaRow.name_folded.contains(folded, autoescape=True))
        return [_area(r) for r in self.session.scalars(stmt)]

    def count(self, level: AreaLevel | None = None) -> int:
        stmt = select(func.count()).select_from(AreaRow)
        if level is not None:
            stmt = stmt.where(AreaRow.level == level.value)
        return self.session.scalar(stmt) or 0

    def upsert_many(self, areas: Iterable[Area]) -> int:
        existing = {row.code: row for row in self.session.scalars(select(AreaRow))}
        added = 0
        for area in areas:
            row = existing.get(area.code)
            if row is None:
                self.session.add(AreaRow(code=area.code, name=area.name, name_folded=fold(area.name),
                                         level=area.level.value, division_type=area.division_type,
                                         parent_code=area.parent_code))
                added += 1
            elif (row.name, row.division_type, row.parent_code) != (area.name, area.division_type, area.parent_code):
                row.name, row.division_type, row.parent_code = area.name, area.division_type, area.parent_code
                row.name_folded = fold(area.name)
            if area.level is AreaLevel.PROVINCE:
                self.session.flush()  # parents before children for the foreign key
        return added


class SqlZoneRepository:
    def __init__(self, session: Session):
        self.session = session

    @staticmethod
    def _zone(row: ZoneRow) -> Zone:
        return Zone(id=row.id, name=row.name, kind=row.kind, commune_code=row.commune_code,
                    description=row.description)

    def get(self, zone_id: str) -> Zone | None:
        row = self.session.get(ZoneRow, zone_id)
        return self._zone(row) if row else None

    def add(self, zone: Zone, *, created_by: str, created_at: datetime) -> None:
        self.session.add(ZoneRow(id=zone.id, name=zone.name, kind=zone.kind, commune_code=zone.commune_code,
                                 description=zone.description, created_by=created_by, created_at=created_at))
        self.session.flush()

    def name_taken(self, commune_code: str, name: str) -> bool:
        stmt = select(ZoneRow.id).where(ZoneRow.commune_code == commune_code, ZoneRow.name == name)
        return self.session.scalar(stmt) is not None

    def list(self, *, commune_code=None, within_areas=None, limit=100, offset=0) -> Sequence[Zone]:
        stmt = select(ZoneRow).order_by(ZoneRow.id).limit(limit).offset(offset)
        if commune_code is not None:
            stmt = stmt.where(ZoneRow.commune_code == commune_code)
        if within_areas is not None:
            stmt = stmt.where(within_areas_clause(ZoneRow.commune_code, within_areas))
        return [self._zone(r) for r in self.session.scalars(stmt)]


class SqlUserRepository:
    def __init__(self, session: Session):
        self.session = session

    @staticmethod
    def _user(row: UserRow) -> User:
        return User(id=row.id, username=row.username, full_name=row.full_name, password_hash=row.password_hash,
                    disabled=row.disabled, grants=tuple(Grant(Role(g.role), g.area_code) for g in row.grants),
                    token_epoch=row.token_epoch, email=row.email)

    def get(self, user_id: int) -> User | None:
        row = self.session.get(UserRow, user_id)
        return self._user(row) if row else None

    def get_by_username(self, username: str) -> User | None:
        row = self.session.scalar(select(UserRow).where(UserRow.username == username))
        return self._user(row) if row else None

    def add(self, *, username, full_name, password_hash, grants, created_at) -> User:
        row = UserRow(username=username, full_name=full_name, password_hash=password_hash, disabled=False,
                      created_at=created_at,
                      grants=[GrantRow(role=g.role.value, area_code=g.area_code) for g in grants])
        self.session.add(row)
        self.session.flush()
        return self._user(row)

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self.session.get_one(UserRow, user_id).password_hash = password_hash

    def set_email(self, user_id: int, email: str | None) -> None:
        self.session.get_one(UserRow, user_id).email = email

    def set_disabled(self, user_id: int, disabled: bool) -> None:
        self.session.get_one(UserRow, user_id).disabled = disabled

    def set_grants(self, user_id: int, grants: Sequence[Grant]) -> None:
        """Replace the account's grants. Rows still wanted stay (a flush inserts before it deletes, so re-adding one
        would trip uq_grant); the relationship's delete-orphan removes the others."""
        row = self.session.get_one(UserRow, user_id)
        wanted = list(dict.fromkeys((g.role.value, g.area_code) for g in grants))
        kept = [g for g in row.grants if (g.role, g.area_code) in wanted]
        have = {(g.role, g.area_code) for g in kept}
        row.grants = kept + [GrantRow(role=r, area_code=a) for r, a in wanted if (r, a) not in have]
        self.session.flush()

    def bump_token_epoch(self, user_id: int) -> None:
        """In SQL, so two concurrent changes both move the epoch past every token issued before them."""
        self.session.execute(update(UserRow).where(UserRow.id == user_id)
                             .values(token_epoch=UserRow.token_epoch + 1))

    def list(self, *, within_areas=None, limit=100, offset=0) -> Sequence[User]:
        stmt = select(UserRow).order_by(UserRow.username).limit(limit).offset(offset)
        if within_areas is not None:
            stmt = stmt.where(UserRow.grants.any(within_areas_clause(GrantRow.area_code, within_areas)))
        return [self._user(r) for r in self.session.scalars(stmt)]


class SqlAuditRepository:
    def __init__(self, session: Session):
        self.session = session

    def append(self, entry: AuditEntry) -> None:
        self.session.add(AuditRow(at=entry.at, actor=entry.actor, action=entry.action, object_type=entry.object_type,
                                  object_id=entry.object_id, area_code=entry.area_code, address=entry.address,
                                  details=entry.details))

    def list(self, query: AuditQuery) -> Sequence[AuditEntry]:
        stmt = select(AuditRow).order_by(AuditRow.id.desc()).limit(query.limit).offset(query.offset)
        for column, value in ((AuditRow.actor, query.actor), (AuditRow.action, query.action),
                              (AuditRow.object_type, query.object_type), (AuditRow.object_id, query.object_id)):
            if value is not None:
                stmt = stmt.where(column == value)
        if query.since is not None:
            stmt = stmt.where(AuditRow.at >= query.since)
        if query.until is not None:
            stmt = stmt.where(AuditRow.at < query.until)
        if query.within_areas is not None:  # entries tied to no area match no area list (see query_audit)
            stmt = stmt.where(within_areas_clause(AuditRow.area_code, query.within_areas))
        return [AuditEntry(id=r.id, at=_aware(r.at), actor=r.actor, action=r.action, object_type=r.object_type,
                           object_id=r.object_id, area_code=r.area_code, address=r.address, details=r.details)
                for r in self.session.scalars(stmt)]


class SqlLoginThrottleRepository:
    def __init__(self, session: Session):
        self.session = session

    def blocked_until(self, key: str) -> datetime | None:
        row = self.session.get(LoginThrottleRow, key)
        return _aware(row.blocked_until) if row else None

    def record_failure(self, key: str, *, now: datetime, max_failures: int, block_seconds: int) -> None:
        row = self.session.get(LoginThrottleRow, key)
        if row is None:
            row = LoginThrottleRow(key=key, failures=0, updated_at=now)
            self.session.add(row)
        row.failures += 1
        row.updated_at = now
        if row.failures >= max_failures:
            # Each further failure doubles the wait, capped at an hour.
            factor = 2 ** min(row.failures - max_failures, 6)
            row.blocked_until = now + timedelta(seconds=min(block_seconds * factor, 3600))

    def reset(self, key: str) -> None:
        row = self.session.get(LoginThrottleRow, key)
        if row is not None:
            self.session.delete(row)

    def reset_prefix(self, prefix: str) -> None:
        self.session.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key.startswith(prefix, autoescape=True)),
                             execution_options={"synchronize_session": False})


class SqlRevokedTokenRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, jti: str, *, expires_at: datetime) -> None:
        if self.session.get(RevokedTokenRow, jti) is None:  # a second logout with the same token changes nothing
            self.session.add(RevokedTokenRow(jti=jti, expires_at=expires_at))

    def is_revoked(self, jti: str) -> bool:
        return self.session.get(RevokedTokenRow, jti) is not None

    def purge(self, *, expired_before: datetime) -> int:
        result = self.session.execute(delete(RevokedTokenRow).where(RevokedTokenRow.expires_at < expired_before),
                                      execution_options={"synchronize_session": False})
        return max(affected_rows(result) or 0, 0)
