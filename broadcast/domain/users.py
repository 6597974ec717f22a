"""User accounts and the password rules officers must meet."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from broadcast.domain.auth import Grant
from broadcast.domain.errors import InvalidInput
from broadcast.domain.text import printable

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 10
MAX_USERNAME_LENGTH = 64  # the users.username column
MAX_PASSWORD_LENGTH = 256  # longer sign-in input is refused before any hashing or storing
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
    token_epoch: int = 0  # tokens of an older epoch are revoked (password change, disabling)
    email: str | None = None  # alerts and the daily digest of the account's areas

    @property
    def home_area(self) -> str | None:
        """The area entries about this account are filed under (so that area's admins see them)."""
        return self.grants[0].area_code if self.grants else None


@dataclass(frozen=True)
class TokenClaims:
    """What a valid access token says: whose it is, its epoch, its id (for logout) and when it ends."""

    user_id: int
    epoch: int
    jti: str
    expires_at: datetime


def login_name(username: str) -> str:
    """What a sign-in attempt may store of the name typed (audit, throttle keys): NFC, printable, bounded."""
    # Controls, invisible formatting (bidi overrides) and line breaks would forge or hide audit lines.
    text = printable(unicodedata.normalize("NFC", username[:4 * MAX_USERNAME_LENGTH]))
    return "".join(text.split())[:MAX_USERNAME_LENGTH]  # no account name has white space


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
    if len(password) > MAX_PASSWORD_LENGTH:  # sign-in refuses longer input, so it could never be used
        raise InvalidInput(f"Mật khẩu dài tối đa {MAX_PASSWORD_LENGTH} ký tự.", code="invalid_password")
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
