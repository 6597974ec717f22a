from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from broadcast.services.users import login
from broadcast.web.deps import ContainerDep, PrincipalDep, UowDep, client_address
from broadcast.web.schemas import TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut)
def issue_token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], container: ContainerDep,
                uow: UowDep) -> TokenOut:
    token, lifetime = login(uow, container.clock, container.hasher, container.tokens, container.login_policy,
                            username=form.username, password=form.password, address=client_address(request))
    return TokenOut(access_token=token, expires_in=lifetime)


@router.get("/me")
def me(principal: PrincipalDep) -> dict:
    return {"id": principal.user_id, "username": principal.username,
            "grants": [{"role": g.role.value, "area_code": g.area_code} for g in principal.grants]}
