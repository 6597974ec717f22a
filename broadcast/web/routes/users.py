from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from broadcast.domain.audit import AuditQuery
from broadcast.services.audit_log import query_audit
from broadcast.services.users import create_user, list_users, set_disabled, set_email, set_grants
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas import AuditOut, GrantsIn, StrictModel, UserIn, UserOut

router = APIRouter(tags=["users"])


@router.post("/users", response_model=UserOut, status_code=201, responses=errors(403, 404, 409))
def create(body: UserIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> UserOut:
    user = create_user(uow, container.clock, container.hasher, actor, username=body.username, password=body.password,
                       role=body.role, area_code=body.area_code, full_name=body.full_name,
                       grants=[(g.role, g.area_code) for g in body.grants])
    return UserOut.of(user)


@router.put("/users/{username}/grants", response_model=UserOut, responses=errors(403, 404, 422))
def replace_grants(username: str, body: GrantsIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> UserOut:
    """Replace the account's roles and areas (one or more); the change applies to its next request."""
    return UserOut.of(set_grants(uow, container.clock, actor, username=username,
                                 grants=[(g.role, g.area_code) for g in body.grants]))


class EmailIn(StrictModel):
    email: str | None = Field(default=None, max_length=254, description="Trống: không nhận thư")


@router.put("/users/{username}/email", response_model=UserOut, responses=errors(403, 404, 422))
def put_email(username: str, body: EmailIn, uow: UowDep, container: ContainerDep, actor: ActorDep) -> UserOut:
    """Where alerts and the daily digest of the account's areas are e-mailed (one's own, or a user manager's)."""
    return UserOut.of(set_email(uow, container.clock, actor, username=username, email=body.email))


@router.post("/users/{username}/disable", response_model=UserOut, responses=errors(403, 404, 422))
def disable(username: str, uow: UowDep, container: ContainerDep, actor: ActorDep) -> UserOut:
    """Disable an account: its tokens end at once and it cannot sign in until enabled again."""
    return UserOut.of(set_disabled(uow, container.clock, actor, username=username, disabled=True))


@router.post("/users/{username}/enable", response_model=UserOut, responses=errors(403, 404))
def enable(username: str, uow: UowDep, container: ContainerDep, actor: ActorDep) -> UserOut:
    return UserOut.of(set_disabled(uow, container.clock, actor, username=username, disabled=False))


@router.get("/users", response_model=list[UserOut], responses=errors(403))
def list_all(uow: UowDep, principal: PrincipalDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
             offset: Annotated[int, Query(ge=0)] = 0) -> list[UserOut]:
    return [UserOut.of(u) for u in list_users(uow, principal, limit=limit, offset=offset)]


@router.get("/audit", response_model=list[AuditOut], tags=["audit"], responses=errors(403))
def audit(uow: UowDep, principal: PrincipalDep, actor: str | None = None, action: str | None = None,
          object_type: str | None = None, object_id: str | None = None, since: datetime | None = None,
          until: datetime | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
          offset: Annotated[int, Query(ge=0)] = 0) -> list[AuditOut]:
    query = AuditQuery(actor=actor, action=action, object_type=object_type, object_id=object_id, since=since,
                       until=until, limit=limit, offset=offset)
    return [AuditOut.of(e) for e in query_audit(uow, principal, query)]
