"""The simulated controller's health readings: each value wanders over its whole range around the device's baseline,
and a fault moves it where a real fault would (device_sim/health.py)."""
from __future__ import annotations

import random

from device_sim.health import HealthModel


def _readings(model: HealthModel, count: int = 3000) -> list[dict]:
    return [dict(model.reading(1000.0)) for _ in range(count)]


def test_healthy_readings_wander_over_their_whole_range_around_the_baseline() -> None:
    model = HealthModel(random.Random(7), booted_at=400.0)
    readings = _readings(model)
    assert {r["temperature_c"] - model.base_temperature for r in readings} == {-1, 0, 1}
    assert {r["supply_mv"] - model.base_supply_mv for r in readings} == set(range(-40, 41))
    assert {r["rssi_dbm"] - model.base_rssi for r in readings} == set(range(-3, 4))
    steady = {(r["amplifier"], r["speaker_line"], r["power"], r["uptime_s"]) for r in readings}
    assert steady == {("ok", "ok", "on", 600)}


def test_overheating_and_low_supply_move_the_readings_out_of_the_healthy_range() -> None:
    model = HealthModel(random.Random(7), booted_at=400.0)
    model.faults |= {"overheating", "low_supply"}
    readings = _readings(model)
    assert {r["temperature_c"] for r in readings} == set(range(78, 83))
    assert {r["supply_mv"] for r in readings} == set(range(10_250, 10_351))


def test_the_same_seed_gives_the_same_readings() -> None:
    assert _readings(HealthModel(random.Random(3), booted_at=0.0), 50) == \
        _readings(HealthModel(random.Random(3), booted_at=0.0), 50)
