"""FastAPI dependencies: the container, a unit of work per request, the signed-in principal."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from broadcast.bootstrap import Container
from broadcast.domain.auth import Principal
from broadcast.domain.errors import Unauthenticated
from broadcast.persistence.unit_of_work import SqlUnitOfWork
from broadcast.services.context import Actor
from broadcast.services.sessions import principal_from_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_container(request: Request) -> Container:
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_uow(container: ContainerDep) -> SqlUnitOfWork:
    return container.uow()


UowDep = Annotated[SqlUnitOfWork, Depends(get_uow)]


def client_address(request: Request) -> str | None:
    """The socket peer, or the client a trusted reverse proxy names in X-Forwarded-For (LOAXA_TRUSTED_PROXIES)."""
    peer = request.client.host if request.client else None
    return get_container(request).settings.proxies.client(peer, request.headers.getlist("x-forwarded-for"))


def bearer_token(token: Annotated[str | None, Depends(oauth2_scheme)]) -> str:
    if not token:
        raise Unauthenticated("Cần đăng nhập để thực hiện thao tác này.", code="unauthenticated")
    return token


TokenDep = Annotated[str, Depends(bearer_token)]


def get_principal(container: ContainerDep, uow: UowDep, token: TokenDep) -> Principal:
    return principal_from_token(uow, container.clock, container.tokens, token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_actor(request: Request, principal: PrincipalDep) -> Actor:
    return Actor(principal, client_address(request))


ActorDep = Annotated[Actor, Depends(get_actor)]
