"""Use cases for accounts: create, list, reset a password, disable and enable (signing in: services.sessions)."""
from __future__ import annotations

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


def create_user(uow: UnitOfWork, clock: Clock, hasher: PasswordHasher, actor: Actor, *, username: str, password: str,
                role: str, area_code: str, full_name: str = "") -> User:
    check_username(username)
    full_name = clean_text(full_name, "Họ và tên")
    grant = Grant(parse_role(role), area_code)
    check_password_strength(password, username)
    with uow:
        area = get_area(uow, area_code)
        actor.require(Action.MANAGE_USERS, area.chain())
        if uow.users.get_by_username(username):
            raise AlreadyExists(f"Tên đăng nhập {username} đã tồn tại.", code="user_exists")
        user = uow.users.add(username=username, full_name=full_name.strip(), password_hash=hasher.hash(password),
                             grants=[grant], created_at=clock.now())
        audit(uow, clock, actor, "user.create", "user", username, area_code=area.code, role=grant.role.value)
        uow.commit()
        return user


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
