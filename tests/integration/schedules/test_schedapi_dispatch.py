"""Compile and stage from the database: only changed timelines get new versions; a change recompiles only
the devices it touches, and the result equals a full compilation."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from broadcast import protocol
from broadcast.persistence.models import SchedulePublicationRow
from broadcast.services.dispatch import DispatchSettings, dispatch
from tests.support.app import CUA_NAM, HANOI, HOAN_KIEM, user

pytestmark = pytest.mark.integration


def approved(client, editor, approver, commune, start, rrule=None, title="Tiếp sóng"):
    pid = client.post("/api/v1/programmes", headers=editor.headers, json={
        "title": title, "area_code": commune, "stream_url": "http://127.0.0.1:9/vov",
        "stream_duration_s": 600}).json()["id"]
    body = {"programme_id": pid, "targets": {"areas": [commune]}, "start": start}
    if rrule:
        body["rrule"] = rrule
    sid = client.post("/api/v1/schedules", headers=editor.headers, json=body).json()["id"]
    assert client.post(f"/api/v1/schedules/{sid}/submit", headers=editor.headers).status_code == 200
    assert client.post(f"/api/v1/schedules/{sid}/approve", headers=approver.headers).status_code == 200
    return sid


def latest_documents(container) -> dict[str, dict]:
    with container.engine.connect() as connection:
        rows = connection.execute(select(SchedulePublicationRow.device_id, SchedulePublicationRow.version,
                                         SchedulePublicationRow.document)).all()
    newest: dict[str, tuple[int, dict]] = {}
    for device_id, version, document in rows:
        if device_id not in newest or version > newest[device_id][0]:
            newest[device_id] = (version, document)
    return {d: doc for d, (_v, doc) in newest.items()}


def test_change_recompiles_only_touched_devices(container, client):
    admin = user(container, client, "admin", "admin", HANOI)
    editor = user(container, client, "editor", "editor", HANOI)
    approver = user(container, client, "approver", "approver", HANOI)
    for commune, prefix in ((HOAN_KIEM, "hk"), (CUA_NAM, "cn")):
        for n in range(3):
            client.post("/api/v1/devices", headers=admin.headers,
                        json={"id": f"{prefix}-{n:04d}", "name": f"Cụm loa {n}", "area_code": commune})
    approved(client, editor, approver, HOAN_KIEM, "2026-11-29T06:00", "FREQ=DAILY;COUNT=10", "Pháp luật hằng ngày")
    approved(client, editor, approver, CUA_NAM, "2026-11-29T17:00", "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=9")
    settings = DispatchSettings(container.settings.timezone, 7, container.settings.public_url)

    report, compiled = dispatch(container.uow, container.clock, container.signer, settings)
    assert (report.devices, report.staged, report.incremental) == (6, 6, False)
    first = latest_documents(container)
    assert len(first["hk-0000"]["items"]) == 7 and all(protocol.verify(d, container.signer.public_key_b64)
                                                      for d in first.values())
    assert first["hk-0000"]["items"] == first["hk-0002"]["items"]  # same targets, same timeline

    again, compiled = dispatch(container.uow, container.clock, container.signer, settings, previous=compiled)
    assert (again.devices, again.staged) == (0, 0)

    approved(client, editor, approver, HOAN_KIEM, "2026-11-29T18:30", title="Thông báo của xã")
    change, compiled = dispatch(container.uow, container.clock, container.signer, settings, previous=compiled)
    assert change.incremental and change.devices == 3 and change.staged == 3  # Hoàn Kiếm's devices only
    after = latest_documents(container)
    assert after["hk-0001"]["version"] == 2 and after["cn-0001"]["version"] == 1
    assert [i["title"] for i in after["hk-0001"]["items"]][:3] == ["Pháp luật hằng ngày", "Thông báo của xã",
                                                                    "Pháp luật hằng ngày"]
    # The incremental result is what a full compilation gives: a full run finds nothing to change.
    full, _ = dispatch(container.uow, container.clock, container.signer, settings)
    assert (full.devices, full.staged) == (6, 0)
    with container.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(SchedulePublicationRow)) == 9
