"""A small province week: devices in three communes, programmes of several topics, proof of play fed through
the real DeliveryInbox (acks and statuses), so reports can be checked against the play log itself."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcast import protocol
from broadcast.devices.ports import InboundMessage as Msg  # what the gateway hands the inbox
from broadcast.domain.priority import Priority
from broadcast.domain.scheduling import Programme
from broadcast.services.context import Actor
from broadcast.services.delivery import DeliveryInbox, stage_schedule
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.playlog import record_play
from tests.support.app import CUA_NAM, HOAN_KIEM, VUNG_TAU
from tests.support.inbound import as_received, presence

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 26)  # first day with broadcasts; the world ends on DAY + 2 ("today") at 14:00
DAYS = (DAY, DAY + timedelta(days=1), DAY + timedelta(days=2))
REGISTERED = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)
NOW = datetime(2026, 11, 28, 14, 0, tzinfo=TZ)
DEVICES = {"hk-0001": HOAN_KIEM, "hk-0002": HOAN_KIEM, "cn-0001": CUA_NAM, "vt-0001": VUNG_TAU}
# title, topic, language, source, minutes, local start hour
PROGRAMMES = (("Luật Đất đai 2024", "land", "vi", "commune", 10, 6),
              ("Bản tin thời sự", "news", "vi", "province", 5, 7),
              ("Phòng, chống ma túy", "drugs", "mtq", "justice", 15, 9),
              ("An toàn giao thông", "road_traffic", "vi", "central", 7, 11))
OUTCOME_CYCLE = ("played", "played", "missed", "played", "preempted", "played", "failed")



@dataclass
class World:
    container: object
    clock: object
    inbox: DeliveryInbox
    programme_ids: list[int] = field(default_factory=list)
    items: dict[str, list[dict]] = field(default_factory=dict)

    def status(self, device_id: str, online: bool, at: datetime) -> None:
        self.inbox.handle([presence(device_id, online, at)])

    def ack(self, device_id: str, item: dict, outcome: str, *, received_at: datetime | None = None) -> Msg:
        start, end = protocol.parse_time(item["start"]), protocol.parse_time(item["end"])
        played = outcome in ("played", "preempted")
        doc = protocol.build_ack(device_id, protocol.schedule_ref(1), outcome, at=end, item_id=item["item_id"],
                                 reason=None if played or outcome == "missed" else "download_failed",
                                 started_at=start if played else None, ended_at=end if played else None)
        return as_received(doc, received_at or end + timedelta(minutes=1))


def day_items(device_id: str, day: date, programme_ids: list[int]) -> list[dict]:
    """The same item ids on every device (as the compiler shares them), so items count once per commune."""
    items = []
    for n, (title, _topic, _lang, _source, minutes, hour) in enumerate(PROGRAMMES):
        start = datetime.combine(day, time(hour), TZ)
        item = protocol.build_item(f"occ-{day:%Y%m%d}-{n}", start=start, end=start + timedelta(minutes=minutes),
                                   priority="normal", volume=70, title=title, stream_url="http://127.0.0.1:9/vov1")
        item["schedule_id"] = str(100 + n)
        item["programme_id"] = programme_ids[n]
        items.append(item)
    return items


def outcome_for(device_index: int, day_index: int, item_index: int) -> str:
    return OUTCOME_CYCLE[(device_index * 3 + day_index * 2 + item_index) % len(OUTCOME_CYCLE)]


def build_world(container, clock) -> World:
    clock.current = REGISTERED
    for device_id, commune in DEVICES.items():
        register_device(container.uow(), clock, Actor(None),
                        DeviceSpec(id=device_id, name=f"Cụm loa {device_id}", area_code=commune))
    world = World(container, clock, DeliveryInbox(container.uow, on_acks=record_play))
    uow = container.uow()
    with uow:
        for title, topic, language, source, _minutes, _hour in PROGRAMMES:
            programme = uow.programmes.add(Programme(
                id=0, title=title, topic=topic, language=language, source=source, priority=Priority.NORMAL,
                area_code=HOAN_KIEM, created_by="test", created_at=REGISTERED, stream_url="http://127.0.0.1:9/vov1",
                stream_duration_ms=60_000))
            world.programme_ids.append(programme.id)
        for device in uow.devices.directory():
            world.items[device.id] = [i for day in DAYS for i in day_items(device.id, day, world.programme_ids)]
            stage_schedule(uow, clock, container.signer, device, world.items[device.id],
                           horizon_end=NOW + timedelta(days=7))
        uow.commit()
    # cn-0001 is online 06:00-12:00 on DAY (a quarter of the day), then silent; hk-0001 online from DAY 00:00 on.
    world.status("hk-0001", True, datetime.combine(DAY, time(0), TZ))
    world.status("cn-0001", True, datetime.combine(DAY, time(6), TZ))
    world.status("cn-0001", True, datetime.combine(DAY, time(9), TZ))  # no change: no presence row
    world.status("cn-0001", False, datetime.combine(DAY, time(12), TZ))
    clock.current = NOW
    acks = []
    for d, device_id in enumerate(DEVICES):
        for k, item in enumerate(world.items[device_id]):
            if protocol.parse_time(item["end"]) > NOW:
                continue
            acks.append(world.ack(device_id, item, outcome_for(d, k // len(PROGRAMMES), k % len(PROGRAMMES))))
    world.inbox.handle(acks)
    return world


@pytest.fixture
def world(container, clock) -> World:
    return build_world(container, clock)
