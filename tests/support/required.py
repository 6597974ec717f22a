"""What the tests need from the machine. A service or program that is missing fails the run under CI=true (the
bootstrap installs everything, so missing is a broken set-up) and skips the test on a developer's machine."""
from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from typing import NoReturn

import pytest

SYSTEM_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/local/bin")


def missing(service: str, reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{service} needed but unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"{service} unavailable: {reason}")


def system_binary(name: str, *, package: str, dirs: Sequence[str] = SYSTEM_DIRS) -> str:
    """The program `name` on PATH or in the system directories root's PATH has and a test runner's may not."""
    found = shutil.which(name) or next((path for path in (os.path.join(d, name) for d in dirs)
                                        if os.access(path, os.X_OK)), None)
    if not found:
        missing(name, f"no `{name}` on PATH or in {', '.join(dirs)} (Debian package {package})")
    return found
