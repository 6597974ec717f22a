"""A small fleet with published schedules, and a way to feed acks through the real DeliveryInbox."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from broadcast import protocol
from broadcast.devices.ports import InboundMessage as Msg  # what the gateway hands the inbox
from broadcast.services.context import Actor
from broadcast.services.delivery import DeliveryInbox, stage_schedule
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.playlog import record_play
from tests.support.app import CUA_NAM, HOAN_KIEM, VUNG_TAU
from tests.support.inbound import as_received

DEVICES = {"hk-0001": HOAN_KIEM, "hk-0002": HOAN_KIEM, "cn-0001": CUA_NAM, "vt-0001": VUNG_TAU}



@dataclass
class World:
    container: object
    clock: object
    t0: datetime  # start of the first planned item of every device
    items: dict[str, list[dict]] = field(default_factory=dict)
    inbox: DeliveryInbox | None = None

    def item(self, device_id: str, n: int) -> dict:
        return self.items[device_id][n]

    def ack(self, device_id: str, stage: str, *, version: int = 1, item_id: str | None = None,
            started_at: datetime | None = None, ended_at: datetime | None = None, reason: str | None = None,
            ref: dict | None = None, received_at: datetime | None = None) -> Msg:
        at = ended_at or started_at or self.clock.now()
        doc = protocol.build_ack(device_id, ref or protocol.schedule_ref(version), stage, at=at, item_id=item_id,
                                 reason=reason, started_at=started_at, ended_at=ended_at)
        return as_received(doc, received_at or self.clock.now())

    def feed(self, *messages: Msg) -> None:
        self.inbox.handle(list(messages))


def planned_items(device_id: str, t0: datetime) -> list[dict]:
    """Four 5-minute items an hour apart; ids as the compiler writes them (strings) and as numbers."""
    items = []
    for n in range(4):
        start = (t0 + timedelta(hours=n)).astimezone(protocol.VIETNAM_TZ)  # as the compiler writes: local offset
        item = protocol.build_item(f"occ-{device_id}-{n}", start=start, end=start + timedelta(minutes=5),
                                   priority="priority" if n == 1 else "normal", volume=70,
                                   title=f"Bản tin số {n + 1}", stream_url="http://127.0.0.1:9/vov1")
        item["schedule_id"] = str(100 + n) if n % 2 else 100 + n
        item["programme_id"] = 200 + n
        items.append(item)
    return items


@pytest.fixture
def world(container, clock) -> World:
    for device_id, commune in DEVICES.items():
        register_device(container.uow(), clock, Actor(None),
                        DeviceSpec(id=device_id, name=f"Cụm loa {device_id}", area_code=commune))
    t0 = (clock.now() + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    world = World(container, clock, t0, inbox=DeliveryInbox(container.uow, on_acks=record_play))
    uow = container.uow()
    with uow:
        for device in uow.devices.directory():
            world.items[device.id] = planned_items(device.id, t0)
            stage_schedule(uow, clock, container.signer, device, world.items[device.id],
                           horizon_end=clock.now() + timedelta(days=7))
        uow.commit()
    return world
