"""Signing in and out, and changing one's own password, through the same session services as the API."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from broadcast.domain.errors import DomainError, InvalidInput, Unauthenticated
from broadcast.domain.users import MIN_PASSWORD_LENGTH
from broadcast.services.sessions import change_own_password, login, logout, principal_from_token
from broadcast.web.deps import ContainerDep, UowDep, client_address
from broadcast.web.errors import status_for
from broadcast.web.pages.session import (
    LOGIN_PATH,
    SESSION_COOKIE,
    CsrfChecked,
    PageActor,
    PagePrincipal,
    PageRoute,
    end_session,
    flash,
    local_path,
    redirect,
    set_session,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormText = Annotated[str, Form()]


def _signed_in(request: Request, container, uow) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return False
    try:
        principal_from_token(uow, container.clock, container.tokens, token)
    except Unauthenticated:
        return False
    return True


@router.get(LOGIN_PATH, name="login")
def login_page(request: Request, container: ContainerDep, uow: UowDep, tiep: str = "/") -> Response:
    if _signed_in(request, container, uow):
        return redirect(request, local_path(tiep))
    return request.app.state.pages.render(request, "login.html", next=local_path(tiep), username="", error=None)


@router.post(LOGIN_PATH, dependencies=[CsrfChecked])
def login_submit(request: Request, container: ContainerDep, uow: UowDep, username: FormText = "",
                 password: FormText = "", tiep: FormText = "/") -> Response:
    try:
        token, _lifetime = login(uow, container.clock, container.hasher, container.tokens, container.login_policy,
                                username=username.strip(), password=password, address=client_address(request))
    except DomainError as exc:
        return request.app.state.pages.render(request, "login.html", status=status_for(exc), next=local_path(tiep),
                                              username=username.strip()[:64], error=exc.message)
    response = redirect(request, local_path(tiep))
    set_session(response, container, token)
    return response


@router.post("/dang-xuat", name="logout", dependencies=[CsrfChecked])
def logout_submit(request: Request, container: ContainerDep, uow: UowDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            logout(uow, container.clock, container.tokens, token, address=client_address(request))
        except Unauthenticated:
            pass  # already ended: signing out again changes nothing
    response = redirect(request, LOGIN_PATH)
    end_session(response, container)
    flash(response, container, "Bạn đã đăng xuất.", "ok")
    return response


@router.get("/doi-mat-khau", name="password")
def password_page(request: Request, principal: PagePrincipal) -> Response:
    return request.app.state.pages.render(request, "password.html", error=None, min_length=MIN_PASSWORD_LENGTH)


@router.post("/doi-mat-khau", dependencies=[CsrfChecked])
def password_submit(request: Request, container: ContainerDep, uow: UowDep, actor: PageActor,
                    current_password: FormText = "", new_password: FormText = "",
                    confirm_password: FormText = "") -> Response:
    try:
        if new_password != confirm_password:
            raise InvalidInput("Mật khẩu mới nhập lại không khớp.", code="password_mismatch")
        token, _lifetime = change_own_password(
            uow, container.clock, container.hasher, container.tokens, container.login_policy, actor,
            current_password=current_password, new_password=new_password)
    except Unauthenticated:
        raise
    except DomainError as exc:
        return request.app.state.pages.render(request, "password.html", status=status_for(exc), error=exc.message,
                                              min_length=MIN_PASSWORD_LENGTH)
    response = redirect(request, "/")
    set_session(response, container, token)
    flash(response, container, "Đã đổi mật khẩu. Các phiên đăng nhập khác của tài khoản đã kết thúc.", "ok")
    return response
