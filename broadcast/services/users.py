"""Use cases for accounts: create (one or more roles, each at an area), change roles, list, reset a password,
disable and enable (signing in: services.sessions)."""
from __future__ import annotations

import re
from collections.abc import Sequence

from broadcast.domain.auth import Action, Grant, Principal, Role
from broadcast.domain.errors import AlreadyExists, InvalidInput, NotFound
from broadcast.domain.text import clean_text
from broadcast.domain.users import User, check_password_strength, check_username
from broadcast.services.areas import get_area
from broadcast.services.context import Actor, audit
from broadcast.services.ports import Clock, PasswordHasher, UnitOfWork
from broadcast.services.sessions import account_throttle_prefix


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(
            f"Vai trò không hợp lệ: {value!r}. Vai trò hợp lệ: {', '.join(r.value for r in Role)}.", code="invalid_role"
        ) from None


MAX_GRANTS = 20


def parse_grants(pairs: Sequence[tuple[str, str]]) -> tuple[Grant, ...]:
    """(role, area code) pairs as grants, in order, without repeats; at least one."""
    if any(not (area or "").strip() for _, area in pairs):
        raise InvalidInput("Mỗi vai trò cần chọn một khu vực.", code="grant_without_area")
    grants = tuple(dict.fromkeys(Grant(parse_role(role), area.strip()) for role, area in pairs))
    if not grants:
        raise InvalidInput("Tài khoản cần ít nhất một vai trò tại một khu vực.", code="no_grant")
    if len(grants) > MAX_GRANTS:
        raise InvalidInput(f"Một tài khoản có tối đa {MAX_GRANTS} vai trò.", code="too_many_grants")
    return grants


def _require_grantable(uow: UnitOfWork, actor: Actor, grants: Sequence[Grant]) -> None:
    """The actor must manage users in the area of every grant given (so no one grants beyond their own areas)."""
    for grant in grants:
        actor.require(Action.MANAGE_USERS, get_area(uow, grant.area_code).chain())


def create_user(uow: UnitOfWork, clock: Clock, hasher: PasswordHasher, actor: Actor, *, username: str, password: str,
                role: str | None = None, area_code: str | None = None, full_name: str = "",
                grants: Sequence[tuple[str, str]] = ()) -> User:
    """An account with one role at one area (role, area_code) or several (grants: (role, area code) pairs)."""
    check_username(username)
    full_name = clean_text(full_name, "Họ và tên")
    pairs = [*([(role, area_code or "")] if role is not None or area_code is not None else []), *grants]
    checked = parse_grants([(r or "", a) for r, a in pairs])
    check_password_strength(password, username)
    with uow:
        _require_grantable(uow, actor, checked)
        if uow.users.get_by_username(username):
            raise AlreadyExists(f"Tên đăng nhập {username} đã tồn tại.", code="user_exists")
        user = uow.users.add(username=username, full_name=full_name.strip(), password_hash=hasher.hash(password),
                             grants=list(checked), created_at=clock.now())
        audit(uow, clock, actor, "user.create", "user", username, area_code=checked[0].area_code,
              role=checked[0].role.value, grants=[f"{g.role.value}@{g.area_code}" for g in checked])
        uow.commit()
        return user


def set_grants(uow: UnitOfWork, clock: Clock, actor: Actor, *, username: str,
               grants: Sequence[tuple[str, str]]) -> User:
    """Replace an account's roles and areas. The actor must manage users where the account holds roles now and
    where it will; no one changes their own grants (an admin cannot lift or lose their own rights by mistake)."""
    checked = parse_grants(grants)
    with uow:
        user = _managed_user(uow, actor, username)
        if actor.principal is not None and actor.principal.user_id == user.id:
            raise InvalidInput("Không thể tự thay đổi vai trò của chính mình.", code="cannot_change_own_grants")
        _require_grantable(uow, actor, checked)
        uow.users.set_grants(user.id, checked)
        audit(uow, clock, actor, "user.set_grants", "user", username, area_code=checked[0].area_code,
              before=[f"{g.role.value}@{g.area_code}" for g in user.grants],
              after=[f"{g.role.value}@{g.area_code}" for g in checked])
        uow.commit()
        return _reloaded(uow, user)


def list_users(uow: UnitOfWork, principal: Principal, *, limit: int, offset: int) -> Sequence[User]:
    principal.require(Action.MANAGE_USERS, None)
    with uow:
        return uow.users.list(within_areas=frozenset(principal.areas_for(Action.MANAGE_USERS)), limit=limit,
                              offset=offset)


def _managed_user(uow: UnitOfWork, actor: Actor, username: str) -> User:
    """The account, if the actor may manage users in every area it holds a role in."""
    user = uow.users.get_by_username(username)
    if user is None:
        raise NotFound(f"Không tìm thấy tài khoản {username}.", code="user_not_found")
    for grant in user.grants:
        actor.require(Action.MANAGE_USERS, get_area(uow, grant.area_code).chain())
    return user


def _reloaded(uow: UnitOfWork, user: User) -> User:
    """The account as stored now (after an update). Accounts are never deleted, so it is always there."""
    updated = uow.users.get(user.id)
    if updated is None:
        raise NotFound(f"Không tìm thấy tài khoản {user.username}.", code="user_not_found")
    return updated


def set_password(uow: UnitOfWork, clock: Clock, hasher: PasswordHasher, actor: Actor, *, username: str,
                 password: str) -> User:
    """Reset a password; every token of the account ends."""
    with uow:
        user = _managed_user(uow, actor, username)
        check_password_strength(password, username)
        uow.users.set_password_hash(user.id, hasher.hash(password))
        uow.users.bump_token_epoch(user.id)
        uow.login_throttle.reset_prefix(account_throttle_prefix(username))
        audit(uow, clock, actor, "user.set_password", "user", username, area_code=user.home_area)
        uow.commit()
        return user


EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")


def set_email(uow: UnitOfWork, clock: Clock, actor: Actor, *, username: str, email: str | None) -> User:
    """Where the account's alerts and digest go (None or empty: nowhere); one's own, or as a user manager."""
    email = (email or "").strip() or None
    if email is not None and not EMAIL_RE.match(email):
        raise InvalidInput("Địa chỉ thư điện tử không hợp lệ.", code="invalid_email")
    with uow:
        own = actor.principal is not None and actor.principal.username == username
        user = uow.users.get_by_username(username) if own else _managed_user(uow, actor, username)
        if user is None:
            raise NotFound(f"Không tìm thấy tài khoản {username}.", code="user_not_found")
        uow.users.set_email(user.id, email)
        audit(uow, clock, actor, "user.email", "user", username, area_code=user.home_area, email=email)
        uow.commit()
        return _reloaded(uow, user)


def set_disabled(uow: UnitOfWork, clock: Clock, actor: Actor, *, username: str, disabled: bool) -> User:
    """Disable (every token ends, sign-in refused) or enable an account again."""
    with uow:
        user = _managed_user(uow, actor, username)
        if disabled and actor.principal is not None and actor.principal.user_id == user.id:
            raise InvalidInput("Không thể tự khóa tài khoản của chính mình.", code="cannot_disable_self")
        uow.users.set_disabled(user.id, disabled)
        if disabled:
            uow.users.bump_token_epoch(user.id)
        audit(uow, clock, actor, "user.disable" if disabled else "user.enable", "user", username,
              area_code=user.home_area)
        uow.commit()
        return _reloaded(uow, user)
