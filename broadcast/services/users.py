"""Use cases for accounts: create, list, sign in."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from broadcast.domain.auth import Action, Grant, Principal, Role
from broadcast.domain.errors import AlreadyExists, InvalidInput, NotFound, TooManyAttempts, Unauthenticated
from broadcast.domain.users import User, check_password_strength, check_username
from broadcast.services.areas import get_area
from broadcast.services.context import Actor, audit
from broadcast.services.ports import Clock, PasswordHasher, TokenIssuer, UnitOfWork

BAD_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng."


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


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    block_seconds: int


def login(uow: UnitOfWork, clock: Clock, hasher: PasswordHasher, tokens: TokenIssuer, policy: LoginPolicy, *,
          username: str, password: str, address: str | None) -> tuple[str, int]:
    """Return (token, lifetime in seconds). Repeated failures per account and per address are slowed down."""
    now = clock.now()
    keys = [f"user:{username.lower()}"] + ([f"addr:{address}"] if address else [])
    with uow:
        for key in keys:
            until = uow.login_throttle.blocked_until(key)
            if until and until > now:
                wait = max(1, int((until - now).total_seconds()))
                raise TooManyAttempts(f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {wait} giây.",
                                      retry_after_s=wait)
        user = uow.users.get_by_username(username)
        if user is None or user.disabled or not hasher.verify(user.password_hash, password):
            for key in keys:
                # An address may try several accounts: give it a larger allowance than one account.
                allowance = policy.max_failures * (1 if key.startswith("user:") else 4)
                uow.login_throttle.record_failure(key, now=now, max_failures=allowance,
                                                  block_seconds=policy.block_seconds)
            audit(uow, clock, Actor(None, address), "auth.login_failed", "user", username)
            uow.commit()
            raise Unauthenticated(BAD_LOGIN, code="bad_credentials")
        for key in keys:
            uow.login_throttle.reset(key)
        if hasher.needs_rehash(user.password_hash):
            uow.users.set_password_hash(user.id, hasher.hash(password))
        uow.commit()
    return tokens.issue(user_id=user.id, username=user.username, now=now)


def principal_from_token(uow: UnitOfWork, clock: Clock, tokens: TokenIssuer, token: str) -> Principal:
    user_id = tokens.read(token, now=clock.now())
    with uow:
        user = uow.users.get(user_id)
    if user is None or user.disabled:
        raise Unauthenticated("Tài khoản không còn hiệu lực.", code="account_disabled")
    return Principal(user_id=user.id, username=user.username, grants=user.grants)




def set_password(uow: UnitOfWork, clock: Clock, hasher: PasswordHasher, actor: Actor, *, username: str,
                 password: str) -> User:
    with uow:
        user = uow.users.get_by_username(username)
        if user is None:
            raise NotFound(f"Không tìm thấy tài khoản {username}.", code="user_not_found")
        check_password_strength(password, username)
        for grant in user.grants:
            actor.require(Action.MANAGE_USERS, get_area(uow, grant.area_code).chain())
        uow.users.set_password_hash(user.id, hasher.hash(password))
        uow.login_throttle.reset(f"user:{username.lower()}")
        audit(uow, clock, actor, "user.set_password", "user", username,
              area_code=user.grants[0].area_code if user.grants else None)
        uow.commit()
        return user
