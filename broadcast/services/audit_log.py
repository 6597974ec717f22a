"""Reading the audit trail (appending happens in each use case, see context.audit)."""
from __future__ import annotations

from collections.abc import Sequence

from broadcast.domain.audit import AuditEntry, AuditQuery
from broadcast.domain.auth import Action, Principal
from broadcast.services.ports import UnitOfWork


def query_audit(uow: UnitOfWork, principal: Principal, query: AuditQuery) -> Sequence[AuditEntry]:
    """Admins see the entries of their own areas only.

    Every grant is bound to a province or a commune (there is no national grant), so an entry tied to no area (a
    failed login of an unknown name, area seeding) is shown to no admin here; entries about an account carry its area.
    """
    principal.require(Action.READ_AUDIT, None)
    scoped = AuditQuery(**{**query.__dict__, "within_areas": frozenset(principal.areas_for(Action.READ_AUDIT))})
    with uow:
        return uow.audit.list(scoped)
