"""Faults injected on demand into a fraction of a running fleet, and cleared again: the health faults of section 9.1
(device_sim/health.py) and three of the link: a power cut (the controller goes dark until cleared), a flapping link
(the link drops and comes back every few seconds) and a cut-off (the link is down for a given time, then comes back by
itself: the controller plays from its stored schedule meanwhile and sends its buffered acks afterwards)."""
from __future__ import annotations

import random
from collections.abc import Iterable
from typing import TYPE_CHECKING

from device_sim.health import HEALTH_FAULTS

if TYPE_CHECKING:
    from device_sim.device import SimDevice

LINK_FAULTS = ("power_cut", "flapping_link", "cut_off")
FAULTS = HEALTH_FAULTS + LINK_FAULTS
FLAP_DOWN_S, FLAP_UP_S = 2.0, 4.0
CUT_OFF_S = 60.0  # how long a cut-off lasts unless the caller says otherwise


def choose(devices: Iterable[SimDevice], fraction: float, seed: int | None) -> list[SimDevice]:
    """A seeded share of the devices, at least one when the fraction is above zero."""
    pool = sorted(devices, key=lambda d: d.id)
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    count = max(1, round(len(pool) * fraction))
    return random.Random(seed).sample(pool, min(count, len(pool)))


def inject(device: SimDevice, fault: str, *, duration_s: float = CUT_OFF_S) -> None:
    """Give the device `fault`; `duration_s` is how long a cut-off lasts (the other faults last until cleared)."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
    before = device.health.alarm_state()
    device.health.faults.add(fault)
    if fault == "power_cut":
        device.go_offline()
    elif fault == "flapping_link":
        _flap(device)
    elif fault == "cut_off":
        _cut_off(device, duration_s)
    elif device.health.alarm_state() != before:
        device.publish_status()  # section 9.1: at once, not at the next heartbeat
    elif fault in ("overheating", "low_supply"):
        device.publish_status()  # the reading moved: tell now rather than within status_interval_s


def clear(device: SimDevice) -> None:
    faults, device.health.faults = device.health.faults, set()
    if faults & set(LINK_FAULTS):
        device.go_online()
    if faults & set(HEALTH_FAULTS):
        device.publish_status()


def _flap(device: SimDevice) -> None:
    """Down for FLAP_DOWN_S, up for FLAP_UP_S, for as long as the fault lasts."""
    loop = device.fleet.loop

    def down() -> None:
        if "flapping_link" not in device.health.faults:
            return
        device.go_offline()
        loop.call_later(FLAP_DOWN_S, up)

    def up() -> None:
        if "flapping_link" not in device.health.faults:
            return
        device.go_online()
        loop.call_later(FLAP_UP_S, down)

    loop.call_soon(down)


def _cut_off(device: SimDevice, duration_s: float) -> None:
    """The link goes down now and comes back after `duration_s` (simulated seconds), unless cleared before."""
    device.go_offline()

    def back() -> None:
        if "cut_off" not in device.health.faults:
            return  # cleared (and reconnected) already
        device.health.faults.discard("cut_off")
        if not device.health.faults & set(LINK_FAULTS):
            device.go_online()

    device.fleet.loop.call_later(device.fleet.clock.real_delay(duration_s), back)
