"""Fixtures of the use-case tests: an in-memory database holding the world's areas, and a signing key."""
from __future__ import annotations

import pytest

from broadcast import protocol
from broadcast.protocol.signer import DocumentSigner
from tests.unit.services.fakes import FakeDatabase
from tests.unit.services.world import AREAS


@pytest.fixture
def db() -> FakeDatabase:
    database = FakeDatabase()
    database.add(*AREAS)
    return database


@pytest.fixture(scope="session")
def signer() -> DocumentSigner:
    return DocumentSigner(protocol.generate_private_key())
