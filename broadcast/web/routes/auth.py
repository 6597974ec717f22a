from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from broadcast.services.sessions import change_own_password, login, logout
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, TokenDep, UowDep, client_address
from broadcast.web.openapi import errors
from broadcast.web.schemas import PasswordChangeIn, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut, responses=errors(401, 429))
def issue_token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], container: ContainerDep,
                uow: UowDep) -> TokenOut:
    token, lifetime = login(uow, container.clock, container.hasher, container.tokens, container.login_policy,
                            username=form.username, password=form.password, address=client_address(request))
    return TokenOut(access_token=token, expires_in=lifetime)


@router.get("/me")
def me(principal: PrincipalDep) -> dict:
    return {"id": principal.user_id, "username": principal.username,
            "grants": [{"role": g.role.value, "area_code": g.area_code} for g in principal.grants]}


@router.post("/logout", status_code=204, response_class=Response)
def sign_out(request: Request, token: TokenDep, container: ContainerDep, uow: UowDep) -> Response:
    """End this token; other sessions of the account go on."""
    logout(uow, container.clock, container.tokens, token, address=client_address(request))
    return Response(status_code=204)


@router.post("/password", response_model=TokenOut, responses=errors(429))
def change_password(body: PasswordChangeIn, container: ContainerDep, uow: UowDep, actor: ActorDep) -> TokenOut:
    """Change one's own password (the current one is needed); every session ends, a fresh token is returned."""
    token, lifetime = change_own_password(uow, container.clock, container.hasher, container.tokens,
                                          container.login_policy, actor, current_password=body.current_password,
                                          new_password=body.new_password)
    return TokenOut(access_token=token, expires_in=lifetime)
