"""Prometheus metrics, one registry per process (kept in the container, never global)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from broadcast.domain.health import CommuneFleet

log = logging.getLogger(__name__)
FLEET_GAUGES = (  # (metric, help, CommuneFleet field)
    ("loaxa_fleet_devices", "Registered devices (test devices left out)", "devices"),
    ("loaxa_fleet_devices_online", "Devices online", "online"),
    ("loaxa_fleet_devices_in_fault", "Devices with the amplifier in fault or the speaker line open or short",
     "in_fault"),
    ("loaxa_fleet_devices_powered_off", "Devices with the amplifier relay off", "powered_off"),
    ("loaxa_fleet_devices_stale_schedule", "Devices that have not acknowledged their newest schedule",
     "stale_schedule"),
    ("loaxa_fleet_plays_missed_today", "Plays missed today (local day)", "missed"),
    ("loaxa_fleet_plays_failed_today", "Plays failed today (local day)", "failed"),
)


class FleetCollector(Collector):
    """Gauges per province and commune, read at scrape time."""

    def __init__(self, read: Callable[[], list[CommuneFleet]]):
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        failed = GaugeMetricFamily("loaxa_fleet_read_failed", "1 when the fleet figures could not be read")
        try:
            figures = self.read()
        except Exception:  # the process's own metrics must still be scraped while the database is away
            log.exception("reading the fleet figures for /metrics failed")
            failed.add_metric([], 1)
            yield failed
            return
        failed.add_metric([], 0)
        yield failed
        for name, text, field in FLEET_GAUGES:
            family = GaugeMetricFamily(name, text, labels=["province", "commune"])
            for commune in figures:
                family.add_metric([commune.province_code, commune.commune_code], getattr(commune, field))
            yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # registering must not read the database


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter("loaxa_http_requests_total", "HTTP requests", ["method", "route", "status"],
                                     registry=self.registry)
        self.http_latency = Histogram("loaxa_http_request_seconds", "HTTP request latency", ["method", "route"],
                                      registry=self.registry)
        self.device_messages = Counter("loaxa_device_messages_total", "Device MQTT messages received", ["kind"],
                                       registry=self.registry)
        self.device_messages_dropped = Counter("loaxa_device_messages_dropped_total",
                                               "Device MQTT messages dropped as invalid", ["reason"],
                                               registry=self.registry)
        # MQTT gateway (broadcast.devices.gateway).
        self.mqtt_connected = Gauge("loaxa_mqtt_connected", "1 while the gateway is connected and subscribed",
                                    registry=self.registry)
        self.mqtt_connects = Counter("loaxa_mqtt_connects_total", "Accepted MQTT connections (first and reconnects)",
                                     registry=self.registry)
        self.mqtt_disconnects = Counter("loaxa_mqtt_disconnects_total", "MQTT connections lost or closed",
                                        registry=self.registry)
        self.mqtt_publishes = Counter("loaxa_mqtt_publishes_total", "Server publishes by outcome (queued, acked, "
                                      "queue_full)", ["result"], registry=self.registry)
        self.device_inbox_queue_depth = Gauge("loaxa_device_inbox_queue_depth",
                                              "Valid device messages waiting for the inbox", registry=self.registry)
        self.device_inbox_batches = Counter("loaxa_device_inbox_batches_total", "Batches the inbox accepted",
                                            registry=self.registry)
        self.device_inbox_errors = Counter("loaxa_device_inbox_errors_total",
                                           "Inbox failures on a batch (retried, dropped)", ["outcome"],
                                           registry=self.registry)

    def watch_fleet(self, read: Callable[[], list[CommuneFleet]]) -> None:
        self.registry.register(FleetCollector(read))
