"""Pushed bulletins (HMAC), duplicates, and refusals that leave nothing half imported."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from broadcast.bridge.signing import sign_headers
from broadcast.persistence.models import (
    AudioAssetRow,
    AuditRow,
    BridgeOutboxRow,
    BulletinRow,
    EmergencyRow,
    ProgrammeRow,
    ScheduleRow,
)
from tests.integration.bridge.conftest import SECRET, bulletin, count, rows, work_files
from tests.support.app import HOAN_KIEM

pytestmark = pytest.mark.integration
URL = "/api/v1/bridge/bulletins"


def push(client, clock, body: dict | bytes, *, secret: str = SECRET, skew_s: int = 0, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    signed = sign_headers(secret, int(clock.now().timestamp()) + skew_s, raw)
    return client.post(URL, content=raw, headers={"Content-Type": "application/json",
                                                  **(signed if headers is None else headers)})


def nothing_imported(container) -> bool:
    return all(count(container, model) == 0 for model in (ProgrammeRow, AudioAssetRow, ScheduleRow, EmergencyRow))


def test_a_duplicate_is_imported_once_whether_pushed_or_pulled(container, client, clock, central, jobs, registry):
    body = bulletin("TW-D-1", clock, priority="priority")
    first = push(client, clock, body)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "accepted" and first.json()["handling"] == "placed"
    again = push(client, clock, body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    central.state.add_bulletins([body])
    (pulled,) = jobs.pull().receipts
    assert pulled.status == "duplicate" and pulled.handling == "placed"

    assert count(container, BulletinRow) == 1 and count(container, ProgrammeRow) == 1
    assert count(container, AudioAssetRow) == 1 and count(container, ScheduleRow) == 1
    jobs.send()
    assert [r["payload"]["status"] for r in central.state.of_kind("receipt")] == ["accepted", "duplicate", "duplicate"]


@pytest.mark.parametrize("case", ["bad_signature", "other_secret", "stale", "missing", "tampered"])
def test_push_without_a_valid_signature_is_refused(container, client, clock, case):
    body = bulletin("TW-H-1", clock)
    raw = json.dumps(body).encode()
    if case == "bad_signature":
        response = push(client, clock, body, headers={"X-LoaXa-Timestamp": str(int(clock.now().timestamp())),
                                                      "X-LoaXa-Signature": "sha256=" + "0" * 64})
    elif case == "other_secret":
        response = push(client, clock, body, secret="not-the-shared-secret")
    elif case == "stale":  # a captured request replayed six minutes later
        response = push(client, clock, body, skew_s=-360)
    elif case == "missing":
        response = push(client, clock, body, headers={})
    else:  # signed, then the body changed on the way
        headers = sign_headers(SECRET, int(clock.now().timestamp()), raw)
        response = client.post(URL, content=raw.replace(b"TW-H-1", b"TW-H-2"),
                               headers={"Content-Type": "application/json", **headers})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"].startswith("signature_")
    assert count(container, BulletinRow) == 0 and count(container, BridgeOutboxRow) == 0


def _refusal_cases(central, clock):
    central.state.media["thong-bao.mp3"] = ("Đây là văn bản, không phải âm thanh.\n".encode() * 50, "audio/mpeg")
    return {
        "unknown_area": bulletin("TW-R-1", clock, areas=(HOAN_KIEM, "99999")),
        "expired": bulletin("TW-R-2", clock, valid_from=(clock.now() - timedelta(days=2)).isoformat(),
                            valid_to=(clock.now() - timedelta(minutes=1)).isoformat()),
        "not_audio": bulletin("TW-R-3", clock, audio_url=central.media_url("thong-bao.mp3")),
        "media_unreachable": bulletin("TW-R-4", clock, audio_url=central.media_url("khong-co.mp3")),
        "no_audio": bulletin("TW-R-5", clock, content=None),
        "invalid_priority": bulletin("TW-R-6", clock, priority="rat_gap"),
    }


@pytest.mark.parametrize("reason", ["unknown_area", "expired", "not_audio", "media_unreachable", "no_audio",
                                    "invalid_priority"])
@pytest.mark.parametrize("priority", ["priority", "emergency"])
def test_bad_bulletins_are_refused_with_a_receipt_and_nothing_imported(container, client, clock, central, jobs,
                                                                       registry, reason, priority):
    body = _refusal_cases(central, clock)[reason]
    if reason != "invalid_priority":
        body["priority"] = priority
    response = push(client, clock, body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "refused" and answer["bulletin_id"] == body["id"]
    if reason not in ("not_audio", "media_unreachable"):
        assert reason in answer["code"], answer
    assert answer["message"]  # in Vietnamese, for the officers on both sides
    assert nothing_imported(container)
    (record,) = rows(container, BulletinRow)
    assert record.status == "refused" and record.reason.startswith(answer["code"])
    assert work_files(container) == []  # the downloaded file is gone
    assert ("bridge.bulletin_refused", body["id"]) in {(a.action, a.object_id) for a in rows(container, AuditRow)}

    jobs.send()
    (receipt,) = central.state.of_kind("receipt")
    assert receipt["payload"]["status"] == "refused" and receipt["payload"]["code"] == answer["code"]


def test_a_refused_bulletin_may_be_sent_again_once_its_media_is_reachable(container, client, clock, central,
                                                                          registry, bulletin_mp3):
    body = bulletin("TW-R-7", clock, audio_url=central.media_url("muon.mp3"))
    assert push(client, clock, body).status_code == 422
    central.state.media["muon.mp3"] = (bulletin_mp3, "audio/mpeg")
    accepted = push(client, clock, body)
    assert accepted.status_code == 201 and accepted.json()["handling"] == "pooled", accepted.text
    assert [r.status for r in rows(container, BulletinRow)] == ["pooled"]
    assert count(container, ProgrammeRow) == 1


def test_malformed_push_is_refused(container, client, clock):
    assert push(client, clock, b"{not json").status_code == 400
    no_id = push(client, clock, {"title": "Không có mã"})
    assert no_id.status_code == 422 and no_id.json()["code"] == "invalid_id"
    naive = push(client, clock, bulletin("TW-M-1", clock, valid_to="2026-12-01T00:00:00"))
    assert naive.status_code == 422 and naive.json()["code"] == "invalid_time"
    assert count(container, BulletinRow) == 1 and nothing_imported(container)  # the one with an id is on record


@pytest.mark.parametrize("priority", ["normal", "emergency"])
def test_two_simultaneous_imports_of_one_new_bulletin_give_accepted_and_duplicate(container, clock, central, jobs,
                                                                                  registry, bulletin_mp3, priority,
                                                                                  monkeypatch):
    """A push and a pull (or two pushes) of a new id racing: both find no bulletin in their final transaction
    and both write; the second to write must answer `duplicate`, not fail, and nothing is imported twice."""
    import threading

    from broadcast.bridge.mapping import parse_bulletin
    from broadcast.persistence.bridge_repository import SqlBridgeRepository
    from broadcast.services.bridge.bulletins import import_bulletin

    central.state.media["dong-thoi.mp3"] = (bulletin_mp3, "audio/mpeg")
    body = bulletin("TW-RACE-1", clock, priority=priority, audio_url=central.media_url("dong-thoi.mp3"))
    both_looked = threading.Barrier(2, timeout=30)
    plain_get = SqlBridgeRepository.get_bulletin

    def get_then_wait(self, bulletin_id, *, for_update=False):
        found = plain_get(self, bulletin_id, for_update=for_update)
        if for_update and found is None:
            both_looked.wait()  # the two final transactions have both seen "not imported yet"
        return found

    monkeypatch.setattr(SqlBridgeRepository, "get_bulletin", get_then_wait)
    tools = container.bridge_tools()
    receipts, errors = [], []

    def run(via: str) -> None:
        try:
            receipts.append(import_bulletin(container.uow(), tools, parse_bulletin(body), via=via))
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(via,)) for via in ("push", "pull")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert errors == []
    assert sorted(r.status for r in receipts) == ["accepted", "duplicate"], [r.message for r in receipts]
    assert count(container, BulletinRow) == 1
    assert count(container, EmergencyRow if priority == "emergency" else ProgrammeRow) == 1
