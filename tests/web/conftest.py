"""Fixtures of the browser tests: one Chromium per test session, measurements kept per test module."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import chromium, save_measurements


@pytest.fixture(scope="session")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def measurements(request) -> Iterator[dict]:
    found: dict = {}
    yield found
    save_measurements(found, f"measurements-{request.module.__name__.rsplit('.', 1)[-1]}")
