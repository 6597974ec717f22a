"""The server's MQTT gateway: with its socket (buffered_socket), the only server code that uses paho.

Inbound: paho's network thread runs `on_message`, which only classifies
(size, topic, schema), counts, and puts valid messages on a bounded queue; it
never blocks and never raises. A worker thread drains the queue in batches
and calls `DeviceInbox.handle(batch)`.

A device message is acknowledged to the broker (PUBACK) only once the batch
holding it is committed (paho's manual_ack): a device forgets an ack as soon
as the broker has it, so a PUBACK sent on arrival would let a kill -9 of the
server lose every message still in the queue or in an uncommitted batch. With
the persistent session the broker sends those again to the next process under
the same client id. Messages dropped here are acknowledged at once. A clean
session (an API node's InboxNode) gains nothing: mosquitto discards what a
clean session left unacknowledged (docs/fanout.md).

Outbound: `publish()` encodes with protocol.encode and sends QoS 1. The client
keeps a persistent session (clean_session False, stable client id
`loaxa-server-<name>`), so the broker queues QoS 1 device messages while the
server is away, and paho keeps QoS 1 publishes made while disconnected in its
own queue (up to `max_queued_publishes`) and sends them after reconnecting.
Past that bound a publish is refused: the result says `queued=False` and
`wait()` returns False at once — never a silent loss.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import paho.mqtt.client as mqtt

from broadcast.devices.ports import DeviceInbox, DropReason, InboundMessage
from broadcast.protocol import (
    DEFAULT_PREFIX,
    MAX_PAYLOAD_BYTES,
    ProtocolError,
    Topics,
    encode,
    parse_ack,
    parse_device_topic,
    parse_status,
)
from mqtt_io.buffered_socket import set_no_delay
from mqtt_io.client_factory import make_client
from mqtt_io.failover import BrokerRotation, rotate_on_reconnect

if TYPE_CHECKING:
    from broadcast.adapters.metrics import Metrics
    from broadcast.settings import Settings

__all__ = [
    "BatchWorker", "DeviceInbox", "DropReason", "InboundMessage", "LogThrottle", "MqttGateway",
    "MAX_BATCH", "PublishResult", "Received", "classify", "explain",
]

log = logging.getLogger(__name__)
SUBSCRIBE_RETRY_FIRST_S, SUBSCRIBE_RETRY_MAX_S = 1.0, 30.0

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}\Z")
_MALFORMED_CODES = frozenset({"not_utf8", "not_json", "not_object"})
INBOX_RETRY_FOR_S = 30.0  # how long a failing batch is retried: a database restart or failover, not a bug
INBOX_MAX_RETRY_DELAY_S = 5.0
# Most messages one inbox transaction takes. Under a fleet's burst the queue is never empty, so every batch is
# full; per message, a batch of 2,000 costs about a fifth less inbox and PostgreSQL CPU than one of 500
# (bench_inbox.py, docs/fanout.md). When the queue runs dry a batch ends after max_wait_s anyway, so a quiet
# fleet's latency is unchanged.
MAX_BATCH = 2000


# --------------------------------------------------------------------------
# Inbound filter (pure)
# --------------------------------------------------------------------------

def classify(prefix: str, topic: str, payload: bytes | bytearray, *,
             received_at: datetime | None = None) -> InboundMessage | DropReason:
    """Decide what to do with one inbound message: pass it on, or drop it and why.

    Cheapest checks first, since garbage may arrive by the thousand.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        return DropReason.OVERSIZED
    try:
        device_id, kind = parse_device_topic(prefix, topic)
    except ProtocolError:
        return DropReason.UNKNOWN_TOPIC
    if kind != "status" and kind != "ack":
        return DropReason.UNKNOWN_TOPIC
    if not payload:
        return DropReason.EMPTY
    try:
        value = parse_status(payload, device_id) if kind == "status" else parse_ack(payload, device_id)
    except ProtocolError as exc:
        if exc.code in _MALFORMED_CODES:
            return DropReason.MALFORMED
        if exc.code == "device_mismatch":
            return DropReason.DEVICE_MISMATCH
        return DropReason.BAD_SCHEMA
    return InboundMessage(device_id, kind, value, received_at or datetime.now(UTC))


