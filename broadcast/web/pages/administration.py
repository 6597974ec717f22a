"""Page 9, administration: its home, and the accounts an admin manages (list, create with one or more roles each
at an area, change roles, disable and enable, reset a password), through services/users.py as the API does.
Quiet hours and the audit log have their own modules (admin_policies.py, admin_audit.py)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from broadcast.domain.auth import Action, Principal, Role
from broadcast.domain.errors import DomainError, InvalidInput, NotFound
from broadcast.domain.users import MIN_PASSWORD_LENGTH, User
from broadcast.services import users as accounts
from broadcast.services.areas import get_area
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.errors import status_for
from broadcast.web.pages.listing import PAGE_SIZE, AreaChoice, Pager, area_choices, page_number
from broadcast.web.pages.navigation import ROLE_LABELS_VI
from broadcast.web.pages.session import CsrfChecked, PageActor, PagePrincipal, PageRoute, flash, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
HOME = "/quan-tri"
USERS = "/quan-tri/nguoi-dung"
BLANK_GRANT_ROWS = 2  # rows of the create form without JavaScript; records.js adds more
MAX_GRANT_ROWS = accounts.MAX_GRANTS


async def posted_form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def posted_grants(form: FormData) -> list[tuple[str, str]]:
    """The (role, area) rows of a form, rows left entirely blank dropped; the service checks the rest."""
    roles = [v for v in form.getlist("vai_tro") if isinstance(v, str)]
    areas = [v for v in form.getlist("khu_vuc") if isinstance(v, str)]
    rows = list(zip(roles, areas, strict=False))[:MAX_GRANT_ROWS]
    return [(role.strip(), area.strip()) for role, area in rows if role.strip() or area.strip()]


def _area_names(uow, choices: Sequence[AreaChoice], users: Sequence[User]) -> dict[str, str]:
    """Area code -> name for the grants shown (an account may hold a role beyond the admin's own areas)."""
    names = {c.code: c.label for c in choices}
    for code in {g.area_code for u in users for g in u.grants} - set(names):
        try:
            names[code] = get_area(uow, code).name
        except NotFound:
            names[code] = code
    return names


def _require_admin(principal: Principal) -> None:
    principal.require(Action.MANAGE_USERS, None)


@router.get(HOME, name="administration")
def administration_home(request: Request, principal: PagePrincipal) -> Response:
    _require_admin(principal)
    return request.app.state.pages.render(
        request, "admin.html", may_policy=bool(principal.areas_for(Action.MANAGE_POLICY)),
        may_audit=bool(principal.areas_for(Action.READ_AUDIT)))


def _users_page(request: Request, uow, principal: Principal, *, number: int, values: dict | None = None,
                grants: list[tuple[str, str]] | None = None, error: str | None = None, status: int = 200) -> Response:
    found = list(accounts.list_users(uow, principal, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE))
    shown = found[:PAGE_SIZE]
    choices = area_choices(uow, principal, Action.MANAGE_USERS)
    rows = (grants or []) + [("", "")] * max(BLANK_GRANT_ROWS - len(grants or []), 0)
    return request.app.state.pages.render(
        request, "admin_users.html", status=status, users=shown, areas=choices,
        area_names=_area_names(uow, choices, shown), roles=ROLE_LABELS_VI, role_values=list(Role),
        pager=Pager(number, PAGE_SIZE, len(found) > PAGE_SIZE, USERS, {}), values=values or {}, grant_rows=rows,
        error=error, min_length=MIN_PASSWORD_LENGTH, max_rows=MAX_GRANT_ROWS)


@router.get(USERS, name="admin_users")
def users_page(request: Request, uow: UowDep, principal: PagePrincipal, trang: str | None = None) -> Response:
    return _users_page(request, uow, principal, number=page_number(trang))


@router.post(USERS, dependencies=[CsrfChecked])
def create_user(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal, actor: PageActor,
                form: Posted) -> Response:
    values = {k: _text(form, k) for k in ("ten_dang_nhap", "ho_ten")}
    grants = posted_grants(form)
    password, again = form.get("mat_khau"), form.get("nhap_lai")
    try:
        if password != again:
            raise InvalidInput("Mật khẩu nhập lại không khớp.", code="password_mismatch")
        user = accounts.create_user(uow, container.clock, container.hasher, actor, username=values["ten_dang_nhap"],
                                    password=password if isinstance(password, str) else "",
                                    full_name=values["ho_ten"], grants=grants)
    except DomainError as exc:
        return _users_page(request, uow, principal, number=1, values=values, grants=grants, error=exc.message,
                           status=status_for(exc))
    response = redirect(request, f"{USERS}/{user.username}")
    flash(response, container, f"Đã tạo tài khoản {user.username} với {len(user.grants)} vai trò.", "ok")
    return response


def _managed(uow, principal: Principal, username: str) -> User:
    """The account if this admin may see it: it must hold a role in one of the admin's areas (as in the list)."""
    _require_admin(principal)
    with uow:
        user = uow.users.get_by_username(username)
    if user is None or not any(principal.may(Action.MANAGE_USERS, get_area(uow, g.area_code).chain())
                               for g in user.grants):
        raise NotFound(f"Không tìm thấy tài khoản {username}.", code="user_not_found")
    return user


def _user_page(request: Request, uow, principal: Principal, user: User, *, grants: list[tuple[str, str]] | None = None,
               error: str | None = None, status: int = 200) -> Response:
    choices = area_choices(uow, principal, Action.MANAGE_USERS)
    rows = grants if grants is not None else [(g.role.value, g.area_code) for g in user.grants]
    return request.app.state.pages.render(
        request, "admin_user.html", status=status, user=user, areas=choices,
        area_names=_area_names(uow, choices, [user]), roles=ROLE_LABELS_VI, role_values=list(Role),
        grant_rows=[*rows, ("", "")], error=error, min_length=MIN_PASSWORD_LENGTH, max_rows=MAX_GRANT_ROWS,
        is_self=user.id == principal.user_id)


@router.get(USERS + "/{username}", name="admin_user")
def user_page(request: Request, uow: UowDep, principal: PagePrincipal, username: str) -> Response:
    return _user_page(request, uow, principal, _managed(uow, principal, username))


@router.post(USERS + "/{username}/vai-tro", dependencies=[CsrfChecked])
def change_grants(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal, actor: PageActor,
                  username: str, form: Posted) -> Response:
    user = _managed(uow, principal, username)
    grants = posted_grants(form)
    try:
        accounts.set_grants(uow, container.clock, actor, username=username, grants=grants)
    except DomainError as exc:
        return _user_page(request, uow, principal, user, grants=grants, error=exc.message, status=status_for(exc))
    response = redirect(request, f"{USERS}/{username}")
    flash(response, container, f"Đã cập nhật vai trò của {username}; thay đổi có hiệu lực ngay.", "ok")
    return response


def _set_disabled(request: Request, container, uow, principal: Principal, actor, username: str, disabled: bool,
                  form: FormData) -> Response:
    user = _managed(uow, principal, username)
    try:
        accounts.set_disabled(uow, container.clock, actor, username=username, disabled=disabled)
    except DomainError as exc:
        return _user_page(request, uow, principal, user, error=exc.message, status=status_for(exc))
    back = USERS if _text(form, "tro_ve") == "danh-sach" else f"{USERS}/{username}"  # the list's own buttons
    response = redirect(request, back)
    flash(response, container, f"Đã khóa tài khoản {username}: mọi phiên đăng nhập và địa chỉ lịch riêng đã kết thúc."
          if disabled else f"Đã mở khóa tài khoản {username}.", "ok")
    return response


@router.post(USERS + "/{username}/khoa", dependencies=[CsrfChecked])
def disable_user(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal, actor: PageActor,
                 username: str, form: Posted) -> Response:
    return _set_disabled(request, container, uow, principal, actor, username, True, form)


@router.post(USERS + "/{username}/mo-khoa", dependencies=[CsrfChecked])
def enable_user(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal, actor: PageActor,
                username: str, form: Posted) -> Response:
    return _set_disabled(request, container, uow, principal, actor, username, False, form)


@router.post(USERS + "/{username}/mat-khau", dependencies=[CsrfChecked])
def reset_password(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal,
                   actor: PageActor, username: str, form: Posted) -> Response:
    user = _managed(uow, principal, username)
    password, again = form.get("mat_khau"), form.get("nhap_lai")
    try:
        if password != again:
            raise InvalidInput("Mật khẩu nhập lại không khớp.", code="password_mismatch")
        accounts.set_password(uow, container.clock, container.hasher, actor, username=username,
                              password=password if isinstance(password, str) else "")
    except DomainError as exc:
        return _user_page(request, uow, principal, user, error=exc.message, status=status_for(exc))
    response = redirect(request, f"{USERS}/{username}")
    flash(response, container, f"Đã đặt mật khẩu mới cho {username}; các phiên đăng nhập của tài khoản đã kết thúc.",
          "ok")
    return response
