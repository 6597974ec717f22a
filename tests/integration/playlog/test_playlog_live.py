"""A live broadcast in the play log and the reports: every row of its play_now names the session (its number, the
officer, the targets by name), can be found by session, is exported with it, and counts as the airtime of the area
that went live rather than of an unknown source."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from broadcast import protocol
from broadcast.domain.auth import Principal
from broadcast.services import live as live_service
from broadcast.services.context import Actor
from broadcast.services.playlog import CSV_HEADERS
from broadcast.services.reports import aggregates
from broadcast.services.users import create_user
from tests.support.app import HOAN_KIEM, PASSWORD, login
from tests.support.web import sign_in

pytestmark = pytest.mark.integration


def go_live(world, username: str, full_name: str, **targets) -> int:
    container, clock = world.container, world.clock
    officer = create_user(container.uow(), clock, container.hasher, Actor(None), username=username,
                          password=PASSWORD, role="emergency_operator", area_code=HOAN_KIEM, full_name=full_name)
    tools = live_service.LiveTools(clock=clock, signer=container.signer, stream_public_url="http://127.0.0.1:9")
    principal = Principal(user_id=officer.id, username=officer.username, grants=officer.grants)
    session = live_service.start_live(container.uow(), tools, Actor(principal),
                                      live_service.LiveRequest(priority="emergency", **targets))
    assert session.cmd_id is not None
    clock.advance(seconds=40)
    started = clock.now() - timedelta(seconds=30)
    world.feed(*(world.ack(device, "played", ref=protocol.command_ref(session.cmd_id), started_at=started,
                           ended_at=clock.now()) for device in ("hk-0001", "hk-0002")))
    return session.id


def test_live_plays_name_the_session_the_officer_and_the_targets(world, client):
    session_id = go_live(world, "truc-ban", "Nguyễn Văn An", areas=[HOAN_KIEM], devices=["hk-0002"])
    headers = login(client, "truc-ban").headers

    rows = client.get("/api/v1/playlog", headers=headers, params={"live": session_id}).json()
    assert {r["device_id"] for r in rows} == {"hk-0001", "hk-0002"}
    for row in rows:
        assert row["live_session_id"] == session_id and row["priority"] == "emergency"
        assert row["title"] == f"Phát trực tiếp số {session_id}: Nguyễn Văn An (truc-ban) → Phường Hoàn Kiếm; " \
                               "Cụm loa hk-0002"
    assert client.get("/api/v1/playlog", headers=headers, params={"live": session_id + 1}).json() == []
    by_title = client.get("/api/v1/playlog", headers=headers, params={"q": "phat truc tiep"}).json()
    assert {r["live_session_id"] for r in by_title} == {session_id}  # scheduled items are not live

    exported = client.get("/api/v1/playlog", headers=headers, params={"live": session_id, "format": "csv"})
    table = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert "Mã phát trực tiếp" in CSV_HEADERS and len(table) == 2
    assert {r["Mã phát trực tiếp"] for r in table} == {str(session_id)}

    assert sign_in(client, "truc-ban").status_code == 303
    page = client.get("/nhat-ky-phat", params={"tu": "", "den": ""})
    assert f'href="/phat-truc-tiep/{session_id}"' in page.text  # the play log page links to the session


def test_live_airtime_counts_under_the_area_that_went_live(world):
    go_live(world, "truc-ban-2", "", zones=[], areas=[HOAN_KIEM])
    container = world.container
    day = world.clock.now().astimezone(container.settings.tz).date()
    uow = container.uow()
    with uow:
        figures = aggregates.compute_day(uow, day, container.settings.tz, now=world.clock.now(), area=HOAN_KIEM)
    live = [a for a in figures.airtime if a.priority == "emergency"]
    assert [(a.source, a.items, a.plays) for a in live] == [("commune", 1, 2)]
    assert live[0].seconds == 30
