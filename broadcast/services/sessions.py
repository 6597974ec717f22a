"""Sign-in sessions: a token issued at login, checked on every request, ended by logout, a password change or
disabling the account.

Revocation lives here rather than in the routes so that cookie sessions reuse it. A token carries its account's
epoch, which a password change or disabling bumps (ending every token of the account), and its own id, which a
logout records as revoked until the token would have expired anyway.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcast.domain.auth import Principal
from broadcast.domain.errors import InvalidInput, TooManyAttempts, Unauthenticated
from broadcast.domain.users import (
    MAX_PASSWORD_LENGTH,
    MAX_USERNAME_LENGTH,
    USERNAME_RE,
    TokenClaims,
    User,
    check_password_strength,
    login_name,
)
from broadcast.services.context import Actor, audit
from broadcast.services.ports import Clock, PasswordHasher, TokenIssuer, UnitOfWork

BAD_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng."
ENDED = "Phiên đăng nhập đã kết thúc, vui lòng đăng nhập lại."
ADDRESS_ALLOWANCE = 4  # an address may try several accounts: it gets this many times one account's failures
MAX_ADDRESS_LENGTH = 64  # the audit_log.address column


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    block_seconds: int


def account_throttle_prefix(name: str) -> str:
    return f"user:{name.lower()}@"


def _throttle_keys(name: str, address: str | None) -> dict[str, int]:
    """Key -> allowance factor. Per account *and* address, so failures from elsewhere never lock the owner out;
    per address, so one address cannot try every account."""
    where = address or "-"
    return {account_throttle_prefix(name) + where: 1, f"addr:{where}": ADDRESS_ALLOWANCE}


def _refuse_if_blocked(uow: UnitOfWork, keys: dict[str, int], now: datetime) -> None:
    for key in keys:
        until = uow.login_throttle.blocked_until(key)
        if until and until > now:
            wait = max(1, int((until - now).total_seconds()))
            raise TooManyAttempts(f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {wait} giây.",
                                  retry_after_s=wait)


def _record_failure(uow: UnitOfWork, policy: LoginPolicy, keys: dict[str, int], now: datetime) -> None:
    for key, factor in keys.items():
        uow.login_throttle.record_failure(key, now=now, max_failures=policy.max_failures * factor,
                                          block_seconds=policy.block_seconds)


def login(uow: UnitOfWork, clock: Clock, hasher: PasswordHasher, tokens: TokenIssuer, policy: LoginPolicy, *,
          username: str, password: str, address: str | None) -> tuple[str, int]:
    """Return (token, lifetime in seconds).

    Over-long input is refused like a wrong password, before any hashing, and only a bounded printable form of the
    name is stored. A missing or disabled account is checked against a dummy hash: it takes as long as a wrong
    password, so the answer's timing does not tell which names exist.
    """
    now = clock.now()
    name, address = login_name(username), (address or "")[:MAX_ADDRESS_LENGTH] or None
    keys = _throttle_keys(name, address)
    with uow:
        _refuse_if_blocked(uow, keys, now)
        oversized = len(username) > MAX_USERNAME_LENGTH or len(password) > MAX_PASSWORD_LENGTH
        # A name no account may have (a NUL, which PostgreSQL refuses) is not even looked up.
        user = uow.users.get_by_username(username) if not oversized and USERNAME_RE.match(username) else None
        account = user if user is not None and not user.disabled else None  # None: no usable account
        verified = not oversized and hasher.verify(
            account.password_hash if account is not None else hasher.dummy_hash, password)
        if account is None or not verified:
            _record_failure(uow, policy, keys, now)
            audit(uow, clock, Actor(None, address), "auth.login_failed", "user", name,
                  area_code=user.home_area if user else None)
            uow.commit()
            raise Unauthenticated(BAD_LOGIN, code="bad_credentials")
        for key in keys:
            uow.login_throttle.reset(key)
        if hasher.needs_rehash(account.password_hash):
            uow.users.set_password_hash(account.id, hasher.hash(password))
        uow.commit()
    return tokens.issue(user_id=account.id, username=account.username, epoch=account.token_epoch, now=now)


def _authenticate(uow: UnitOfWork, clock: Clock, tokens: TokenIssuer, token: str) -> tuple[TokenClaims, User]:
    claims = tokens.read(token, now=clock.now())
    with uow:
        user = uow.users.get(claims.user_id)
        revoked = uow.revoked_tokens.is_revoked(claims.jti)
    if user is None or user.disabled:
        raise Unauthenticated("Tài khoản không còn hiệu lực.", code="account_disabled")
    if revoked or claims.epoch != user.token_epoch:
        raise Unauthenticated(ENDED, code="token_revoked")
    return claims, user


def _principal(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, grants=user.grants)


def principal_from_token(uow: UnitOfWork, clock: Clock, tokens: TokenIssuer, token: str) -> Principal:
    return _principal(_authenticate(uow, clock, tokens, token)[1])


def sliding_session(uow: UnitOfWork, clock: Clock, tokens: TokenIssuer, token: str, *,
                    renew_below: timedelta) -> tuple[Principal, str | None]:
    """The session's principal, and a fresh token when less than `renew_below` of this one is left: an officer
    working through the morning is not sent to the login page, and an idle session still ends. The old token stays
    valid until its own expiry (another tab may be using it); revocation by epoch ends both."""
    claims, user = _authenticate(uow, clock, tokens, token)
    now = clock.now()
    if claims.expires_at - now >= renew_below:
        return _principal(user), None
    fresh, _ttl = tokens.issue(user_id=user.id, username=user.username, epoch=user.token_epoch, now=now)
    return _principal(user), fresh


def logout(uow: UnitOfWork, clock: Clock, tokens: TokenIssuer, token: str, *, address: str | None) -> None:
    """End this token only; the account's other sessions go on."""
    claims, user = _authenticate(uow, clock, tokens, token)
    with uow:
        uow.revoked_tokens.add(claims.jti, expires_at=claims.expires_at)
        audit(uow, clock, Actor(_principal(user), address), "auth.logout", "user", user.username,
              area_code=user.home_area)
        uow.commit()


