"""/lich/{token}.ics: a phone calendar reads a user's feed with no header at all; only the token's hash is stored;
a wrong, replaced or revoked token, a disabled account or lost rights give one plain 404 (SQLite and PostgreSQL)."""
from __future__ import annotations

import hashlib

import pytest
from icalendar import Calendar
from sqlalchemy import select

from broadcast.domain.auth import Principal
from broadcast.domain.errors import PermissionDenied
from broadcast.persistence.models import CalendarLinkRow
from broadcast.services.calendar_links import create_link, revoke_link
from broadcast.services.context import Actor
from broadcast.services.users import set_disabled, set_grants, set_password
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, PASSWORD, add_user, user
from tests.support.web import approved_schedule

pytestmark = pytest.mark.integration


@pytest.fixture
def planned(container, client):
    editor = user(container, client, "can-bo-hk", "editor", HOAN_KIEM)
    approver = user(container, client, "chu-tich-hk", "approver", HOAN_KIEM)
    approved_schedule(client, editor, approver, title="Luật Hòa giải ở cơ sở", start="2026-11-29T06:00")
    add_user(container, "tu-phap", "viewer", HANOI)
    add_user(container, "quan-tri", "admin", HANOI)


def principal_of(container, username) -> Principal:
    """Who the user is for a request, as principal_from_token builds it."""
    uow = container.uow()
    with uow:
        account = uow.users.get_by_username(username)
    return Principal(user_id=account.id, username=account.username, grants=account.grants)


def link_for(container, username, area=HOAN_KIEM) -> str:
    return create_link(container.uow(), container.clock, Actor(principal_of(container, username)), area)


def fetch(client, token: str):
    client.cookies.clear()
    return client.get(f"/lich/{token}.ics")  # no Authorization header, no cookie


def test_a_token_reads_the_feed_without_any_header(container, client, planned):
    token = link_for(container, "tu-phap")
    response = fetch(client, token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    assert "no-store" in response.headers["cache-control"]
    events = list(Calendar.from_ical(response.content).walk("VEVENT"))
    assert [str(e["summary"]) for e in events] == ["Luật Hòa giải ở cơ sở"]
    with container.engine.connect() as connection:
        stored = connection.execute(select(CalendarLinkRow)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in stored.token_hash
    assert stored.area_code == HOAN_KIEM


def test_wrong_replaced_and_revoked_tokens_are_not_found(container, client, planned):
    first = link_for(container, "tu-phap")
    assert fetch(client, first + "x").status_code == 404
    assert fetch(client, "khong-ton-tai").status_code == 404
    second = link_for(container, "tu-phap")  # rotation: the old address stops at once
    assert fetch(client, first).status_code == 404
    assert fetch(client, second).status_code == 200
    viewer = Actor(principal_of(container, "tu-phap"))
    assert revoke_link(container.uow(), container.clock, viewer) is True
    refused = fetch(client, second)
    assert refused.status_code == 404 and "thu hồi" in refused.text
    assert revoke_link(container.uow(), container.clock, viewer) is False


def test_the_token_dies_with_the_account_and_follows_its_rights(container, client, planned):
    admin = Actor(principal_of(container, "quan-tri"))
    token = link_for(container, "tu-phap")
    set_disabled(container.uow(), container.clock, admin, username="tu-phap", disabled=True)
    assert fetch(client, token).status_code == 404
    set_disabled(container.uow(), container.clock, admin, username="tu-phap", disabled=False)
    assert fetch(client, token).status_code == 404  # disabling ended it for good, like the account's sessions

    token = link_for(container, "tu-phap")
    assert fetch(client, token).status_code == 200
    set_grants(container.uow(), container.clock, admin, username="tu-phap", grants=[("viewer", CUA_NAM)])
    assert fetch(client, token).status_code == 404  # Hoàn Kiếm is no longer the user's to read

    set_grants(container.uow(), container.clock, admin, username="tu-phap", grants=[("viewer", HANOI)])
    assert fetch(client, token).status_code == 200  # rights are those of the moment
    set_password(container.uow(), container.clock, container.hasher, admin, username="tu-phap",
                 password=PASSWORD + "x")
    assert fetch(client, token).status_code == 404  # a new password ends every credential of the account


def test_a_link_is_only_made_for_an_area_the_user_may_read(container, client, planned):
    add_user(container, "xem-cn", "viewer", CUA_NAM)
    with pytest.raises(PermissionDenied):
        link_for(container, "xem-cn", HOAN_KIEM)
