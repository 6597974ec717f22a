"""Who is acting and from where: passed to every use case that changes something."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from broadcast.domain.audit import SYSTEM_ACTOR, AuditEntry
from broadcast.domain.auth import Action, Principal
from broadcast.services.ports import AuditTrail, Clock


@dataclass(frozen=True)
class Actor:
    principal: Principal | None  # None: the system itself (CLI run by an operator on the server, jobs)
    address: str | None = None

    @property
    def name(self) -> str:
        return self.principal.username if self.principal else SYSTEM_ACTOR

    def require(self, action: Action, area_chain: Iterable[str] | None) -> None:
        """The system actor (server-side CLI, jobs) is trusted; web requests always carry a principal."""
        if self.principal is not None:
            self.principal.require(action, area_chain)


def audit(uow: AuditTrail, clock: Clock, actor: Actor, action: str, object_type: str, object_id: str | int,
          *, area_code: str | None = None, **details: object) -> None:
    """Append to the audit log inside the caller's transaction, so the change and its record commit together."""
    uow.audit.append(
        AuditEntry(actor=actor.name, action=action, object_type=object_type, object_id=str(object_id),
                   at=clock.now(), area_code=area_code, address=actor.address, details=dict(details))
    )
