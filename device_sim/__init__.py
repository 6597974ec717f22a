"""Simulated commune loudspeaker controllers speaking LoaXa device protocol v1."""

from device_sim.device import DeviceSpec, SimDevice
from device_sim.fleet import FaultPlan, Fleet, apply_faults, make_specs

__all__ = ["DeviceSpec", "FaultPlan", "Fleet", "SimDevice", "apply_faults", "make_specs"]