def change_own_password(uow: UnitOfWork, clock: Clock, hasher: PasswordHasher, tokens: TokenIssuer,
                        policy: LoginPolicy, actor: Actor, *, current_password: str,
                        new_password: str) -> tuple[str, int]:
    """Check the current password (throttled like a sign-in), set the new one, end every session of the account and
    return a fresh token for the caller."""
    if actor.principal is None:
        raise Unauthenticated("Cần đăng nhập để thực hiện thao tác này.", code="unauthenticated")
    now = clock.now()
    keys = _throttle_keys(actor.principal.username, actor.address)
    with uow:
        _refuse_if_blocked(uow, keys, now)
        user = uow.users.get(actor.principal.user_id)
        if user is None or len(current_password) > MAX_PASSWORD_LENGTH \
                or not hasher.verify(user.password_hash, current_password):
            _record_failure(uow, policy, keys, now)
            audit(uow, clock, actor, "auth.password_change_failed", "user", actor.principal.username,
                  area_code=user.home_area if user else None)
            uow.commit()
            raise InvalidInput("Mật khẩu hiện tại không đúng.", code="wrong_password")
        check_password_strength(new_password, user.username)
        uow.users.set_password_hash(user.id, hasher.hash(new_password))
        uow.users.bump_token_epoch(user.id)
        uow.login_throttle.reset_prefix(account_throttle_prefix(user.username))
        audit(uow, clock, actor, "user.change_password", "user", user.username, area_code=user.home_area)
        uow.commit()
        updated = uow.users.get(user.id)  # the bumped epoch
    if updated is None:  # accounts are never deleted
        raise Unauthenticated("Cần đăng nhập để thực hiện thao tác này.", code="unauthenticated")
    return tokens.issue(user_id=updated.id, username=updated.username, epoch=updated.token_epoch, now=now)


def purge_revoked_tokens(uow: UnitOfWork, clock: Clock) -> int:
    """Forget revoked tokens that have expired anyway (their expiry alone refuses them now)."""
    with uow:
        purged = uow.revoked_tokens.purge(expired_before=clock.now())
        uow.commit()
    return purged
