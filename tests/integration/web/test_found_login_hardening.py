"""Signing in without telling which accounts exist, without letting strangers lock an account, without storing
whatever a client sends (#11 findings 10, 11, 12)."""
from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from broadcast.domain.errors import Unauthenticated
from broadcast.persistence.models import AuditRow, LoginThrottleRow, UserRow
from broadcast.services.sessions import login
from broadcast.settings import SettingsError, load_settings
from broadcast.web.app import create_app
from tests.integration.web.test_found_api import error_of
from tests.support.app import HOAN_KIEM, PASSWORD, add_user, make_container, wipe

pytestmark = pytest.mark.integration
PROXY = "10.9.9.9"


def sign_in(client, username: str, password: str, forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/api/v1/auth/token", data={"username": username, "password": password}, headers=headers)


@pytest.fixture
def proxied(tmp_path, database_url, clock):
    """The app behind a reverse proxy at PROXY that LOAXA_TRUSTED_PROXIES names."""
    container = make_container(tmp_path, database_url, clock=clock, trusted_proxies=f"{PROXY}/32, 192.0.2.0/24")
    yield container
    wipe(container)
    container.close()


def client_from(container, address: str) -> TestClient:
    return TestClient(create_app(container), client=(address, 50000))


# -- 10: timing does not tell which usernames exist --------------------------------------------------------

@pytest.fixture
def costly(tmp_path, database_url, clock):
    """A hash cost well above the database's share of a login, so the comparison below cannot flake."""
    container = make_container(tmp_path, database_url, clock=clock, password_hash_memory_kib=32768)
    yield container
    wipe(container)
    container.close()


def fastest(attempt, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        attempt()
        times.append(time.perf_counter() - started)
    return min(times)


def test_unknown_and_disabled_users_take_as_long_as_a_wrong_password(costly):
    c = costly
    add_user(c, "officer", "editor", HOAN_KIEM)
    add_user(c, "retired", "editor", HOAN_KIEM)
    with c.engine.begin() as connection:
        connection.execute(update(UserRow).where(UserRow.username == "retired").values(disabled=True))
        real_hash = connection.scalar(select(UserRow.password_hash).where(UserRow.username == "officer"))
    addresses = iter(f"198.51.100.{n}" for n in range(1, 100))  # never throttled

    def failing(username: str):
        def attempt():
            with pytest.raises(Unauthenticated):
                login(c.uow(), c.clock, c.hasher, c.tokens, c.login_policy, username=username,
                      password="Sai-mat-khau-1", address=next(addresses))
        return attempt

    verify = fastest(lambda: c.hasher.verify(real_hash, "Sai-mat-khau-1"))
    wrong_password = fastest(failing("officer"))
    unknown = fastest(failing("khong-ton-tai"))
    disabled = fastest(failing("retired"))
    assert wrong_password > verify / 2
    assert unknown > verify / 2, (unknown, verify)
    assert disabled > verify / 2, (disabled, verify)


# -- 11: throttling per (account, address) and per address; X-Forwarded-For only from trusted proxies -------

def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(proxied):
    add_user(proxied, "alice", "editor", HOAN_KIEM)
    with client_from(proxied, PROXY) as client:
        for _ in range(proxied.settings.login_max_failures + 2):
            assert sign_in(client, "alice", "Sai-mat-khau-1", "10.0.0.1").status_code in (401, 429)
        blocked = sign_in(client, "alice", PASSWORD, "10.0.0.1")
        assert blocked.status_code == 429 and error_of(blocked)["code"] == "too_many_attempts"
        assert sign_in(client, "alice", PASSWORD, "10.0.0.2").status_code == 200
        # The proxy appends the peer it saw; what the client wrote before that is not believed.
        assert sign_in(client, "alice", PASSWORD, "10.0.0.2, 10.0.0.1").status_code == 429
        assert sign_in(client, "alice", PASSWORD, "10.0.0.1, 10.0.0.3").status_code == 200
        # Several trusted hops: the first untrusted address from the right is the client.
        assert sign_in(client, "alice", PASSWORD, "10.0.0.1, 192.0.2.7").status_code == 429
    with proxied.engine.connect() as connection:
        addresses = set(connection.scalars(select(AuditRow.address).where(AuditRow.action == "auth.login_failed")))
    assert addresses == {"10.0.0.1"}


def test_an_address_trying_many_accounts_is_slowed_down(proxied):
    with client_from(proxied, PROXY) as client:
        answers = [sign_in(client, f"user{n}", "Sai-mat-khau-1", "10.0.0.5").status_code for n in range(40)]
        assert answers[-1] == 429 and answers[0] == 401
        assert sign_in(client, "user0", "Sai-mat-khau-1", "10.0.0.6").status_code == 401


def test_an_untrusted_client_cannot_choose_its_address(proxied):
    add_user(proxied, "alice", "editor", HOAN_KIEM)
    with client_from(proxied, "10.8.8.8") as client:
        for n in range(proxied.settings.login_max_failures):
            sign_in(client, "alice", "Sai-mat-khau-1", f"10.1.0.{n}")
        assert sign_in(client, "alice", PASSWORD, "10.1.1.1").status_code == 429
    with client_from(proxied, "10.8.8.9") as client:
        assert sign_in(client, "alice", PASSWORD).status_code == 200
    with proxied.engine.connect() as connection:
        addresses = set(connection.scalars(select(AuditRow.address).where(AuditRow.action == "auth.login_failed")))
    assert addresses == {"10.8.8.8"}


def test_without_trusted_proxies_the_header_is_ignored(container):
    add_user(container, "alice", "editor", HOAN_KIEM)
    with client_from(container, "127.0.0.1") as client:
        sign_in(client, "alice", "Sai-mat-khau-1", "10.0.0.1")
    with container.engine.connect() as connection:
        assert connection.scalar(select(AuditRow.address).where(AuditRow.action == "auth.login_failed")) == "127.0.0.1"


@pytest.mark.parametrize("value", ["proxy.example", "10.0.0.0/33", "10.0.0.1;10.0.0.2", "300.1.1.1"])
def test_bad_trusted_proxies_stop_startup(value):
    with pytest.raises(SettingsError, match="LOAXA_TRUSTED_PROXIES"):
        load_settings(trusted_proxies=value)


# -- 12: bounded input before anything is written -----------------------------------------------------------

def longest(container, column) -> int:
    """In Python: SQLite's length() stops at a NUL."""
    with container.engine.connect() as connection:
        return max(map(len, connection.scalars(select(column))), default=0)


@pytest.mark.parametrize("username,password", [
    ("a" * 50_000, "Sai-mat-khau-1"),
    ("officer" + "\u0000" * 15_000, "Sai-mat-khau-1"),
    ("officer", "p" * 50_000),
    ("offi\u0000cer", "Sai-mat-khau-1"),
], ids=["long-name", "name-with-nuls", "long-password", "short-name-with-nul"])
def test_oversized_sign_in_input_is_refused_and_never_stored_whole(container, client, username, password):
    add_user(container, "officer", "editor", HOAN_KIEM)
    response = sign_in(client, username, password)
    assert response.status_code == 401 and error_of(response)["code"] == "bad_credentials"
    assert longest(container, AuditRow.object_id) <= 64
    assert longest(container, LoginThrottleRow.key) <= 64 + 60


def test_a_900_kb_username_is_refused(container, client):
    response = sign_in(client, "x" * 900_000, "Sai-mat-khau-1")
    assert 400 <= response.status_code < 500
    assert longest(container, AuditRow.object_id) <= 64
    assert longest(container, LoginThrottleRow.key) <= 64 + 60


def test_failed_login_names_are_stored_nfc_and_printable(container, client):
    sign_in(client, "Hoa\u0300\u202e\n-nguyen", "Sai-mat-khau-1")  # NFD, a bidi override, a line break
    with container.engine.connect() as connection:
        stored = connection.scalar(select(AuditRow.object_id).where(AuditRow.action == "auth.login_failed"))
    assert stored == "Hoà-nguyen"
