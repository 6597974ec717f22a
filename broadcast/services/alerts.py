"""Alert rules over the whole fleet, one pass at a time, and what people do with alerts: list, acknowledge, and set
the thresholds of their area.

A pass reads the facts of every device in a few statements, applies the rules (domain/alerts.py) with the
thresholds in force for each commune, moves each (device, cause) along its states, and hands the changes to the
notifier inside the same transaction (an outbox: notified if and only if recorded).
"""
from __future__ import annotations

import time as timer
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from broadcast.domain.alert_events import AlertEvent, AlertEventKind
from broadcast.domain.alerts import (
    Alert,
    AlertQuery,
    AlertState,
    Finding,
    Thresholds,
    Transition,
    check_overrides,
    effective_thresholds,
    findings,
    parse_thresholds_setting,
    step,
)
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import Conflict, NotFound
from broadcast.services.areas import get_area
from broadcast.services.context import Actor, audit
from broadcast.services.ports import Clock, UnitOfWork

Notify = Callable[[UnitOfWork, Clock, Sequence[AlertEvent]], None]
DEFAULT_THRESHOLDS = Thresholds()
EVENT_OF: dict[str, AlertEventKind] = {"opened": "opened", "resolved": "resolved"}


def national_thresholds(setting: str) -> Thresholds:
    """LOAXA_ALERT_THRESHOLDS over the built-in defaults (the settings refuse a bad one at start-up)."""
    return parse_thresholds_setting(setting, DEFAULT_THRESHOLDS)


@dataclass(frozen=True)
class PassReport:
    devices: int
    findings: int
    opened: int
    resolved: int
    seconds: float


def _event(kind: AlertEventKind, alert: Alert, at: datetime) -> AlertEvent:
    return AlertEvent(kind, alert.id, alert.cause.value, alert.device_id, alert.commune_code, at,
                      dict(alert.details), alert.acknowledged_by, alert.note)


def evaluate(uow_factory: Callable[[], UnitOfWork], clock: Clock, tz: tzinfo, *, base: Thresholds = DEFAULT_THRESHOLDS,
             notify: Notify | None = None) -> PassReport:
    started = timer.perf_counter()
    now = clock.now()
    today_start = datetime.combine(now.astimezone(tz).date(), time(), tz)
    uow = uow_factory()
    with uow:
        overrides = uow.alerts.threshold_overrides()
        facts = uow.alerts.device_facts(today_start)
        in_force: dict[tuple[str, str], Thresholds] = {}
        by_device: dict[str, Thresholds] = {}
        found: dict[tuple[str, str], Finding] = {}
        for device in facts:
            key = (device.province_code, device.commune_code)
            if key not in in_force:
                in_force[key] = effective_thresholds([overrides.get(key[0]), overrides.get(key[1])], base)
            by_device[device.device_id] = in_force[key]
            for finding in findings(device, in_force[key], now):
                found[(finding.device_id, finding.cause.value)] = finding
        current = {(a.device_id, a.cause.value): a for a in uow.alerts.unresolved()}
        transitions: list[Transition] = []
        for key in current.keys() | found.keys():
            thresholds = by_device.get(key[0], base)  # a device disabled meanwhile: its alerts resolve
            move = step(current.get(key), found.get(key), now, timedelta(seconds=thresholds.settle_s))
            if move is not None:
                transitions.append(move)
        events = [_event(EVENT_OF[t.kind], t.alert, now) for t in uow.alerts.apply(transitions) if t.kind in EVENT_OF]
        if events and notify is not None:
            notify(uow, clock, events)
        uow.commit()
    return PassReport(len(facts), len(found), sum(e.kind == "opened" for e in events),
                      sum(e.kind == "resolved" for e in events), timer.perf_counter() - started)


def list_alerts(uow: UnitOfWork, principal: Principal, *, area: str | None = None, state: str | None = None,
                cause: str | None = None, device_id: str | None = None, limit: int = 100,
                offset: int = 0) -> list[Alert]:
    """Alerts in the areas the principal may read (one area of them when asked), newest first; pending ones never."""
    with uow:
        scope = frozenset(principal.areas_for(Action.READ))
        if area is not None:
            principal.require(Action.READ, get_area(uow, area).chain())
            scope = frozenset({area})
        return uow.alerts.list(AlertQuery(scope, state, cause, device_id, limit, offset))


def count_open(uow: UnitOfWork, principal: Principal) -> int:
    with uow:
        return uow.alerts.count_open(frozenset(principal.areas_for(Action.READ)))


def acknowledge(uow: UnitOfWork, clock: Clock, actor: Actor, alert_id: int, note: str = "", *,
                notify: Notify | None = None) -> Alert:
    """Someone responsible takes the fault in hand; the alert still resolves by itself when the fault clears."""
    note = note.strip()
    if len(note) > 1000:
        note = note[:1000]
    with uow:
        alert = uow.alerts.get(alert_id)
        if alert is None or alert.state is AlertState.PENDING:
            raise NotFound(f"Không tìm thấy cảnh báo số {alert_id}.", code="alert_not_found")
        device = uow.devices.get(alert.device_id)
        chain = device.area_chain() if device is not None else (alert.commune_code,)
        actor.require(Action.ACKNOWLEDGE_ALERTS, chain)
        now = clock.now()
        # Conditional in the database: a rule pass may resolve the alert between the read above and this write.
        if alert.state is not AlertState.OPEN or not uow.alerts.acknowledge(alert.id, by=actor.name, at=now,
                                                                             note=note or None):
            raise Conflict("Cảnh báo này đã được xác nhận hoặc đã hết.", code="alert_not_open")
        alert = replace(alert, state=AlertState.ACKNOWLEDGED, acknowledged_by=actor.name, acknowledged_at=now,
                        note=note or None)
        audit(uow, clock, actor, "alert.acknowledge", "alert", alert.id, area_code=alert.commune_code,
              cause=alert.cause.value, device_id=alert.device_id, note=note)
        if notify is not None:
            notify(uow, clock, [_event("acknowledged", alert, now)])
        uow.commit()
        return alert


def describe_thresholds(uow: UnitOfWork, principal: Principal | None, area_code: str,
                        base: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    """The area's own overrides and the thresholds in force after inheritance from its province."""
    with uow:
        area = get_area(uow, area_code)
        if principal is not None:
            principal.require(Action.READ, area.chain())
        overrides = uow.alerts.threshold_overrides()
        chain = [overrides.get(area.parent_code)] if area.parent_code else []
        effective = effective_thresholds([*chain, overrides.get(area.code)], base)
        return {"area_code": area.code, "own": overrides.get(area.code), "inherited_from": area.parent_code,
                "effective": effective.__dict__}


def set_thresholds(uow: UnitOfWork, clock: Clock, actor: Actor, area_code: str, overrides: dict[str, Any],
                   base: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    checked = check_overrides(overrides)
    with uow:
        area = get_area(uow, area_code)
        actor.require(Action.MANAGE_POLICY, area.chain())
        uow.alerts.put_thresholds(area.code, checked, by=actor.name, at=clock.now())
        audit(uow, clock, actor, "alert.thresholds", "area", area.code, area_code=area.code, **checked)
        uow.commit()
    return describe_thresholds(uow, actor.principal, area_code, base)
