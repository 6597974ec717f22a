"""One simulated loudspeaker controller speaking protocol v1 like a foreign device.

Runs on the fleet's asyncio loop; its paho client has no thread of its own:
paho's socket callbacks register the socket with the loop (the external-loop
pattern aiomqtt uses). Playback is a small state machine re-evaluated at each
event (schedule change, command, download done, timer), so a device costs one
timer, not a task.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import socket
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt

from broadcast import protocol as p
from device_sim.health import HealthModel
from device_sim.media import MediaError
from device_sim.stream_player import StreamPlayer, StreamStats
from device_sim.tls import handshake
from mqtt_io.client_factory import make_client, takes_presock

# One line per thing a device does, for people watching a demo (`loaxa sim --log-events`); off by default, as
# ten thousand devices would drown it, and checked before any string is built.
events = logging.getLogger("device_sim.events")
STAGE_WORDS_VI = {"received": "đã nhận", "ready": "đã tải xong", "playing": "đang phát", "played": "đã phát xong",
                  "preempted": "bị ngắt bởi chương trình ưu tiên hơn", "missed": "lỡ giờ phát",
                  "failed": "thất bại", "rejected": "từ chối", "expired": "hết hạn trước khi phát"}

if TYPE_CHECKING:
    from device_sim.fleet import Fleet

FIRMWARE = "loaxa-sim-1.0"
CAPABILITIES = ("audio", "relay", "health", "power", "reboot")
EMERGENCY_RANK = p.priority_rank("emergency")
REBOOT_S = 3.0  # a controller's restart, before it connects again with its stored schedule
MAX_KEPT_ACKS = 500
# A subscription the broker refused (SUBACK 0x80) is asked for again after this (then doubling, up to the cap):
# a clustered broker can fail to set one up while a dead node's clients reconnect (docs/nats.md), and a device
# that kept the refusal would never hear its schedule or commands on that topic.
SUBSCRIBE_RETRY_S = 1.0
SUBSCRIBE_RETRY_MAX_S = 30.0


@dataclass(frozen=True)
class DeviceSpec:
    """How one simulated device is provisioned and which faults it has."""

    device_id: str
    password: str = ""
    zones: tuple[str, ...] = ()
    clock_skew_ms: int = 0
    start_offline: bool = False  # link down from the start (LWT-style offline)
    drop_ack_rate: float = 0.0  # probability that an ack is lost before sending
    fail_downloads: bool = False  # every media download fails
    tamper: bool = False  # publishes garbage and forged documents on connect


@dataclass
class Play:
    """What the loudspeaker is playing now."""

    kind: str  # "item" | "command"
    key: str  # item_id or cmd_id
    ref: dict[str, Any]
    rank: int
    started_at: float  # device-clock epoch seconds
    end: float
    stream: StreamPlayer | None = None  # section 9.3: a live stream, audible once its first audio is decoded


@dataclass
class PendingCommand:
    doc: dict[str, Any]
    seq: int
    rank: int
    deadline: float  # device clock: give up (missed) if not started by then
    ready: bool = False
    end_fixed: float | None = None
    duration_s: float = math.inf


@dataclass
class DeviceCounters:
    connects: int = 0
    disconnects: int = 0
    acks_dropped: int = 0
    subscriptions_refused: int = 0  # topics the broker refused in a SUBACK (each asked for again)
    status_published: int = 0
    tamper_published: int = 0
    stages: Counter[str] = field(default_factory=Counter)


class SimDevice:
    def __init__(self, fleet: Fleet, spec: DeviceSpec, rng: random.Random) -> None:
        self.fleet = fleet
        self.spec = spec
        self.id = spec.device_id
        self.rng = rng
        t = fleet.topics
        self.t_schedule, self.t_command = t.schedule(self.id), t.command(self.id)
        self.t_status, self.t_ack = t.status(self.id), t.ack(self.id)
        self._zone_head = f"{t.prefix}/zones/"
        self.skew_s = spec.clock_skew_ms / 1000.0

        # Link state.
        self.connected = False
        self.link_wanted = not spec.start_offline  # False while a fault keeps the link down
        self._connecting = False
        self._stopping = False
        self._client_used = False
        # Acks handed to paho but not yet PUBACKed, by mid (insertion = send order).
        self._inflight: dict[int, bytes] = {}
        self._backoff = 0.5
        self._reconnect_handle: asyncio.TimerHandle | None = None
        self._subscribing: dict[int, list[str]] = {}  # SUBSCRIBE mid -> its topics, until the SUBACK
        self._subscribe_backoff = SUBSCRIBE_RETRY_S
        self.client = self._make_client()

        # Protocol state.
        self.schedule: dict[str, Any] | None = None
        self.version: int | None = None
        self.received_versions: list[int] = []  # versions accepted (each newer than the one before)
        self.seen_versions: list[int] = []  # every verified version delivered, older or repeated ones too
        self.zones: set[str] = set(spec.zones)
        # Zones a command may target: those of the newest verified schedule only (protocol section 4).
        self.target_zones: frozenset[str] = frozenset()
        self._items: list[tuple[float, float, dict[str, Any]]] = []
        self.done: dict[str, str] = {}  # item_id -> final stage
        self._failed_items: dict[str, str] = {}
        self.volume = 80
        self.health = HealthModel(rng, booted_at=fleet.clock.now())  # section 9.1; faults: device_sim/faults.py
        self.current: Play | None = None
        self._pending: dict[str, PendingCommand] = {}
        self._cmd_seq = 0
        self.seen_cmds: set[str] = set()
        self.acted_cmds: list[str] = []
        self.played: list[tuple[str, str, float, float]] = []  # (kind, key, started, ended)
        self.acks: deque[dict[str, Any]] = deque(maxlen=MAX_KEPT_ACKS)
        self.outbox: deque[bytes] = deque()
        self.counters = DeviceCounters()
        self.stream_stats = StreamStats()  # streams that finished; `stream_totals` adds the one playing now
        self._timer: asyncio.TimerHandle | None = None
        self._status_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ clock

    def now(self) -> float:
        return self.fleet.clock.now(self.skew_s)

    _last_fmt: tuple[int, str] = (-1, "")  # shared by the fleet: most acks of a burst fall in one second

    def _fmt(self, epoch: float) -> str:
        second = int(epoch // 1)
        if SimDevice._last_fmt[0] != second:
            SimDevice._last_fmt = (second, p.epoch_to_rfc3339(second))
        return SimDevice._last_fmt[1]

    # ------------------------------------------------------------------ MQTT glue

    def _make_client(self) -> mqtt.Client:
        # A client that takes the socket connected on the fleet's loop; paho's plain client (a paho-mqtt
        # version the buffered hooks were not tested with, see mqtt_io.client_factory) connects by itself.
        c = make_client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.id,
                        protocol=mqtt.MQTTv311, clean_session=True, presock=True)
        if not takes_presock(c) and self.fleet.ssl_context is not None:
            c.tls_set_context(self.fleet.ssl_context)
        c.username_pw_set(self.id, self.spec.password or None)
        c.will_set(self.t_status, p.encode(p.offline_status(self.id)), qos=1, retain=True)
        c.max_inflight_messages_set(50)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_publish = self._on_publish
        c.on_subscribe = self._on_subscribe
        c.suppress_exceptions = False
        self._io = self.fleet.io.attach(c)
        return c

    def close_socket(self) -> None:
        """Close the link at once, without DISCONNECT (shutdown paths that cannot wait)."""
        sock = self.client.socket()
        if sock is not None:
            self._io.closed(sock=sock)
            sock.close()

    def loop_misc(self) -> None:
        if self.client.socket() is not None:
            self.client.loop_misc()

    def connect_now(self) -> None:
        """Start connecting (called by the fleet's paced connect pump)."""
        if self._stopping or not self.link_wanted or self.connected or self._connecting:
            return
        self._connecting = True
        self.fleet.connect_started()
        self._spawn(self._connect())

    async def _connect(self) -> None:
        broker = self.fleet.next_broker(self.id)  # several brokers: each new connect tries the next one
        if not takes_presock(self.client):
            self._connect_blocking(broker.host, broker.port)
            return
        # The TCP connect is done here, without blocking the loop; paho's own
        # connect is blocking (about 3 ms per socket on this kind of machine,
        # which alone would cap a 10k fleet at a few hundred connects a second).
        sock = socket.socket(broker.family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(self.fleet.loop.sock_connect(sock, broker.address), 10.0)
            if self.fleet.ssl_context is not None:
                sock = await asyncio.wait_for(
                    handshake(self.fleet.loop, sock, self.fleet.ssl_context, broker.host), 10.0)
        except (TimeoutError, OSError):  # ssl.SSLError (a certificate refused) is an OSError
            sock.close()
            self._connect_finished()
            self._schedule_reconnect()
            return
        if self._stopping or not self.link_wanted:
            sock.close()
            self._connect_finished()
            return
        try:
            # A fresh client per connection: paho would otherwise resend its
            # old in-flight messages after ours and break the ack order.
            if self._client_used:
                self.client = self._make_client()
            self._client_used = True
            self.client.presock = sock  # type: ignore[attr-defined]  # takes_presock(self.client)
            self.client.connect_async(broker.host, broker.port, keepalive=self.fleet.keepalive)
            self.client.reconnect()
        except OSError:
            sock.close()
            self._connect_finished()
            self._schedule_reconnect()

    def _connect_blocking(self, host: str, port: int) -> None:
        """paho's plain client: paho opens the socket (and TLS) itself, blocking the loop meanwhile."""
        try:
            if self._client_used:
                self.client = self._make_client()
            self._client_used = True
            self.client.connect_async(host, port, keepalive=self.fleet.keepalive)
            self.client.reconnect()
        except OSError:  # refused, unreachable, or a certificate refused (ssl.SSLError)
            self._connect_finished()
            self._schedule_reconnect()

    def _connect_finished(self) -> None:
        if self._connecting:
            self._connecting = False
            self.fleet.connect_finished()

    def _schedule_reconnect(self, delay: float | None = None) -> None:
        if self._stopping or not self.link_wanted or self._reconnect_handle is not None:
            return
        if delay is None:
            delay = self._backoff * (0.5 + self.rng.random())
            self._backoff = min(max(self._backoff * 2, 0.5), self.fleet.max_backoff_s)

        def fire() -> None:
            self._reconnect_handle = None
            self.fleet.request_connect(self)

        self._reconnect_handle = self.fleet.loop.call_later(delay, fire)

    def _on_connect(self, client: mqtt.Client, _u: Any, _flags: Any, reason_code: Any, _props: Any) -> None:
        self._connect_finished()
        if reason_code.is_failure:
            self.fleet.auth_failures += 1
            return  # the broker closes the socket; _on_disconnect schedules the retry
        self.connected = True
        self._backoff = 0.5
        self.counters.connects += 1
        events.info("%s đã kết nối tới broker", self.id)
        self._subscribing.clear()
        self._subscribe([(t, 1) for t in self._wanted_topics()])
        self.publish_status()
        # Acks kept while the link was down go out in the order they were made.
        while self.outbox:
            self._publish_ack(self.outbox.popleft())
        if self.spec.tamper:
            self._tamper()

    def _wanted_topics(self) -> list[str]:
        return [self.t_schedule, self.t_command, *(self.fleet.topics.zone_command(z) for z in sorted(self.zones))]

    def _subscribe(self, subs: list[tuple[str, int]]) -> None:
        result, mid = self.client.subscribe(subs)
        if result == mqtt.MQTT_ERR_SUCCESS and mid is not None:
            self._subscribing[mid] = [t for t, _ in subs]

    def _on_subscribe(self, client: mqtt.Client, _u: Any, mid: int, reason_codes: Any, _props: Any) -> None:
        topics = self._subscribing.pop(mid, None) if client is self.client else None
        if topics is None:
            return
        refused = [t for t, rc in zip(topics, reason_codes, strict=False) if rc.is_failure]
        if not refused:
            self._subscribe_backoff = SUBSCRIBE_RETRY_S
            return
        self.counters.subscriptions_refused += len(refused)
        events.info("%s bị từ chối đăng ký %s, sẽ đăng ký lại", self.id, ", ".join(refused))
        delay, self._subscribe_backoff = self._subscribe_backoff, min(self._subscribe_backoff * 2,
                                                                      SUBSCRIBE_RETRY_MAX_S)

        def again() -> None:
            if client is self.client and self.connected:  # a new connection subscribes to everything anyway
                wanted = self._wanted_topics()
                retry = [(t, 1) for t in refused if t in wanted]
                if retry:
                    self._subscribe(retry)

        self.fleet.loop.call_later(delay * (0.5 + self.rng.random()), again)

    def _on_publish(self, client: mqtt.Client, _u: Any, mid: int, _rc: Any, _props: Any) -> None:
        if client is self.client:
            self._inflight.pop(mid, None)

    def _on_disconnect(self, client: mqtt.Client, _u: Any, _flags: Any, _rc: Any, _props: Any) -> None:
        if client is not self.client:
            return
        self._connect_finished()
        was = self.connected
        self.connected = False
        if was:
            self.counters.disconnects += 1
            events.info("%s mất kết nối, sẽ thử lại", self.id)
        if self._inflight:
            # Unconfirmed acks go back to the front of the outbox, in order.
            self.outbox.extendleft(reversed(list(self._inflight.values())))
            self._inflight.clear()
        if not self._stopping:
            self._schedule_reconnect()

    def _publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain)

    def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Publish anything anywhere (fault injection for ACL tests)."""
        if not self.connected:
            return False
        self._publish(topic, payload, retain=retain)
        return True

    # ------------------------------------------------------------------ link faults

    def drop_link(self) -> None:
        """Lose the TCP link without DISCONNECT, so the broker sends the LWT."""
        sock = self.client.socket()
        if sock is not None:
            try:
                # paho types the socket as its SocketLike protocol, which has no shutdown; what it holds here is a
                # socket, an SSL socket or mqtt_io's BufferedSocket (which forwards shutdown to its socket).
                sock.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]
            except OSError:
                pass

    def go_offline(self) -> None:
        self.link_wanted = False
        if self._reconnect_handle is not None:
            self._reconnect_handle.cancel()
            self._reconnect_handle = None
        self.drop_link()

    def go_online(self, delay: float = 0.0) -> None:
        self.link_wanted = True
        self._backoff = 0.5
        if not self.connected:
            self._schedule_reconnect(delay)

    def start(self) -> None:
        self._arm_status_timer(initial=True)
        if self.link_wanted:
            self.fleet.request_connect(self)

    def stop(self) -> None:
        """Clean shutdown: offline status (the LWT is not sent on DISCONNECT)."""
        self._stopping = True
        if self.current is not None and self.current.stream is not None:
            self.current.stream.close()
        for h in (self._timer, self._status_timer, self._reconnect_handle):
            if h is not None:
                h.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self.connected:
            self._publish(self.t_status, p.encode(p.offline_status(self.id)), retain=True)
            self.client.disconnect()
        else:
            self.close_socket()

    @property
    def closed(self) -> bool:
        return self.client.socket() is None

    # ------------------------------------------------------------------ status

    def _playing_doc(self) -> p.Playing | None:
        cur = self.current
        if cur is None or (cur.stream is not None and not cur.stream.audible):
            return None  # a stream still connecting is not sounding yet
        if cur.kind == "item":
            return {"item_id": cur.key, "since": self._fmt(cur.started_at)}
        return {"item_id": None, "cmd_id": cur.key, "since": self._fmt(cur.started_at)}

    def publish_status(self) -> None:
        if not self.connected:
            return
        now = self.now()
        doc = p.build_status(
            self.id, at=self._fmt(now), schedule_version=self.version, volume=self.volume,
            playing=self._playing_doc(), firmware=FIRMWARE, clock_offset_ms=self.spec.clock_skew_ms,
            storage_free_bytes=8 * 1024**3, capabilities=CAPABILITIES, health=self.health.reading(now),
        )
        self._publish(self.t_status, p.encode(doc), retain=True)
        self.counters.status_published += 1

    def _status_interval_s(self) -> float:
        return float(self.schedule["status_interval_s"]) if self.schedule else 60.0

    def _arm_status_timer(self, initial: bool = False) -> None:
        interval = self.fleet.clock.real_delay(self._status_interval_s())
        # Spread the first heartbeats so 10k devices do not beat in step.
        delay = interval * self.rng.random() if initial else interval
        self._status_timer = self.fleet.loop.call_later(delay, self._status_tick)

    def _status_tick(self) -> None:
        if self._stopping:
            return
        self.publish_status()
        self._arm_status_timer()

    # ------------------------------------------------------------------ acks

    def _ack(self, ref: dict[str, Any], stage: p.AckStage, *, item_id: str | None = None,
             reason: str | None = None, started_at: float | None = None, ended_at: float | None = None) -> None:
        doc = p.build_ack(
            self.id, ref, stage, at=self._fmt(self.now()), item_id=item_id, reason=reason,
            started_at=self._fmt(started_at) if started_at is not None else None,
            ended_at=self._fmt(ended_at) if ended_at is not None else None,
        )
        self.acks.append(doc)  # type: ignore[arg-type]
        if events.isEnabledFor(logging.INFO):
            ((kind, ref_id),) = ref.items()
            what = f"lịch phát phiên bản {ref_id}" if kind == "schedule" else f"lệnh {ref_id}"
            events.info("%s %s: %s%s%s", self.id, STAGE_WORDS_VI.get(stage, stage), what,
                        f", mục {item_id}" if item_id else "", f" ({reason})" if reason else "")
        self.counters.stages[stage] += 1
        self.fleet.stages[stage] += 1
        if self.spec.drop_ack_rate and self.rng.random() < self.spec.drop_ack_rate:
            self.counters.acks_dropped += 1
            return
        payload = p.encode(doc)
        if self.connected:
            self._publish_ack(payload)
        else:
            self.outbox.append(payload)

    def _publish_ack(self, payload: bytes) -> None:
        info = self.client.publish(self.t_ack, payload, qos=1)
        self._inflight[info.mid] = payload

    # ------------------------------------------------------------------ incoming

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        topic, payload = msg.topic, bytes(msg.payload)
        if not payload:
            return  # a cleared retained message
        if topic == self.t_schedule:
            self._on_schedule(payload)
        elif topic == self.t_command or (topic.startswith(self._zone_head) and topic.endswith("/command")):
            self._on_command(payload)

    @staticmethod
    def _raw_field(payload: bytes, name: str) -> Any:
        try:
            obj = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return None
        return obj.get(name) if isinstance(obj, dict) else None

    def _on_schedule(self, payload: bytes) -> None:
        try:
            doc = p.parse_signed_schedule(payload, self.fleet.public_key, self.id)
        except p.ProtocolError as err:
            raw_v = self._raw_field(payload, "version")
            version = raw_v if type(raw_v) is int and raw_v >= 0 else 0
            self._ack(p.schedule_ref(version), "rejected", reason=err.code)
            return
        version = doc["version"]
        self.seen_versions.append(version)
        if self.version is not None and version <= self.version:
            self._ack(p.schedule_ref(version), "received")  # acks are idempotent
            return
        self._accept_schedule(dict(doc))

    def _accept_schedule(self, doc: dict[str, Any]) -> None:
        version = doc["version"]
        self.schedule, self.version = doc, version
        self.received_versions.append(version)
        self._ack(p.schedule_ref(version), "received")
        self._items = sorted(
            ((p.parse_time(i["start"]).timestamp(), p.parse_time(i["end"]).timestamp(), i) for i in doc["items"]),
            key=lambda x: x[0],
        )
        # Items missing from the newer version are cancelled.
        if self.current is not None and self.current.kind == "item":
            if all(i["item_id"] != self.current.key for _, _, i in self._items):
                self._end_current("preempted", self.now(), reason="cancelled")
        self._update_zones(set(doc["zones"]))
        self.target_zones = frozenset(doc["zones"])
        self.publish_status()
        self._prepare_schedule(version)
        self._tick()

    def _update_zones(self, zones: set[str]) -> None:
        old, self.zones = self.zones, zones
        if not self.connected:
            return
        gone = [self.fleet.topics.zone_command(z) for z in sorted(old - zones)]
        new = [(self.fleet.topics.zone_command(z), 1) for z in sorted(zones - old)]
        if gone:
            self.client.unsubscribe(gone)
        if new:
            self._subscribe(new)

    def _on_command(self, payload: bytes) -> None:
        try:
            doc = self.fleet.parse_command(payload)
        except p.ProtocolError as err:
            raw = self._raw_field(payload, "cmd_id")
            cmd_id = raw if isinstance(raw, str) and p.CMD_ID_RE.match(raw) else "invalid"
            self._ack(p.command_ref(cmd_id), "rejected", reason=err.code)
            return
        cmd_id = doc["cmd_id"]
        ref = p.command_ref(cmd_id)
        if not p.addressed_to(doc, self.id, self.target_zones):
            # Captured and republished on a topic it was not sent to: never act, and never mark it seen, so
            # the same cmd_id sent here for real still plays.
            self._ack(ref, "rejected", reason="not_target")
            return
        if cmd_id in self.seen_cmds:
            self._ack(ref, "received")  # QoS 1 duplicate: answer again, act never again
            return
        self.seen_cmds.add(cmd_id)
        now = self.now()
        if now >= p.parse_time(doc["expires_at"]).timestamp():
            self._ack(ref, "expired")
            return
        self._ack(ref, "received")
        self.acted_cmds.append(cmd_id)
        action = doc["action"]
        if action == "play_now":
            self._queue_play_now(dict(doc), now)
        elif action == "stop":
            self._stop(doc.get("ref_cmd_id"), now)
        elif action == "set_volume":
            self.volume = doc["volume"]
            self.publish_status()
        elif action in ("set_power", "reboot"):
            self._control(doc, ref, now)
        elif action == "resync":
            if self.connected:
                # Subscribing again makes the broker resend the retained schedule.
                self._subscribe([(self.t_schedule, 1)])
            self.publish_status()

    def _control(self, doc: p.Command, ref: dict[str, Any], now: float) -> None:
        """Section 9.2: switch the amplifier relay, or restart the controller; `played` when done."""
        if doc["action"] == "set_power":
            self.set_power(doc["power"], now)
            self._ack(ref, "played", started_at=now, ended_at=now)
            return
        self._ack(ref, "played", started_at=now, ended_at=now)  # before the link goes: a reboot is done by then
        if self.current is not None:
            self._end_current("preempted", now, reason="reboot")
        self.health.booted_at = now
        self.go_offline()  # the link drops without DISCONNECT (the broker sends the last will)
        self.fleet.loop.call_later(self.fleet.clock.real_delay(REBOOT_S), self.go_online)

    def set_power(self, power: str, now: float) -> None:
        """While off, scheduled items are missed (reason power_off); only an emergency play_now switches it on."""
        if power == self.health.power:
            return
        self.health.power = power
        if power == "off" and self.current is not None and self.current.rank < EMERGENCY_RANK:
            self._end_current("preempted", now, reason="power_off")
        self.publish_status()
        self._tick()

    def _power_off_misses(self, now: float) -> None:
        """What falls due while the relay is off is missed, except an emergency, which switches it on."""
        ref = p.schedule_ref(self.version) if self.version is not None else None
        for st, en, item in self._items:
            iid = item["item_id"]
            if st <= now < en and iid not in self.done and ref is not None:
                self.done[iid] = "missed"
                self._ack(ref, "missed", item_id=iid, reason="power_off")
        for cmd_id, pc in list(self._pending.items()):
            if pc.rank >= EMERGENCY_RANK:
                self.health.power = "on"
                self.publish_status()
                return
            del self._pending[cmd_id]
            self._ack(p.command_ref(cmd_id), "missed", reason="power_off")

    def _queue_play_now(self, doc: dict[str, Any], now: float) -> None:
        self._cmd_seq += 1
        end_fixed = p.parse_time(doc["end"]).timestamp() if "end" in doc else None
        duration = (sum(m["duration_ms"] for m in doc["media"]) / 1000.0) if "media" in doc else math.inf
        deadline = end_fixed if end_fixed is not None else p.parse_time(doc["expires_at"]).timestamp()
        pc = PendingCommand(doc, self._cmd_seq, p.priority_rank(doc["priority"]), deadline,
                            end_fixed=end_fixed, duration_s=duration)
        self._pending[doc["cmd_id"]] = pc
        self._prepare_command(pc)

    def _stop(self, ref_cmd_id: str | None, now: float) -> None:
        if ref_cmd_id is not None:
            self._pending.pop(ref_cmd_id, None)
            if self.current is not None and self.current.kind == "command" and self.current.key == ref_cmd_id:
                self._end_stopped(now)
        else:
            self._pending.clear()
            if self.current is not None:
                self._end_stopped(now)
        self._tick()

    def _end_stopped(self, now: float) -> None:
        # Section 9.3: a sounding stream answers `stop` with `played`; anything else is cut short (`preempted`).
        if self.current is not None and self.current.stream is not None and self.current.stream.audible:
            self._end_current("played", now)
        else:
            self._end_current("preempted", now, reason="stopped")

    # ------------------------------------------------------------------ media

    def _spawn(self, coro: Any) -> None:
        task = self.fleet.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch_all(self, media: list[dict[str, Any]]) -> str | None:
        """None when every file is stored and verified, else the failure reason."""
        if self.spec.fail_downloads:
            return "download_failed"
        for m in media:
            if self.fleet.cache.has(m["sha256"]):
                continue  # no await: the common case at fleet scale
            try:
                await self.fleet.cache.fetch(m["sha256"], m["url"])
            except MediaError as err:
                return err.reason
        return None

    async def _fetch_distinct(self, urls: dict[str, str]) -> dict[str, str | None]:
        """Each distinct file once (a timeline repeats the same bulletin), concurrently: sha256 -> failure."""
        missing = [(sha, url) for sha, url in urls.items() if not self.fleet.cache.has(sha)]
        failures: dict[str, str | None] = dict.fromkeys(urls)
        if self.spec.fail_downloads:
            return dict.fromkeys(urls, "download_failed")
        if missing:
            reasons = await asyncio.gather(*(self._fetch_all([{"sha256": sha, "url": url}]) for sha, url in missing))
            failures.update(zip((sha for sha, _ in missing), reasons, strict=True))
        return failures

    def _all_cached(self, sha256s: Iterable[str]) -> bool:
        return not self.spec.fail_downloads and all(self.fleet.cache.has(sha) for sha in sha256s)

    # Preparing a document finishes at once when every file is already in the cache (the common case at fleet
    # scale): a task per device would cost a 10k fleet more than the check itself.

    def _prepare_schedule(self, version: int) -> None:
        now = self.now()
        wanted = [(i, en) for st, en, i in self._items
                  if "media" in i and en > now and i["item_id"] not in self.done]
        urls = {m["sha256"]: m["url"] for i, _ in wanted for m in i["media"]}
        if self._all_cached(urls):
            self._schedule_prepared(version, wanted, dict.fromkeys(urls))
        else:
            self._spawn(self._fetch_schedule_media(version, wanted, urls))

    async def _fetch_schedule_media(self, version: int, wanted: list[tuple[dict[str, Any], float]],
                                    urls: dict[str, str]) -> None:
        self._schedule_prepared(version, wanted, await self._fetch_distinct(urls))
        self._tick()

    def _schedule_prepared(self, version: int, wanted: list[tuple[dict[str, Any], float]],
                           failures: dict[str, str | None]) -> None:
        # An item fails with its first file that failed, as if its files were fetched in order.
        results = [next((failures[m["sha256"]] for m in i["media"] if failures[m["sha256"]]), None) for i, _ in wanted]
        if version != self.version:
            return  # superseded: the newer version acks for itself
        failed = False
        for (item, _), reason in zip(wanted, results, strict=True):
            if reason is not None:
                failed = True
                iid = item["item_id"]
                self._failed_items[iid] = reason
                if iid not in self.done:
                    self.done[iid] = "failed"
                    self._ack(p.schedule_ref(version), "failed", item_id=iid, reason=reason)
        if not failed:
            self._ack(p.schedule_ref(version), "ready")

    def _prepare_command(self, pc: PendingCommand) -> None:
        media = pc.doc.get("media")
        if media is None or self._all_cached(m["sha256"] for m in media):
            self._command_prepared(pc, None)
        else:
            self._spawn(self._fetch_command_media(pc))

    async def _fetch_command_media(self, pc: PendingCommand) -> None:
        self._command_prepared(pc, await self._fetch_all(pc.doc["media"]))

    def _command_prepared(self, pc: PendingCommand, reason: str | None) -> None:
        cmd_id = pc.doc["cmd_id"]
        if cmd_id not in self._pending:
            return  # stopped meanwhile
        if reason is not None:
            self._pending.pop(cmd_id, None)
            self._ack(p.command_ref(cmd_id), "failed", reason=reason)
            return
        pc.ready = True
        self._ack(p.command_ref(cmd_id), "ready")
        self._tick()

    def _item_ready(self, item: dict[str, Any]) -> bool:
        if "media" not in item:
            return True
        if self.spec.fail_downloads or item["item_id"] in self._failed_items:
            return False
        return all(self.fleet.cache.has(m["sha256"]) for m in item["media"])

    # ------------------------------------------------------------------ playback

    def _end_current(self, stage: p.AckStage, at: float, reason: str | None = None) -> None:
        cur = self.current
        assert cur is not None
        self.current = None
        ended = min(at, cur.end)
        if cur.stream is not None:
            cur.stream.close()
            self.stream_stats.add(cur.stream.stats)
            if not cur.stream.audible and stage == "played":  # its end came before any audio did
                stage, reason = "failed", "stream_unreachable"
        item_id = cur.key if cur.kind == "item" else None
        if cur.kind == "item":
            self.done[cur.key] = stage
        else:
            self._pending.pop(cur.key, None)
        if cur.stream is not None and not cur.stream.audible:  # it never sounded: no start or end to report
            self._ack(cur.ref, stage, item_id=item_id, reason=reason)
            self.publish_status()
            return
        self.played.append((cur.kind, cur.key, cur.started_at, ended))
        self._ack(cur.ref, stage, item_id=item_id, reason=reason, started_at=cur.started_at, ended_at=ended)
        self.publish_status()

    def _start(self, kind: str, key: str, ref: dict[str, Any], rank: int, now: float, end: float) -> None:
        self.current = play = Play(kind, key, ref, rank, now, end)
        url = self._stream_url(kind, key) if self.fleet.stream_options.listen else None
        if url is not None:
            # Section 9.3: `playing` waits for the first decoded audio (_stream_audio).
            play.stream = StreamPlayer(url, self.fleet.stream_options, capture_name=f"{self.id}-{key}",
                                       on_audio=lambda: self._stream_audio(play),
                                       on_end=lambda outcome: self._stream_end(play, outcome))
            play.stream.start()
            return
        self._ack(ref, "playing", item_id=key if kind == "item" else None, started_at=now)
        self.publish_status()

    # ------------------------------------------------------------------ streams (section 9.3)

    def _stream_url(self, kind: str, key: str) -> str | None:
        if kind == "command":
            pc = self._pending.get(key)
            return pc.doc.get("stream_url") if pc is not None else None
        return next((i.get("stream_url") for _, _, i in self._items if i["item_id"] == key), None)

    def _stream_audio(self, play: Play) -> None:
        if self.current is not play or self._stopping:
            return
        play.started_at = self.now()
        self._ack(play.ref, "playing", item_id=play.key if play.kind == "item" else None, started_at=play.started_at)
        self.publish_status()

    def _stream_end(self, play: Play, outcome: str) -> None:
        """The stream ended by itself ("ended": played) or failed (the outcome is the spec's reason)."""
        if self.current is not play or self._stopping:
            return
        if outcome == "ended":
            self._end_current("played", self.now())
        else:
            self._end_current("failed", self.now(), reason=outcome)
        self._tick()

    def stream_totals(self) -> StreamStats:
        """What this device received from streams, the one playing now included."""
        total = StreamStats()
        total.add(self.stream_stats)
        if self.current is not None and self.current.stream is not None:
            total.add(self.current.stream.stats)
        return total

    def _tick(self) -> None:
        """Re-evaluate what should sound now, then sleep until the next change."""
        if self._stopping:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self.now()
        if self.current is not None and now >= self.current.end:
            self._end_current("played", self.current.end)
        if self.health.power == "off":
            self._power_off_misses(now)

        ref = p.schedule_ref(self.version) if self.version is not None else None
        due: tuple[float, dict[str, Any]] | None = None
        wake = math.inf
        for st, en, item in self._items:
            iid = item["item_id"]
            if iid in self.done or (self.current is not None and self.current.key == iid):
                if self.current is not None and self.current.key == iid:
                    wake = min(wake, self.current.end)
                continue
            if en <= now:
                self.done[iid] = "missed"
                assert ref is not None
                self._ack(ref, "missed", item_id=iid)
            elif st <= now:
                if due is None and self._item_ready(item):
                    due = (en, item)
                wake = min(wake, en)  # if it never gets to play, it is missed at its end
            else:
                wake = min(wake, st)
                break  # sorted and non-overlapping: later items wait their turn

        for cmd_id, pc in list(self._pending.items()):
            if self.current is not None and self.current.key == cmd_id:
                continue
            if now >= pc.deadline:
                del self._pending[cmd_id]
                self._ack(p.command_ref(cmd_id), "missed")
            else:
                wake = min(wake, pc.deadline)

        # Pick the winner: higher class first; a command beats an item of its
        # class, and a newer command beats an older one (play_now pre-empts >=).
        best_key: tuple[int, int, int] | None = None
        best: tuple[str, str, dict[str, Any], int, float] | None = None
        if self.current is not None:
            c = self.current
            seq = self._pending[c.key].seq if c.kind == "command" and c.key in self._pending else 0
            best_key = (c.rank, 1 if c.kind == "command" else 0, seq)
        if due is not None:
            en, item = due
            key = (p.priority_rank(item["priority"]), 0, 0)
            if best_key is None or key > best_key:
                assert ref is not None
                best_key, best = key, ("item", item["item_id"], ref, key[0], en)
        for cmd_id, pc in self._pending.items():
            if not pc.ready or (self.current is not None and self.current.key == cmd_id):
                continue
            key = (pc.rank, 1, pc.seq)
            if best_key is None or key > best_key:
                end = pc.end_fixed if pc.end_fixed is not None else now + pc.duration_s
                best_key, best = key, ("command", cmd_id, p.command_ref(cmd_id), pc.rank, end)

        if best is not None:
            if self.current is not None:
                self._end_current("preempted", now, reason="preempted")
            kind, key_id, bref, rank, end = best
            self._start(kind, key_id, bref, rank, now, end)
        if self.current is not None:
            wake = min(wake, self.current.end)
        if wake != math.inf:
            delay = self.fleet.clock.real_delay(wake - now) + 0.001
            self._timer = self.fleet.loop.call_later(delay, self._tick)

    # ------------------------------------------------------------------ faults

    def _tamper(self) -> None:
        """Garbage and forgeries; the broker ACL or the server must drop them."""
        victim = self.fleet.tamper_victim(self)
        forged = p.build_ack(victim, p.schedule_ref(1), "played", at=self._fmt(self.now()), item_id="forged",
                             started_at=self._fmt(self.now()), ended_at=self._fmt(self.now()))
        shots: list[tuple[str, bytes, bool]] = [
            (self.t_ack, b"\xff\xfe not json", False),
            (self.t_ack, p.encode(forged), False),  # claims to be another device
            (self.fleet.topics.ack(victim), p.encode(forged), False),  # ACL: not our topic
            (self.fleet.topics.status(victim), p.encode(p.offline_status(victim)), True),
            (self.t_schedule, b'{"type":"schedule"}', True),  # ACL: devices cannot write schedules
        ]
        for topic, payload, retain in shots:
            self._publish(topic, payload, retain=retain)
            self.counters.tamper_published += 1
