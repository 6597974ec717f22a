"""Password hashing (argon2id) and access tokens (HS256 JWT): the adapters behind the auth ports."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from broadcast.domain.errors import Unauthenticated


class Argon2PasswordHasher:
    def __init__(self, memory_kib: int = 65536) -> None:
        self._argon2 = _Argon2(memory_cost=memory_kib)

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

    def issue(self, *, user_id: int, username: str, now: datetime) -> tuple[str, int]:
        claims = {"sub": str(user_id), "name": username, "iat": int(now.timestamp()),
                  "exp": int((now + self._ttl).timestamp())}
        return jwt.encode(claims, self._secret, algorithm=self.ALGORITHM), int(self._ttl.total_seconds())

    def read(self, token: str, *, now: datetime) -> int:
        try:
            claims = jwt.decode(token, self._secret, algorithms=[self.ALGORITHM], options={"verify_exp": False, "require": ["sub", "exp"]})
        except jwt.PyJWTError:
            raise Unauthenticated("Mã truy cập không hợp lệ.", code="invalid_token") from None
        if claims["exp"] <= now.timestamp():
            raise Unauthenticated("Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.", code="token_expired")
        return int(claims["sub"])


def load_or_create_secret(path: Path) -> str:
    """A random secret kept in the data dir, so tokens survive restarts without configuration."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(secret)
    tmp.chmod(0o600)
    tmp.replace(path)
    return secret
