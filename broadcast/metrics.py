"""Prometheus metrics, one registry per process (kept in the container, never global)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


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
