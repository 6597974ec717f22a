"""User accounts and the password rules officers must meet."""
from __future__ import annotations

import re
from dataclasses import dataclass

from broadcast.domain.auth import Grant
from broadcast.domain.errors import InvalidInput

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = frozenset(
    {"1234567890", "12345678910", "0123456789", "password123", "matkhau123", "qwertyuiop", "admin12345",
     "abc123456789", "iloveyou123", "vietnam1234", "1111111111", "password1234"}
)


@dataclass(frozen=True)
class User:
    id: int
    username: str
    full_name: str
    password_hash: str
    disabled: bool
    grants: tuple[Grant, ...]


def check_username(username: str) -> str:
    if not USERNAME_RE.match(username or ""):
        raise InvalidInput(
            "Tên đăng nhập không hợp lệ: 3–64 ký tự, chữ thường không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang.",
            code="invalid_username",
        )
    return username


def check_password_strength(password: str, username: str) -> None:
    """Refuse empty, short, single-class or well-known passwords (Decree 85/2016 asks for real accounts)."""
    if not password or not password.strip():
        raise InvalidInput("Mật khẩu không được để trống.", code="weak_password")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.", code="weak_password")
    classes = sum(
        bool(re.search(pattern, password)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")
    )
    if password.lower() in COMMON_PASSWORDS or username.lower() in password.lower() or len(set(password)) < 5:
        raise InvalidInput("Mật khẩu quá dễ đoán, hãy chọn mật khẩu khác.", code="weak_password")
    if classes < 3 and len(password) < 16:
        raise InvalidInput(
            "Mật khẩu phải có ít nhất 3 trong 4 loại ký tự (chữ thường, chữ hoa, số, ký hiệu) hoặc dài từ 16 ký tự.",
            code="weak_password",
        )
