"""The alerts API over the real app and database: rules evaluated over registered devices, alerts scoped to the
caller's areas, acknowledged by those responsible (who, when, note; once), thresholds inherited and overridden by
area; webhooks registered within the fetch policy; remote commands only to targets the caller may control."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from broadcast import protocol
from broadcast.persistence.models import CommandDeliveryRow, CommandPublicationRow
from broadcast.services import alerts as alert_service
from broadcast.services.context import Actor
from broadcast.services.delivery import DeliveryInbox
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, VUNG_TAU, user
from tests.support.inbound import as_received

pytestmark = pytest.mark.integration
FLEET = {"hk-0001": HOAN_KIEM, "hk-0002": HOAN_KIEM, "cn-0001": CUA_NAM, "vt-0001": VUNG_TAU}


@pytest.fixture
def fleet(container, clock):
    for device_id, commune in FLEET.items():
        register_device(container.uow(), clock, Actor(None), DeviceSpec(id=device_id, name=f"Cụm loa {device_id}",
                                                                         area_code=commune))
    clock.advance(hours=1)  # registered an hour ago, never heard since: offline past 15 minutes
    inbox = DeliveryInbox(container.uow)
    for device_id in ("hk-0001", "hk-0002", "cn-0001"):
        doc = protocol.build_status(device_id, at=clock.now(), schedule_version=None, volume=70,
                                    storage_free_bytes=1 << 30,
                                    health={"amplifier": "fault" if device_id != "hk-0002" else "ok",
                                            "temperature_c": 40})
        inbox.handle([as_received(doc, clock.now())])
    return inbox


def evaluate(container, clock):
    return alert_service.evaluate(container.uow, clock, container.settings.tz, notify=container.notifier)


def test_rules_open_alerts_once_scoped_to_the_callers_areas(container, client, clock, fleet):
    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"settle_s": 0})
    report = evaluate(container, clock)
    assert (report.devices, report.opened) == (4, 2)  # two amplifier faults in Hà Nội (Vũng Tàu: still settling)
    pending_hcm = evaluate(container, clock)
    assert pending_hcm.opened == 0
    clock.advance(minutes=3)  # past Vũng Tàu's default settle time (no override there)
    assert evaluate(container, clock).opened == 1
    hk = user(container, client, "xem-hk", "viewer", HOAN_KIEM)
    seen = client.get("/api/v1/alerts", headers=hk.headers).json()
    assert [(a["device_id"], a["cause"], a["state"]) for a in seen] == [("hk-0001", "amplifier_fault", "open")]
    assert seen[0]["text"] == "Hỏng bộ khuếch đại" and seen[0]["cause_label"] == "Hỏng bộ khuếch đại"
    hn = user(container, client, "xem-hn", "viewer", HANOI)
    assert {a["device_id"] for a in client.get("/api/v1/alerts", headers=hn.headers).json()} == {"hk-0001",
                                                                                                "cn-0001"}
    assert client.get("/api/v1/alerts", params={"area": VUNG_TAU}, headers=hn.headers).status_code == 403
    offline = client.get("/api/v1/alerts", params={"cause": "offline"},
                         headers=user(container, client, "xem-vt", "viewer", VUNG_TAU).headers).json()
    assert [a["device_id"] for a in offline] == ["vt-0001"]
    assert client.get("/api/v1/alerts", params={"state": "nonsense"}, headers=hn.headers).status_code == 422


def test_acknowledged_by_those_responsible_once(container, client, clock, fleet):
    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"settle_s": 0})
    evaluate(container, clock)
    viewer = user(container, client, "xem-hk", "viewer", HOAN_KIEM)
    alert_id = client.get("/api/v1/alerts", headers=viewer.headers).json()[0]["id"]
    assert client.post(f"/api/v1/alerts/{alert_id}/ack", json={}, headers=viewer.headers).status_code == 403
    other = user(container, client, "bien-tap-cn", "editor", CUA_NAM)
    assert client.post(f"/api/v1/alerts/{alert_id}/ack", json={}, headers=other.headers).status_code == 403
    leader = user(container, client, "lanh-dao-hk", "approver", HOAN_KIEM)
    taken = client.post(f"/api/v1/alerts/{alert_id}/ack", json={"note": "Đã cử người sửa"}, headers=leader.headers)
    assert taken.status_code == 200, taken.text
    body = taken.json()
    assert (body["state"], body["acknowledged_by"], body["note"]) == ("acknowledged", "lanh-dao-hk",
                                                                      "Đã cử người sửa")
    assert body["acknowledged_at"] is not None
    again = client.post(f"/api/v1/alerts/{alert_id}/ack", json={}, headers=leader.headers)
    assert again.status_code == 409
    assert client.post("/api/v1/alerts/999999/ack", json={}, headers=leader.headers).status_code == 404


def test_thresholds_inherit_and_override_by_area(container, client, clock):
    admin = user(container, client, "quan-tri-hn", "admin", HANOI)
    assert client.put(f"/api/v1/alert-thresholds/{HANOI}", json={"temperature_c": 60, "settle_s": 30},
                      headers=admin.headers).status_code == 200
    assert client.put(f"/api/v1/alert-thresholds/{HOAN_KIEM}", json={"temperature_c": 75},
                      headers=admin.headers).status_code == 200
    hk = client.get(f"/api/v1/alert-thresholds/{HOAN_KIEM}", headers=admin.headers).json()
    assert hk["own"] == {"temperature_c": 75} and hk["inherited_from"] == HANOI
    assert (hk["effective"]["temperature_c"], hk["effective"]["settle_s"]) == (75, 30)
    cn = client.get(f"/api/v1/alert-thresholds/{CUA_NAM}", headers=admin.headers).json()
    assert cn["own"] is None and cn["effective"]["temperature_c"] == 60
    bad = client.put(f"/api/v1/alert-thresholds/{HOAN_KIEM}", json={"temperature_c": 500}, headers=admin.headers)
    assert bad.status_code == 422
    editor = user(container, client, "bien-tap-hk", "editor", HOAN_KIEM)
    assert client.put(f"/api/v1/alert-thresholds/{HOAN_KIEM}", json={"temperature_c": 90},
                      headers=editor.headers).status_code == 403
    assert client.get(f"/api/v1/alert-thresholds/{HOAN_KIEM}",
                      headers=admin.headers).json()["effective"]["temperature_c"] == 75


def test_webhooks_within_the_fetch_policy(container, client):
    admin = user(container, client, "quan-tri-hn", "admin", HANOI)
    refused = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "area_code": HANOI},
                          headers=admin.headers)
    assert refused.status_code == 422 and "LOAXA_FETCH_ALLOW" in refused.text
    made = client.post("/api/v1/webhooks", json={"url": "https://93.184.215.14/hook", "area_code": HOAN_KIEM,
                                                 "causes": ["offline"]}, headers=admin.headers)
    assert made.status_code == 201, made.text
    hook = made.json()
    assert len(hook["secret"]) >= 32 and hook["causes"] == ["offline"]
    listed = client.get("/api/v1/webhooks", headers=admin.headers).json()
    assert [h["id"] for h in listed] == [hook["id"]] and listed[0]["secret"] is None
    viewer = user(container, client, "xem-hn", "viewer", HANOI)
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=viewer.headers).status_code == 403
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin.headers).status_code == 204
    assert client.get("/api/v1/webhooks", headers=admin.headers).json() == []
    assert client.post("/api/v1/webhooks", json={"url": "ftp://x/y", "area_code": HANOI},
                       headers=admin.headers).status_code == 422


def test_users_set_their_own_e_mail(container, client):
    me = user(container, client, "bien-tap-hk", "editor", HOAN_KIEM)
    done = client.put("/api/v1/users/bien-tap-hk/email", json={"email": "bientap@hoankiem.vn"}, headers=me.headers)
    assert done.status_code == 200 and done.json()["email"] == "bientap@hoankiem.vn"
    assert client.put("/api/v1/users/bien-tap-hk/email", json={"email": "không phải thư"},
                      headers=me.headers).status_code == 422
    other = user(container, client, "xem-hk", "viewer", HOAN_KIEM)
    assert client.put("/api/v1/users/bien-tap-hk/email", json={"email": "x@y.vn"},
                      headers=other.headers).status_code == 403


def test_remote_commands_reach_only_targets_the_user_may_control(container, client, clock, fleet):
    admin_hk = user(container, client, "quan-tri-hk", "admin", HOAN_KIEM)
    refused = client.post("/api/v1/commands", json={"action": "reboot", "areas": [CUA_NAM]}, headers=admin_hk.headers)
    assert refused.status_code == 403
    mixed = client.post("/api/v1/commands", json={"action": "set_power", "power": "off",
                                                  "devices": ["hk-0001", "cn-0001"]}, headers=admin_hk.headers)
    assert mixed.status_code == 403
    with container.engine.connect() as connection:
        assert connection.execute(select(CommandPublicationRow)).all() == []  # nothing staged by a refusal
    sent = client.post("/api/v1/commands", json={"action": "set_power", "power": "off", "areas": [HOAN_KIEM]},
                       headers=admin_hk.headers)
    assert sent.status_code == 202, sent.text
    assert sent.json()["devices"] == 2
    cmd_id = sent.json()["cmd_id"]
    with container.engine.connect() as connection:
        tracked = {d for (d,) in connection.execute(select(CommandDeliveryRow.device_id)
                                                    .where(CommandDeliveryRow.cmd_id == cmd_id))}
        documents = [r.document for r in connection.execute(select(CommandPublicationRow)
                                                             .where(CommandPublicationRow.cmd_id == cmd_id))]
    assert tracked == {"hk-0001", "hk-0002"}
    assert [d["target"] for d in documents] == [{"zone": f"{HANOI}-{HOAN_KIEM}"}]
    assert documents[0]["action"] == "set_power" and documents[0]["power"] == "off"
    protocol.verify_or_raise(documents[0], container.signer.public_key_b64)
    ack = protocol.build_ack("hk-0001", protocol.command_ref(cmd_id), "received", at=clock.now())
    fleet.handle([as_received(ack, clock.now())])
    status = client.get(f"/api/v1/commands/{cmd_id}", headers=admin_hk.headers).json()
    assert status["stages"] == {"received": 1, "sent": 1}
    assert {d["device_id"]: d["stage"] for d in status["devices"]} == {"hk-0001": "received", "hk-0002": None}
    outsider = user(container, client, "xem-vt", "viewer", VUNG_TAU)
    assert client.get(f"/api/v1/commands/{cmd_id}", headers=outsider.headers).status_code == 404
    for bad in ({"action": "set_volume", "devices": ["hk-0001"]}, {"action": "set_power", "devices": ["hk-0001"]},
                {"action": "self_destruct", "devices": ["hk-0001"]}, {"action": "reboot"}):
        assert client.post("/api/v1/commands", json=bad, headers=admin_hk.headers).status_code == 422, bad
    assert client.post("/api/v1/commands", json={"action": "reboot", "devices": ["khong-co"]},
                       headers=admin_hk.headers).status_code == 404
    audit = client.get("/api/v1/audit", params={"action": "command.set_power"}, headers=admin_hk.headers)
    assert audit.status_code == 200 and len(audit.json()) == 1


def test_a_relay_with_no_audio_when_due_is_an_alert(container, client, clock, fleet):
    from sqlalchemy import insert

    from broadcast.persistence.models import PlayLogRow

    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"settle_s": 0})
    with container.engine.begin() as connection:
        connection.execute(insert(PlayLogRow), [
            {"device_id": "hk-0002", "commune_code": HOAN_KIEM, "item_id": "occ-relay-1", "title": "Tiếp sóng VOV1",
             "planned_start": clock.now(), "outcome": "failed", "reason": "stream_unreachable",
             "recorded_at": clock.now()}])
    evaluate(container, clock)
    viewer = user(container, client, "xem-hk", "viewer", HOAN_KIEM)
    found = client.get("/api/v1/alerts", params={"cause": "relay_channel_down"}, headers=viewer.headers).json()
    assert [(a["device_id"], a["text"]) for a in found] == [
        ("hk-0002", "Kênh tiếp sóng không hoạt động khi đến giờ tiếp sóng (1 lần hôm nay)")]


def test_alert_history_lists_resolved_ones(container, client, clock, fleet):
    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"settle_s": 0})
    evaluate(container, clock)
    doc = protocol.build_status("hk-0001", at=clock.now(), schedule_version=None, volume=70,
                                storage_free_bytes=1 << 30, health={"amplifier": "ok"})
    fleet.handle([as_received(doc, clock.now())])
    clock.advance(seconds=1)
    assert evaluate(container, clock).resolved == 1
    viewer = user(container, client, "xem-hk", "viewer", HOAN_KIEM)
    resolved = client.get("/api/v1/alerts", params={"state": "resolved"}, headers=viewer.headers).json()
    assert [(a["device_id"], a["state"]) for a in resolved] == [("hk-0001", "resolved")]
    assert resolved[0]["resolved_at"] is not None
