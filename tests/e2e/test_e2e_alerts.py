"""Faults injected into simulated controllers travel through the real broker as health, open the right alerts,
and each alert event reaches every responsible person by e-mail (a real SMTP server) once and every webhook once,
signed; acknowledging records who; clearing the faults resolves the alerts; a webhook receiver that was down gets
every event later, once, in order."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broadcast.domain.alerts import AlertQuery
from broadcast.runtime import Runtime
from broadcast.services import alerts as alert_service
from broadcast.services import webhooks as webhook_service
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.users import set_email
from device_sim.device import DeviceSpec as SimSpec
from tests.support.app import HANOI, HOAN_KIEM, add_user, make_container, wipe
from tests.support.broker import start_broker
from tests.support.clock import MutableClock
from tests.support.fleet import running_fleet, wait_for
from tests.support.smtp import smtp_server  # noqa: F401 - fixture
from tests.support.webhook_receiver import webhook_receiver  # noqa: F401 - fixture

pytestmark = pytest.mark.integration
DEVICES = [f"hk-{i:04d}" for i in range(20)]
SECRET = "webhook-secret-0123456789"
RESPONSIBLE = ("lanhdao@hoankiem.vn", "quantri@hanoi.vn")


def delivered(runtime, done, timeout: float = 20.0) -> None:
    """Run the sender (the runtime's own job may be sending at the same time: a message is claimed by one)."""
    def attempt() -> bool:
        runtime.deliver_notifications()
        return done()

    wait_for(attempt, timeout, what="the notifications delivered")


@pytest.fixture
def world(tmp_path, database_url, smtp_server, webhook_receiver):  # noqa: F811
    clock = MutableClock(datetime.now(UTC))
    bootstrap = make_container(tmp_path, database_url, clock=clock)
    secrets = {d: register_device(bootstrap.uow(), clock, Actor(None),
                                  DeviceSpec(id=d, name=f"Cụm loa {d}", area_code=HOAN_KIEM)).mqtt_password
               for d in DEVICES}
    bootstrap.close()
    broker = start_broker(tmp_path / "broker", devices=list(secrets.items()))
    container = make_container(tmp_path, database_url, clock=clock, mqtt_url=broker.server_url,
                               smtp_url=smtp_server.url, fetch_allow="127.0.0.1/32")
    for username, role, area, email in (("lanh-dao-hk", "approver", HOAN_KIEM, "lanhdao@hoankiem.vn"),
                                        ("quan-tri-hn", "admin", HANOI, "quantri@hanoi.vn"),
                                        ("xem-hn", "viewer", HANOI, "xem@hanoi.vn")):  # a viewer is not told
        add_user(container, username, role, area)
        set_email(container.uow(), clock, Actor(None), username=username, email=email)
    alert_service.set_thresholds(container.uow(), clock, Actor(None), HANOI, {"settle_s": 0})
    webhook_service.add_webhook(container.uow(), clock, Actor(None), url=webhook_receiver.url, area_code=HANOI,
                                causes=[], secret=SECRET, check_url=lambda url: None)
    runtime = Runtime(container, flush_every_s=0.5, compile_every_s=None)
    runtime.start()
    try:
        with running_fleet(f"mqtt://{broker.host}:{broker.port}", [SimSpec(d, secrets[d]) for d in DEVICES],
                           container.signer.public_key_b64) as fleet:
            assert runtime.gateway.wait_connected(10)
            yield container, runtime, fleet, clock
    finally:
        runtime.stop()
        broker.kill()
        wipe(container)
        container.close()


def health_of(container, device_id):
    with container.uow() as uow:
        found = uow.health.current(device_id)
    return found[1] if found else None


def alerts(container, state=None):
    with container.uow() as uow:
        return uow.alerts.list(AlertQuery(state=state, limit=1000))


def test_faults_alert_notify_acknowledge_resolve(world, smtp_server, webhook_receiver):  # noqa: F811
    container, runtime, fleet, clock = world
    wait_for(lambda: all(health_of(container, d) for d in DEVICES), 30, what="every device's health stored")
    amplifiers = fleet.call(lambda: fleet.fleet.inject_fault("amplifier_fault", 0.1, seed=1))
    hot = fleet.call(lambda: fleet.fleet.inject_fault("overheating", 0.05, seed=2))
    wait_for(lambda: all(health_of(container, d).amplifier == "fault" for d in amplifiers)
             and all(health_of(container, d).temperature_c >= 78 for d in hot), 30, what="the faults stored")

    report = runtime.evaluate_alerts()
    expected = {(d, "amplifier_fault") for d in amplifiers} | {(d, "temperature_high") for d in hot}
    assert {(a.device_id, a.cause.value) for a in alerts(container, "open")} == expected
    assert report.opened == len(expected) == 3
    assert runtime.evaluate_alerts().opened == 0  # held, not opened twice
    delivered(runtime, lambda: all(len(smtp_server.inbox.to(a)) >= 3 for a in RESPONSIBLE)
              and len(webhook_receiver.events()) >= 3)
    for address in RESPONSIBLE:
        mails = smtp_server.inbox.to(address)
        assert len(mails) == 3, [m["Subject"] for m in mails]
        assert all(m["Subject"].startswith("[LoaXa] Cảnh báo mới") for m in mails)
    assert smtp_server.inbox.to("xem@hanoi.vn") == []
    hot_mail = next(m for m in smtp_server.inbox.to("quantri@hanoi.vn") if "Nhiệt độ cao" in m["Subject"])
    assert f"Cụm loa {hot[0]}" in hot_mail.get_content() and "ngưỡng 70 °C" in hot_mail.get_content()
    assert [e["type"] for e in webhook_receiver.events()] == ["alert.opened"] * 3
    assert webhook_receiver.verified(SECRET)

    webhook_receiver.up = False  # the receiver goes down; events wait for it
    one = next(a for a in alerts(container, "open") if a.cause.value == "amplifier_fault")
    taken = alert_service.acknowledge(container.uow(), clock, Actor(None), one.id, "Đã báo thợ sửa",
                                      notify=container.notifier)
    assert (taken.state.value, taken.acknowledged_by, taken.note) == ("acknowledged", "system", "Đã báo thợ sửa")
    fleet.call(lambda: fleet.fleet.clear_faults())
    wait_for(lambda: all(health_of(container, d).amplifier == "ok" and health_of(container, d).temperature_c < 60
                         for d in DEVICES), 30, what="the faults cleared")
    assert runtime.evaluate_alerts().resolved == 3
    delivered(runtime, lambda: webhook_receiver.refused >= 1 and all(len(smtp_server.inbox.to(a)) >= 6
                                                                     for a in RESPONSIBLE))
    assert webhook_receiver.refused == 1  # the oldest waiting event was tried; the later ones wait behind it
    clock.advance(seconds=31)  # past the first retry delay
    webhook_receiver.up = True
    delivered(runtime, lambda: len(webhook_receiver.events()) >= 7)
    events = webhook_receiver.events()
    assert [e["type"] for e in events] == ["alert.opened"] * 3 + ["alert.acknowledged"] + ["alert.resolved"] * 3
    assert len({e["id"] for e in events}) == 7 and webhook_receiver.verified(SECRET)
    assert events[3]["alert"]["id"] == one.id and events[3]["alert"]["note"] == "Đã báo thợ sửa"
    assert {a.state.value for a in alerts(container)} == {"resolved"}
    for address in RESPONSIBLE:
        subjects = [m["Subject"] for m in smtp_server.inbox.to(address)]
        assert len(subjects) == 6 and sum(s.startswith("[LoaXa] Đã hết") for s in subjects) == 3
    with container.uow() as uow:
        assert uow.notifications.backlog() == 0
