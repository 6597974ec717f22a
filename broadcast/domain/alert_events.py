"""What happened to an alert, as the notifiers see it: the seam between alert rules and notifications.

The alert service emits these inside the transaction that opens, acknowledges or resolves an alert; the
notification service stages e-mails and webhook deliveries for them in that same transaction (an outbox), so an
alert is never notified without being recorded, nor recorded without being notified.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

AlertEventKind = Literal["opened", "acknowledged", "resolved"]


@dataclass(frozen=True)
class AlertEvent:
    kind: AlertEventKind
    alert_id: int
    cause: str  # e.g. "offline", "amplifier_fault", "speaker_line", "temperature_high" (broadcast.domain.alerts)
    device_id: str
    commune_code: str  # the device's commune: who is responsible is found from its area chain
    at: datetime  # UTC
    details: Mapping[str, Any] = field(default_factory=dict)  # the measured value and threshold, for the message
    by: str | None = None  # who acknowledged
    note: str | None = None  # the acknowledgement's note