def explain(prefix: str, topic: str, payload: bytes | bytearray) -> str:
    """The Vietnamese detail behind a drop, for the (rare) log line; re-parses on purpose."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return f"tin nhắn dài {len(payload)} byte, vượt giới hạn {MAX_PAYLOAD_BYTES} byte"
    try:
        device_id, kind = parse_device_topic(prefix, topic)
        if kind not in ("status", "ack"):
            return f"máy chủ không nhận loại chủ đề {kind!r}"
        if not payload:
            return "tin nhắn rỗng (xóa trạng thái được giữ lại)"
        (parse_status if kind == "status" else parse_ack)(payload, device_id)
    except ProtocolError as exc:
        return exc.detail
    return "hợp lệ"


class LogThrottle:
    """At most one log line per key per interval, reporting how many were held back."""

    def __init__(self, interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str) -> int | None:
        """None: stay quiet. An int: log now; it is the number suppressed since the last line."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            self._last[key] = now
            return self._held.pop(key, 0)


# --------------------------------------------------------------------------
# Worker: queue -> batches -> inbox
# --------------------------------------------------------------------------

class Received(NamedTuple):
    """A queued device message and what acknowledges it to the broker once it is stored."""

    message: InboundMessage
    receipt: tuple[int, int] | None = None  # (connection number, packet id); None: QoS 0, nothing to acknowledge


