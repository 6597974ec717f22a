"""What `loaxa demo` sets up for a first look: one account per role with a printed password, broadcasting hours
opened for the demo communes only, and a welcome that a narrow terminal cannot break."""
from __future__ import annotations

from pathlib import Path

import pytest

from broadcast.demo import DEMO_PEOPLE, DEMO_PROVINCE, demo_accounts, open_demo_hours, welcome_lines
from broadcast.services.policies import describe_policy
from tests.support.app import login

pytestmark = pytest.mark.integration


def test_one_account_per_role_whose_printed_password_signs_in(container, client):
    passwords = demo_accounts(container)
    assert set(passwords) == {username for username, _label in DEMO_PEOPLE.values()}
    for role, (username, _label) in DEMO_PEOPLE.items():
        me = client.get("/api/v1/auth/me", headers=login(client, username, passwords[username]).headers).json()
        assert {(g["role"], g["area_code"]) for g in me["grants"]} == {(role, DEMO_PROVINCE)}
    again = demo_accounts(container)  # a rerun prints new passwords: the old ones stop working
    assert again["admin"] != passwords["admin"]
    assert client.post("/api/v1/auth/token", data={"username": "admin", "password": passwords["admin"]}
                       ).status_code == 401
    login(client, "admin", again["admin"])


def test_the_demo_communes_broadcast_at_any_hour_and_the_rest_of_the_province_keeps_quiet_hours(container):
    with container.uow() as uow:
        communes = uow.areas.list(parent_code=DEMO_PROVINCE, limit=4)
    open_demo_hours(container, communes[:3])
    opened = describe_policy(container.uow(), None, communes[0].code)["effective"]["windows"]
    assert opened[0] == ["00:00-24:00"]
    untouched = describe_policy(container.uow(), None, communes[3].code)["effective"]["windows"]
    assert untouched[0] != ["00:00-24:00"]
    assert describe_policy(container.uow(), None, DEMO_PROVINCE)["own"] in (None, {})


def test_the_welcome_names_the_web_address_one_login_per_role_and_the_data_dir_in_short_lines():
    passwords = {username: f"LoaXa-{'x' * 12}-42" for username, _label in DEMO_PEOPLE.values()}
    lines = welcome_lines("http://127.0.0.1:8000", passwords, Path("var/demo"))
    text = "\n".join(lines)
    assert "http://127.0.0.1:8000/" in text and "LOAXA_DATA_DIR=var/demo" in text and "sim.log" in text
    for username, label in DEMO_PEOPLE.values():
        assert f"{label}: {username} / {passwords[username]}" in text
    assert max(len(line) for line in lines) <= 72, lines
