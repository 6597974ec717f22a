"""Device registry, live state and delivery bookkeeping on the real app and database."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from nacl.signing import VerifyKey
from sqlalchemy import func, select

from broadcast import protocol
from broadcast.persistence.models import AuditRow, DeviceAckRow, DeviceRow
from broadcast.protocol.broker_config import check_password
from broadcast.services.delivery import DeliveryInbox, flush_outbox, stage_schedule
from tests.support.app import HANOI, HOAN_KIEM, VUNG_TAU, user
from tests.support.inbound import as_received

pytestmark = pytest.mark.integration


def count(container, model) -> int:
    with container.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin(container, client):
    return user(container, client, "admin", "admin", HANOI)


def register(client, admin, device_id="hk-0001", **extra):
    body = {"id": device_id, "name": "Cụm loa Tổ 3", "area_code": HOAN_KIEM, "vendor": "Sao Mai", **extra}
    return client.post("/api/v1/devices", headers=admin.headers, json=body)


def test_register_returns_secret_once_and_signing_key(container, client, admin):
    response = register(client, admin, latitude=21.03, longitude=105.85, connection="cellular")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["mqtt_username"] == "hk-0001" and len(body["mqtt_password"]) >= 24
    assert body["device"]["listens_on"] == [HANOI, f"{HANOI}-{HOAN_KIEM}"]
    key = client.get("/api/v1/devices/signing-key", headers=admin.headers).json()["public_key"]
    assert body["signing_public_key"] == key
    VerifyKey(base64.b64decode(key))  # a real 32-byte key
    with container.engine.connect() as connection:
        stored = connection.scalar(select(DeviceRow.mqtt_password_hash))
    assert check_password(body["mqtt_password"], stored) and body["mqtt_password"] not in stored
    shown = client.get("/api/v1/devices/hk-0001", headers=admin.headers).json()
    assert "mqtt_password" not in str(shown)


def test_device_in_a_zone(container, client, admin):
    zone = client.post("/api/v1/zones", headers=admin.headers, json={"commune_code": HOAN_KIEM, "name": "Tổ 3"}).json()
    assert register(client, admin, zones=[zone["id"]]).status_code == 201
    assert register(client, admin, "hk-0002").status_code == 201
    in_zone = client.get("/api/v1/devices", params={"zone": zone["id"]}, headers=admin.headers).json()
    assert [d["id"] for d in in_zone] == ["hk-0001"]
    assert in_zone[0]["listens_on"][-1] == zone["id"]


@pytest.mark.parametrize("extra,code", [
    ({"id": "X"}, "invalid_device_id"),
    ({"id": "bad/../id"}, "invalid_device_id"),
    ({"area_code": HANOI}, "device_needs_commune"),
    ({"area_code": "99999"}, "area_not_found"),
    ({"zones": ["01-00070-nowhere"]}, "unknown_zone"),
    ({"latitude": 48.8, "longitude": 2.3}, "invalid_location"),
    ({"latitude": 21.0}, "invalid_location"),
    ({"connection": "pigeon"}, "invalid_connection"),
    ({"name": ""}, "invalid_device_name"),
    ({"name": 7}, "invalid_input"),
])
def test_bad_device_input_changes_nothing(container, client, admin, extra, code):
    response = client.post("/api/v1/devices", headers=admin.headers,
                           json={"id": "hk-0009", "name": "Cụm loa", "area_code": HOAN_KIEM, **extra})
    assert response.status_code in (404, 422), response.text
    assert response.json()["error"]["code"] == code
    assert count(container, DeviceRow) == 0


def test_duplicate_device_is_409(container, client, admin):
    assert register(client, admin).status_code == 201
    again = register(client, admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "device_exists"


def test_rotate_secret_and_disable(container, client, admin):
    first = register(client, admin).json()["mqtt_password"]
    rotated = client.post("/api/v1/devices/hk-0001/rotate-secret", headers=admin.headers).json()
    with container.engine.connect() as connection:
        stored = connection.scalar(select(DeviceRow.mqtt_password_hash))
    assert check_password(rotated["mqtt_password"], stored) and not check_password(first, stored)
    disabled = client.post("/api/v1/devices/hk-0001/disable", headers=admin.headers).json()
    assert disabled["disabled"] is True
    actions = [e["action"] for e in client.get("/api/v1/audit", params={"object_type": "device"},
                                               headers=admin.headers).json()]
    assert actions == ["device.disable", "device.rotate_secret", "device.register"]
    missing = client.post("/api/v1/devices/nope-404/disable", headers=admin.headers)
    assert missing.status_code == 404



class FakePublisher:
    def __init__(self, accept=True):
        self.sent, self.accept = [], accept

    def publish_schedules(self, batch, *, timeout):
        self.sent.extend(batch)
        return [self.accept] * len(batch)


def test_live_state_from_status_and_acks(container, client, admin, clock):
    register(client, admin)
    register(client, admin, "hk-0002")
    uow = container.uow()
    with uow:
        device = uow.devices.get("hk-0001")
        publication = stage_schedule(uow, clock, container.signer, device, [],
                                     horizon_end=clock.now() + timedelta(days=7))
        uow.commit()
    assert publication.version == 1 and protocol.verify(publication.document, container.signer.public_key_b64)
    publisher = FakePublisher()
    assert flush_outbox(container.uow, clock, publisher, retry_base_s=60) == 1
    assert [d for d, _ in publisher.sent] == ["hk-0001"]
    # The outbox publishes the stored bytes as they are: they must be the protocol's wire encoding, signed.
    payload = publisher.sent[0][1]
    assert payload == protocol.encode(publication.document)
    assert protocol.parse_signed_schedule(payload, container.signer.public_key_b64, "hk-0001")["version"] == 1
    stale = client.get("/api/v1/devices", params={"stale": True}, headers=admin.headers).json()
    assert [d["id"] for d in stale] == ["hk-0001"]

    now = clock.now()
    status = protocol.build_status("hk-0001", at=now, schedule_version=1, volume=70, firmware="sim-1.0",
                                   playing={"item_id": "occ-1", "since": protocol.format_time(now)}, clock_offset_ms=12)
    ack = protocol.build_ack("hk-0001", protocol.schedule_ref(1), "received", at=now)
    inbox = DeliveryInbox(container.uow)
    inbox.handle([as_received(status, now), as_received(ack, now),
                  as_received(ack, now),  # QoS 1 duplicate
                  as_received(protocol.build_ack("ghost-01", {"schedule": 1}, "received", at=now), now)])
    inbox.handle([as_received(ack, now)])  # and again, later
    assert count(container, DeviceAckRow) == 1

    shown = client.get("/api/v1/devices/hk-0001", headers=admin.headers).json()
    state = shown["state"]
    assert state["online"] is True and state["firmware"] == "sim-1.0" and state["volume"] == 70
    assert state["playing_item"] == "occ-1" and state["clock_offset_ms"] == 12
    assert (state["published_version"], state["acknowledged_version"], state["reported_version"]) == (1, 1, 1)
    assert state["recent_acks"][0]["stage"] == "received"
    assert client.get("/api/v1/devices", params={"stale": True}, headers=admin.headers).json() == []
    online = client.get("/api/v1/devices", params={"online": True}, headers=admin.headers).json()
    assert [d["id"] for d in online] == ["hk-0001"]

    inbox.handle([as_received(protocol.offline_status("hk-0001"), now)])
    assert client.get("/api/v1/devices/hk-0001", headers=admin.headers).json()["state"]["online"] is False


def test_unchanged_timeline_is_not_a_new_version_and_retries_back_off(container, client, admin, clock):
    register(client, admin)
    uow = container.uow()
    with uow:
        device = uow.devices.get("hk-0001")
        first = stage_schedule(uow, clock, container.signer, device, [], horizon_end=clock.now())
        same = stage_schedule(uow, clock, container.signer, device, [], horizon_end=clock.now() + timedelta(days=1))
        uow.commit()
    assert first.version == 1 and same is None
    publisher = FakePublisher()
    flush_outbox(container.uow, clock, publisher, retry_base_s=60)
    # Online but silent: republished after the timeout, then after twice that.
    DeliveryInbox(container.uow).handle([as_received(protocol.build_status(
        "hk-0001", at=clock.now(), schedule_version=None, volume=50), clock.now())])
    assert flush_outbox(container.uow, clock, publisher, retry_base_s=60) == 0
    clock.advance(seconds=61)
    assert flush_outbox(container.uow, clock, publisher, retry_base_s=60) == 1
    clock.advance(seconds=61)
    assert flush_outbox(container.uow, clock, publisher, retry_base_s=60) == 0
    clock.advance(seconds=60)
    assert flush_outbox(container.uow, clock, publisher, retry_base_s=60) == 1
    assert [json.loads(payload)["version"] for _, payload in publisher.sent] == [1, 1, 1]


def test_broker_refusal_keeps_publication_due(container, client, admin, clock):
    register(client, admin)
    uow = container.uow()
    with uow:
        stage_schedule(uow, clock, container.signer, uow.devices.get("hk-0001"), [], horizon_end=clock.now())
        uow.commit()
    assert flush_outbox(container.uow, clock, FakePublisher(accept=False), retry_base_s=60) == 0
    assert flush_outbox(container.uow, clock, FakePublisher(), retry_base_s=60) == 1


def test_superseded_version_is_never_resent(container, client, admin, clock):
    """Only the newest unacknowledged version of a device is due; an older one stays retired even once the newer
    one is acknowledged (resending it would roll the device back)."""
    register(client, admin)
    publisher = FakePublisher()

    def stage(title):
        uow = container.uow()
        with uow:
            item = protocol.build_item(f"i-{title}", clock.now() + timedelta(hours=1), clock.now() + timedelta(hours=2),
                                       priority="normal", volume=80, title=title, media=[])
            stage_schedule(uow, clock, container.signer, uow.devices.get("hk-0001"), [item],
                           horizon_end=clock.now() + timedelta(days=1))
            uow.commit()

    inbox = DeliveryInbox(container.uow)
    inbox.handle([as_received(protocol.build_status(
        "hk-0001", at=clock.now(), schedule_version=None, volume=50), clock.now())])
    stage("một")
    assert flush_outbox(container.uow, clock, publisher, retry_base_s=60) == 1
    stage("hai")
    stage("ba")
    assert flush_outbox(container.uow, clock, publisher, retry_base_s=60) == 1
    inbox.handle([as_received(protocol.build_ack("hk-0001", protocol.schedule_ref(3), "received",
                                                 at=clock.now()), clock.now())])
    clock.advance(seconds=3600)
    assert flush_outbox(container.uow, clock, publisher, retry_base_s=60) == 0
    assert [json.loads(payload)["version"] for _, payload in publisher.sent] == [1, 3]
    assert "một".encode() in publisher.sent[0][1]  # raw UTF-8, as protocol.encode writes it


def test_commune_admin_sees_only_its_devices(container, client, admin):
    register(client, admin)
    other = user(container, client, "admin-hcm", "admin", "79")
    assert client.post("/api/v1/devices", headers=other.headers,
                       json={"id": "vt-0001", "name": "Loa Vũng Tàu", "area_code": VUNG_TAU}).status_code == 201
    assert [d["id"] for d in client.get("/api/v1/devices", headers=admin.headers).json()] == ["hk-0001"]
    assert client.get("/api/v1/devices/vt-0001", headers=admin.headers).status_code == 403
    assert count(container, AuditRow) >= 2