class BatchWorker:
    """Drains the inbound queue in batches, hands them to the inbox, then settles them (`settle`: the broker's
    acknowledgements), whether the inbox stored the batch or it was finally dropped."""

    def __init__(self, q: queue.Queue[Received], inbox: DeviceInbox, metrics: Metrics, *,
                 max_batch: int = MAX_BATCH, max_wait_s: float = 0.05, retry_delay_s: float = 0.2,
                 retry_for_s: float = INBOX_RETRY_FOR_S, throttle: LogThrottle | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 settle: Callable[[list[Received]], None] | None = None) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._q = q
        self._inbox = inbox
        self._metrics = metrics
        self._max_batch = max_batch
        self._max_wait = max_wait_s
        self._retry_delay = retry_delay_s
        self._retry_for = retry_for_s
        self._clock = clock
        self._throttle = throttle or LogThrottle()
        self._settle = settle
        self.stopping = threading.Event()

    def next_batch(self, block_s: float) -> list[Received]:
        """Up to max_batch messages: wait `block_s` for the first, then up to max_wait for more."""
        try:
            batch = [self._q.get(timeout=block_s) if block_s > 0 else self._q.get_nowait()]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self._max_wait
        while len(batch) < self._max_batch:
            try:
                batch.append(self._q.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._q.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def deliver(self, batch: list[InboundMessage]) -> bool:
        """Give the batch to the inbox. On failure retry, pausing longer each time (up to INBOX_MAX_RETRY_DELAY_S),
        until `retry_for_s` have passed since the first failure, and at least once: a database restarting or
        failing over takes seconds, and the acks of a batch are proof of play that no device sends again (the
        gateway has confirmed them to the broker). Then drop the batch (counted). While stopping, one retry only."""
        first_failure: float | None = None
        delay = self._retry_delay
        attempt = 0
        while True:
            attempt += 1
            try:
                self._inbox.handle(list(batch))  # a copy: the inbox may not alter our retry
            except Exception:
                now = self._clock()
                first_failure = now if first_failure is None else first_failure
                give_up = attempt >= 2 and (now - first_failure >= self._retry_for or self.stopping.is_set())
                outcome = "dropped" if give_up else "retried"
                self._metrics.device_inbox_errors.labels(outcome=outcome).inc()
                held = self._throttle.allow(f"inbox_{outcome}")
                if held is not None:
                    log.exception("Hộp thư thiết bị lỗi khi xử lý lô %d tin (lần %d, %s); %d lỗi tương tự "
                                  "không ghi lại", len(batch), attempt, "bỏ lô" if give_up else "thử lại", held)
                if give_up:
                    break
                if delay > 0:
                    self.stopping.wait(delay)
                delay = min(delay * 2, INBOX_MAX_RETRY_DELAY_S)
                continue
            self._metrics.device_inbox_batches.inc()
            return True
        self._metrics.device_messages_dropped.labels(reason=DropReason.INBOX_FAILED.value).inc(len(batch))
        return False

    def run(self) -> None:
        """Thread body: until stopping is set and the queue is empty."""
        while True:
            batch = self.next_batch(block_s=0 if self.stopping.is_set() else 0.1)
            if batch:
                self.deliver([r.message for r in batch])
                if self._settle is not None:
                    self._settle(batch)
                self._metrics.device_inbox_queue_depth.set(self._q.qsize())
            elif self.stopping.is_set():
                return


# --------------------------------------------------------------------------
# Publish results
# --------------------------------------------------------------------------

class Settled(threading.Event):
    """Set once a publish is settled: `acked` by the broker's PUBACK, or not when its connection was lost first."""

    acked = True


class PublishResult:
    """Handle on one QoS 1 publish: `wait(timeout)` is True once the broker's PUBACK came, False at once when the
    connection it was sent on died first (AckTracker.abandon)."""

    def __init__(self, mid: int, topic: str, queued: bool, done: threading.Event) -> None:
        self.mid = mid
        self.topic = topic
        self.queued = queued  # False: refused by paho (its queue was full); it will never be sent
        self._done = done

    @property
    def published(self) -> bool:
        return self._done.is_set() and getattr(self._done, "acked", True)

    def wait(self, timeout: float | None = None) -> bool:
        if not self.queued:
            return False
        return self._done.wait(timeout) and getattr(self._done, "acked", True)

    def __repr__(self) -> str:
        return f"PublishResult(mid={self.mid}, topic={self.topic!r}, queued={self.queued}, published={self.published})"


class AckTracker:
    """Pairs PUBACKs (network thread) with publish calls (any thread).

    paho calls on_publish while holding its own message lock, so we must not
    hold our lock across client.publish(); a PUBACK can therefore arrive before
    its mid is registered, and is parked in `_early` until it is.

    When the connection dies, the publishes waiting for a PUBACK on it are abandoned: their waiters learn at once
    that the broker did not confirm them (a cluster node killed mid-rollout may never answer, and whether it stored
    them is unknown), so the outbox keeps them due instead of waiting out its timeout. paho still resends them
    after reconnecting (clean_session False); their late PUBACKs are then dropped, not taken for a new publish's.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, Settled] = {}
        self._early: set[int] = set()
        self._abandoned: set[int] = set()

    def register(self, mid: int) -> Settled:
        done = Settled()
        with self._lock:
            self._abandoned.discard(mid)  # paho reuses a mid only once its earlier message is gone
            if mid in self._early:
                self._early.discard(mid)
                done.set()
            else:
                self._waiting[mid] = done
        return done

    def acked(self, mid: int) -> None:
        with self._lock:
            done = self._waiting.pop(mid, None)
            if done is None:
                if mid in self._abandoned:
                    self._abandoned.discard(mid)
                else:
                    self._early.add(mid)
        if done is not None:
            done.set()

    def abandon(self) -> int:
        """Settle every waiting publish as not confirmed (its connection is gone); returns how many."""
        with self._lock:
            lost, self._waiting = self._waiting, {}
            self._abandoned.update(lost)
        for done in lost.values():
            done.acked = False
            done.set()
        return len(lost)

    def pending(self) -> int:
        with self._lock:
            return len(self._waiting)


# --------------------------------------------------------------------------
# The gateway
# --------------------------------------------------------------------------

class MqttGateway:
    """One persistent MQTT session for the server: device statuses/acks in, signed documents out."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        inbox: DeviceInbox,
        metrics: Metrics,
        prefix: str = DEFAULT_PREFIX,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        ca_file: str | None = None,
        name: str = "main",
        keepalive_s: int = 30,
        queue_size: int = 100_000,
        max_batch: int = MAX_BATCH,
        max_batch_wait_s: float = 0.05,
        max_queued_publishes: int = 100_000,
        max_inflight: int = 100,
        log_interval_s: float = 10.0,
        fallbacks: Sequence[tuple[str, int]] = (),
        shared_group: str = "",
        clean_session: bool = False,
        inbox_retry_for_s: float = INBOX_RETRY_FOR_S,
    ) -> None:
        if not _NAME_RE.match(name):
            raise ValueError(f"gateway name must match {_NAME_RE.pattern}: {name!r}")
        self.topics = Topics(prefix)
        self.client_id = f"loaxa-server-{name}"
        self._host, self._port, self._keepalive = host, port, keepalive_s
        self._metrics = metrics
        self._throttle = LogThrottle(log_interval_s)
        self._queue: queue.Queue[Received] = queue.Queue(maxsize=queue_size)
        self._worker = BatchWorker(self._queue, inbox, metrics, max_batch=max_batch,
                                   max_wait_s=max_batch_wait_s, retry_for_s=inbox_retry_for_s,
                                   throttle=self._throttle, settle=self._acknowledge)
        # Numbers each connection (bumped when one begins or ends, under _ack_lock): a stored message is
        # acknowledged only on the connection it came on; after a reconnect the broker sends it again (persistent
        # session) or has dropped it (clean session), and its packet id may by then name another message.
        self._connection = 0
        self._ack_lock = threading.Lock()
        self._worker_thread: threading.Thread | None = None
        self._acks = AckTracker()
        self._ready = threading.Event()
        self._sub_mid: int | None = None
        self._sub_retry_s = SUBSCRIBE_RETRY_FIRST_S  # the wait before asking again for refused subscriptions
        self._shared_group = shared_group  # "" once the broker refused shared subscriptions (_on_subscribe)
        self._stopping = False
        self._started = False
        self._connected_before = False
        self.disconnected_at: float | None = None  # time.monotonic() when the last connection was lost
        # Called (network thread: quick) on every connect after the first: what was published on the lost
        # connection may be lost with it (a dead cluster node), see broadcast.runtime.
        self.on_reconnect: list[Callable[[], None]] = []
        # Label children looked up once: on_message may run 10k times a second.
        self._received = {k: metrics.device_messages.labels(kind=k) for k in ("status", "ack")}
        self._dropped = {r: metrics.device_messages_dropped.labels(reason=r.value) for r in DropReason}
        self._published = {r: metrics.mqtt_publishes.labels(result=r) for r in ("queued", "acked", "queue_full")}

        # The buffered client for a tested paho-mqtt, paho's own otherwise (mqtt_io.client_factory).
        client = make_client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             clean_session=clean_session, protocol=mqtt.MQTTv311, manual_ack=True)
        if username is not None:
            client.username_pw_set(username, password)
        if tls:
            client.tls_set(ca_certs=ca_file)  # the given CAs or the system's; the broker's certificate must verify
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.max_queued_messages_set(max_queued_publishes)
        client.max_inflight_messages_set(max_inflight)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_socket_open = lambda _client, _userdata, sock: set_no_delay(sock)
        # Other nodes of a broker cluster (LOAXA_MQTT_URL with several URLs): reconnects go to the next one.
        rotate_on_reconnect(client, BrokerRotation([(host, port), *fallbacks]))
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings, *, inbox: DeviceInbox, metrics: Metrics,
                      name: str = "main", **options: Any) -> MqttGateway:
        m = settings.mqtt
        ca_file = str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None
        return cls(host=m.host, port=m.port, username=m.username, password=m.password, tls=m.tls, ca_file=ca_file,
                   prefix=settings.topic_prefix, inbox=inbox, metrics=metrics, name=name,
                   fallbacks=m.addresses[1:], shared_group=settings.mqtt_shared_group, **options)

    # ---- lifecycle -------------------------------------------------------

    def start(self) -> None:
        """Start the worker and the network thread; connecting (and reconnecting) happens in the background."""
        if self._started:
            raise RuntimeError("gateway already started")
        self._started = True
        self._worker_thread = threading.Thread(target=self._worker.run, name=f"{self.client_id}-inbox", daemon=True)
        self._worker_thread.start()
        self._client.connect_async(self._host, self._port, keepalive=self._keepalive)
        self._client.loop_start()

    def stop(self, timeout: float = 10.0) -> None:
        """Disconnect (the broker keeps the session), then let the worker hand over what is queued."""
        if not self._started:
            return
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        self._next_connection()  # what the worker still stores is acknowledged by the broker's next delivery
        self._ready.clear()
        self._metrics.mqtt_connected.set(0)
        self._worker.stopping.set()
        if self._worker_thread is not None:
            self._worker_thread.join(timeout)

    def wait_connected(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    @property
    def connected(self) -> bool:
        """True once connected AND subscribed (a CONNACK alone does not yet bring device messages)."""
        return self._ready.is_set()

    @property
    def subscriptions(self) -> list[str]:
        """The device-message filters: in the shared group ($share/<group>/...) when one is set, so that of the
        server processes subscribed each message reaches one; plain otherwise (every process gets everything)."""
        plain = [self.topics.all_status, self.topics.all_acks]
        return [f"$share/{self._shared_group}/{t}" for t in plain] if self._shared_group else plain

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    # ---- outbound --------------------------------------------------------

    def publish(self, topic: str, doc: Mapping[str, Any], *, retain: bool) -> PublishResult:
        """QoS 1 publish of an encoded document. Safe from any thread; never blocks on the network."""
        return self._publish_bytes(topic, encode(doc), retain=retain)

    def publish_schedule(self, device_id: str, signed_doc: Mapping[str, Any]) -> PublishResult:
        return self.publish(self.topics.schedule(device_id), signed_doc, retain=True)

    def publish_schedule_payload(self, device_id: str, payload: bytes) -> PublishResult:
        """A signed schedule already encoded (the outbox keeps the wire bytes)."""
        return self._publish_bytes(self.topics.schedule(device_id), payload, retain=True)

    def publish_device_command(self, device_id: str, signed_doc: Mapping[str, Any]) -> PublishResult:
        return self.publish(self.topics.command(device_id), signed_doc, retain=False)

    def publish_zone_command(self, zone_id: str, signed_doc: Mapping[str, Any]) -> PublishResult:
        return self.publish(self.topics.zone_command(zone_id), signed_doc, retain=False)

    def clear_retained(self, topic: str) -> PublishResult:
        """An empty retained message removes what the broker keeps on `topic`."""
        return self._publish_bytes(topic, b"", retain=True)

    def _publish_bytes(self, topic: str, payload: bytes, *, retain: bool) -> PublishResult:
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload of {len(payload)} bytes exceeds the protocol limit {MAX_PAYLOAD_BYTES}")
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        # NO_CONN still means queued: paho sends it after reconnecting.
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self._published["queue_full"].inc()
            held = self._throttle.allow("publish_queue_full")
            if held is not None:
                log.error("Hàng đợi gửi MQTT đã đầy, không gửi được tới %s (%d lần tương tự không ghi lại)",
                          topic, held)
            return PublishResult(info.mid, topic, False, threading.Event())
        self._published["queued"].inc()
        return PublishResult(info.mid, topic, True, self._acks.register(info.mid))

    # ---- acknowledgements (worker thread, after the batch is stored) -------

    def _next_connection(self) -> None:
        with self._ack_lock:
            self._connection += 1

    def _acknowledge(self, batch: list[Received]) -> None:
        """PUBACK what the inbox has stored (or finally dropped), in arrival order, if its connection still lives."""
        with self._ack_lock:
            mids = [r[1] for _, r in batch if r is not None and r[0] == self._connection]
            ack_many = getattr(self._client, "ack_many", None)  # the buffered client: one wake-up for them all
            if ack_many is not None:
                ack_many(mids)
            else:
                for mid in mids:
                    self._client.ack(mid, 1)

    # ---- paho callbacks (network thread: quick, never raise) ---------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            log.error("Máy chủ MQTT %s:%s từ chối kết nối của %s: %s", self._host, self._port,
                      self.client_id, reason_code)
            return
        self._next_connection()
        self._metrics.mqtt_connects.inc()
        log.info("Đã kết nối MQTT %s:%s (phiên cũ còn: %s)", client.host, client.port,
                 getattr(flags, "session_present", None))
        if self._connected_before:
            for hook in self.on_reconnect:
                try:
                    hook()
                except Exception:  # a hook's bug must not kill paho's network thread
                    log.exception("Lỗi trong xử lý sau khi kết nối lại MQTT")
        self._connected_before = True
        # Always resubscribe: a restarted broker without persistence has forgotten us.
        _, self._sub_mid = client.subscribe([(t, 1) for t in self.subscriptions])

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any,
                      properties: Any) -> None:
        if mid != self._sub_mid:
            return
        refused = [rc for rc in reason_codes if getattr(rc, "is_failure", False)]
        if refused and self._shared_group:
            # e.g. NATS (MQTT 3.1.1 only, no $share): plain subscriptions still work, each node handles every
            # message (idempotently); set LOAXA_MQTT_SHARED_GROUP empty to skip this attempt.
            log.warning("Máy chủ MQTT từ chối đăng ký chia sẻ (%s); chuyển sang đăng ký thường: mỗi nút xử lý mọi "
                        "tin nhắn thiết bị (không trùng dữ liệu). Đặt LOAXA_MQTT_SHARED_GROUP rỗng cho máy chủ MQTT "
                        "này.", refused)
            self._shared_group = ""
            _, self._sub_mid = client.subscribe([(t, 1) for t in self.subscriptions])
            return
        if refused:
            # A clustered broker refuses some subscriptions while its nodes elect leaders (nats-server 2.9 cannot
            # make their consumers in time): ask again, backing off; an ACL refusal is logged every time.
            log.error("Máy chủ MQTT từ chối đăng ký nhận trạng thái/xác nhận thiết bị: %s (kiểm tra ACL); thử lại "
                      "sau %.0f s", refused, self._sub_retry_s)
            retry = threading.Timer(self._sub_retry_s, self._subscribe_again, args=(client, mid))
            retry.daemon = True
            retry.start()
            self._sub_retry_s = min(self._sub_retry_s * 2, SUBSCRIBE_RETRY_MAX_S)
            return
        self._sub_retry_s = SUBSCRIBE_RETRY_FIRST_S
        self._ready.set()
        self._metrics.mqtt_connected.set(1)

    def _subscribe_again(self, client: mqtt.Client, refused_mid: int) -> None:
        """Subscribe again unless the gateway stopped or a reconnect already subscribed anew."""
        if self._stopping or self._sub_mid != refused_mid or not client.is_connected():
            return
        _, self._sub_mid = client.subscribe([(t, 1) for t in self.subscriptions])

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any) -> None:
        self.disconnected_at = time.monotonic()
        self._next_connection()
        self._ready.clear()
        self._metrics.mqtt_connected.set(0)
        self._metrics.mqtt_disconnects.inc()
        abandoned = self._acks.abandon()
        if not self._stopping:
            log.warning("Mất kết nối MQTT %s:%s (%s), %d tin đang chờ xác nhận sẽ được gửi lại; tự kết nối lại",
                        client.host, client.port, reason_code, abandoned)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        self._published["acked"].inc()
        self._acks.acked(mid)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        queued = False
        try:
            payload = msg.payload
            try:
                topic = msg.topic
            except UnicodeDecodeError:
                self._drop(DropReason.UNKNOWN_TOPIC, repr(msg._topic[:200]), payload)  # noqa: SLF001
                return
            result = classify(self.topics.prefix, topic, payload)
            if isinstance(result, DropReason):
                self._drop(result, topic, payload)
                return
            try:
                self._queue.put_nowait(Received(result, (self._connection, msg.mid) if msg.qos else None))
            except queue.Full:
                self._drop(DropReason.QUEUE_FULL, topic, payload)
                return
            queued = True
            self._received[result.kind].inc()
        except Exception:  # a bug here must not kill paho's network thread
            held = self._throttle.allow("on_message")
            if held is not None:
                log.exception("Lỗi khi nhận tin nhắn thiết bị (%d lỗi tương tự không ghi lại)", held)
        finally:
            if not queued and msg.qos:  # dropped: nothing will store it, and it must not hold an in-flight slot
                client.ack(msg.mid, msg.qos)

    def _drop(self, reason: DropReason, topic: str, payload: bytes | bytearray) -> None:
        self._dropped[reason].inc()
        held = self._throttle.allow(reason.value)
        if held is None:
            return
        detail = explain(self.topics.prefix, topic, payload) if reason is not DropReason.QUEUE_FULL else \
            f"hàng đợi đầy ({self._queue.maxsize} tin)"
        log.warning("Bỏ tin nhắn thiết bị (%s) trên chủ đề %.200r: %s; %d tin khác bị bỏ vì lý do này "
                    "không ghi lại", reason.value, topic, detail, held)
