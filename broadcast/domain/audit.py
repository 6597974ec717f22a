"""What the audit trail records: who did what to which object, when, from where."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    object_type: str
    object_id: str
    at: datetime
    area_code: str | None = None
    address: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    within_areas: frozenset[str] | None = None  # None: every area
    limit: int = 100
    offset: int = 0
