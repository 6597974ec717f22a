"""A simulated controller's health (spec section 9.1) and the faults a test can inject into it.

Values wander a little around a healthy baseline, as a real controller's sensors do; an injected fault moves the
reading where a real fault would (an amplifier in fault, an open speaker line, an overheated cabinet, a weak
supply) until it is cleared. The amplifier relay (`power`) follows set_power (section 9.2).
"""
from __future__ import annotations

import random
from typing import cast

from broadcast import protocol as p

# Faults that change the health document; power_cut and flapping_link act on the link (device_sim/faults.py).
HEALTH_FAULTS = ("amplifier_fault", "open_line", "overheating", "low_supply")


class HealthModel:
    def __init__(self, rng: random.Random, booted_at: float, network: str = "cellular") -> None:
        self.rng = rng
        self.booted_at = booted_at
        self.network = network
        self.base_temperature = rng.randint(33, 44)
        self.base_supply_mv = rng.randint(11_900, 12_400)
        self.base_rssi = rng.randint(-95, -60)
        self.power = "on"
        self.faults: set[str] = set()

    def reading(self, now: float) -> p.HealthDoc:
        """The `health` object of the next status."""
        # Every wander from one 32-bit draw, taken apart digit by digit (3 * 81 * 7 * 5 * 101 values, far below
        # 2**32, so each is as good as uniform): a status goes out several times per device per fan-out, and
        # four randint calls made the reading cost 2 µs.
        r = self.rng.getrandbits(32)
        temperature = self.base_temperature + r % 3 - 1  # +-1 °C
        r //= 3
        supply = self.base_supply_mv + r % 81 - 40  # +-40 mV
        r //= 81
        rssi = self.base_rssi + r % 7 - 3  # +-3 dBm
        r //= 7
        if self.faults:
            if "overheating" in self.faults:
                temperature = 78 + r % 5  # 78-82 °C
            if "low_supply" in self.faults:
                supply = 10_250 + (r // 5) % 101  # 10,300 +-50 mV
        amplifier, line, power = self.alarm_state()
        health = {"temperature_c": temperature, "supply_mv": supply, "amplifier": amplifier, "speaker_line": line,
                  "rssi_dbm": rssi, "network": self.network, "uptime_s": max(0, int(now - self.booted_at)),
                  "power": power}
        return cast(p.HealthDoc, health)  # the words come from the spec's sets (alarm_state)

    def alarm_state(self) -> tuple[str, str, str]:
        """The members whose change is published at once (section 9.1): amplifier, speaker line, power."""
        if self.power == "off":
            amplifier = "off"
        else:
            amplifier = "fault" if "amplifier_fault" in self.faults else "ok"
        return amplifier, "open" if "open_line" in self.faults else "ok", self.power
