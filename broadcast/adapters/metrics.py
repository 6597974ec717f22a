"""Prometheus metrics, one registry per process (kept in the container, never global)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
