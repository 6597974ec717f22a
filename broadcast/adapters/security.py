"""Password hashing (argon2id) and access tokens (HS256 JWT): the adapters behind the auth ports."""
from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from broadcast.domain.errors import Unauthenticated
from broadcast.domain.users import TokenClaims

INT32_MAX = 2**31 - 1  # users.id and users.token_epoch are INTEGER columns
LATEST_EXP = 253402300799  # 9999-12-31T23:59:59Z, the last second a datetime holds
USER_ID = re.compile(r"[1-9][0-9]{0,9}")
TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


class Argon2PasswordHasher:
    def __init__(self, memory_kib: int = 65536) -> None:
        self._argon2 = _Argon2(memory_cost=memory_kib)
        self._dummy: str | None = None

    @property
    def dummy_hash(self) -> str:
        """A hash of a random secret with the same parameters, made once: verifying against it when an account does
        not exist (or is disabled) takes as long as a wrong password, so timing does not tell names apart."""
        if self._dummy is None:
            self._dummy = self.hash(secrets.token_urlsafe(32))
        return self._dummy

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._argon2.check_needs_rehash(password_hash)


class JwtTokenIssuer:
    ALGORITHM = "HS256"

    def __init__(self, secret: str, ttl: timedelta):
        self._secret = secret
        self._ttl = ttl

    def issue(self, *, user_id: int, username: str, epoch: int, now: datetime) -> tuple[str, int]:
        """A token bound to the account's epoch, with its own id so a logout can end it alone."""
        claims = {"sub": str(user_id), "name": username, "ep": epoch, "jti": secrets.token_urlsafe(24),
                  "iat": int(now.timestamp()), "exp": int((now + self._ttl).timestamp())}
        return jwt.encode(claims, self._secret, algorithm=self.ALGORITHM), int(self._ttl.total_seconds())

    def read(self, token: str, *, now: datetime) -> TokenClaims:
        """The claims of a token signed with our secret; any claim of the wrong shape makes it invalid (401)."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=[self.ALGORITHM],
                                options={"verify_exp": False, "require": ["sub", "exp", "ep", "jti"]})
        except jwt.PyJWTError:
            raise _invalid() from None
        sub, epoch, jti, exp = claims["sub"], claims["ep"], claims["jti"], claims["exp"]
        if not (isinstance(sub, str) and USER_ID.fullmatch(sub) and int(sub) <= INT32_MAX
                and _integer(epoch) and 0 <= epoch <= INT32_MAX
                and isinstance(jti, str) and TOKEN_ID.fullmatch(jti)
                and _integer(exp) and 0 < exp <= LATEST_EXP):
            raise _invalid()
        if exp <= now.timestamp():
            raise Unauthenticated("Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.", code="token_expired")
        return TokenClaims(user_id=int(sub), epoch=epoch, jti=jti, expires_at=datetime.fromtimestamp(exp, UTC))


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid() -> Unauthenticated:
    return Unauthenticated("Mã truy cập không hợp lệ.", code="invalid_token")


def load_or_create_secret(path: Path) -> str:
    """A random secret kept in the data dir, so tokens survive restarts without configuration."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # never readable by others, not even between create and rename (a stale tmp too)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    tmp.replace(path)
    return secret
