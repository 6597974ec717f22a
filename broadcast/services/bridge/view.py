"""Reading the bridge: the bulletins a user's areas receive (the pool communes schedule from), and its health."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import InvalidInput, NotFound
from broadcast.services.bridge.ports import BulletinRecord
from broadcast.services.bridge.pull import CURSOR_KEY
from broadcast.services.bridge.reports import PLAYBACK_CURSOR
from broadcast.services.ports import UnitOfWork

STATUSES = ("pooled", "placed", "broadcast", "refused")
SCAN = 5000  # newest bulletins examined per listing, then filtered by scope


class _Scope:
    """Where a principal receives bulletins: its areas, the communes under them, and (for a commune officer)
    bulletins sent to the whole province."""

    def __init__(self, uow: UnitOfWork, principal: Principal):
        self.uow = uow
        self.readable = principal.areas_for(Action.READ)
        self.provinces = {p for p in (self._area_parent(r) for r in self.readable) if p}
        self._chains: dict[str, tuple[str, ...]] = {}

    def _area_parent(self, code: str) -> str | None:
        area = self.uow.areas.get(code)
        return area.parent_code if area else None

    def sees(self, record: BulletinRecord) -> bool:
        for code in record.target_areas:
            if code not in self._chains:
                area = self.uow.areas.get(code)
                self._chains[code] = area.chain() if area else (code,)
            if self.readable.intersection(self._chains[code]) or code in self.provinces:
                return True
        return False


def list_bulletins(uow: UnitOfWork, principal: Principal, *, status: str | None, limit: int,
                   offset: int) -> Sequence[BulletinRecord]:
    if status is not None and status not in STATUSES:
        raise InvalidInput("Trạng thái phải là pooled, placed, broadcast hoặc refused.", code="invalid_status")
    with uow:
        scope = _Scope(uow, principal)
        visible = [r for r in uow.bridge.list_bulletins(status=status, limit=SCAN, offset=0) if scope.sees(r)]
    return visible[offset:offset + limit]


def get_bulletin(uow: UnitOfWork, principal: Principal, bulletin_id: str) -> BulletinRecord:
    with uow:
        record = uow.bridge.get_bulletin(bulletin_id)
        if record is None or not _Scope(uow, principal).sees(record):
            raise NotFound(f"Không tìm thấy bản tin {bulletin_id}.", code="bulletin_not_found")
        return record


def bridge_status(uow: UnitOfWork, principal: Principal, *, enabled: bool) -> dict[str, Any]:
    principal.require(Action.READ_AUDIT, None)
    with uow:
        return {"enabled": enabled, "bulletin_cursor": uow.bridge.get_state(CURSOR_KEY),
                "playback_cursor": uow.bridge.get_state(PLAYBACK_CURSOR), "outbox": uow.bridge.outbox_summary()}
