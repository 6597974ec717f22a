"""Reading the audit trail (appending happens in each use case, see context.audit)."""
from __future__ import annotations

from collections.abc import Sequence

from broadcast.domain.audit import AuditEntry, AuditQuery
from broadcast.domain.auth import Action, Principal
from broadcast.services.ports import UnitOfWork


def query_audit(uow: UnitOfWork, principal: Principal, query: AuditQuery) -> Sequence[AuditEntry]:
    """Admins see entries of their own areas (and those tied to no area, e.g. failed logins)."""
    principal.require(Action.READ_AUDIT, None)
    scoped = AuditQuery(**{**query.__dict__, "within_areas": frozenset(principal.areas_for(Action.READ_AUDIT))})
    with uow:
        return uow.audit.list(scoped)
