"""Bulletin audio URLs go through the same fetch guard as CAP resources: only allowed addresses (here the stand-in
central server's 127.0.0.1), redirects checked hop by hop, one refusal for every failure."""
from __future__ import annotations

import pytest

from broadcast.persistence.models import BulletinRow
from tests.integration.bridge.conftest import bulletin, rows, work_files
from tests.integration.bridge.test_bridge_bad_input import nothing_imported, push
from tests.support.http_servers import Route, closed_port

pytestmark = pytest.mark.integration


def test_bulletin_audio_is_fetched_only_from_allowed_addresses(container, client, clock, central, registry,
                                                               http_servers, bulletin_mp3):
    audio = Route(body=bulletin_mp3, headers={"Content-Type": "audio/mpeg"})
    elsewhere = http_servers("127.0.0.2", {"/tin.mp3": audio})
    hop = http_servers("127.0.0.1", {"/tin.mp3": audio, "/away": Route(302, headers={"Location": elsewhere.url(
        "/tin.mp3")}), "/error": Route(503)})
    urls = {"elsewhere": elsewhere.url("/tin.mp3"), "odd": f"http://2130706434:{elsewhere.port}/tin.mp3",
            "redirect": hop.url("/away"), "missing": central.media_url("khong-co.mp3"),
            "closed": f"http://127.0.0.1:{closed_port()}/tin.mp3", "error": hop.url("/error")}
    answers = {}
    for name, url in urls.items():
        response = push(client, clock, bulletin(f"TW-G-{name}", clock, audio_url=url))
        answers[name] = (response.status_code, response.json()["status"], response.json()["code"],
                         response.json()["message"])
    assert set(answers.values()) == {answers["missing"]}, answers
    assert answers["missing"][:3] == (422, "refused", "media_unreachable")
    assert elsewhere.hits == [] and hop.hits == ["/away", "/error"]
    assert nothing_imported(container) and work_files(container) == []
    assert {r.status for r in rows(container, BulletinRow)} == {"refused"}

    accepted = push(client, clock, bulletin("TW-G-ok", clock, audio_url=hop.url("/tin.mp3")))
    assert accepted.status_code == 201, accepted.text
