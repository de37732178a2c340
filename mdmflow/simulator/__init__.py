"""A fake NanoMDM/MicroMDM server with simulated devices: demo server, test double, load source.

``run_simulator(config)`` serves it on loopback; enqueue and push through its HTTP API like a
real MDM server, and every device answers by posting reports to ``config.webhook_url``.
"""

from mdmflow.simulator.certificates import Certificate
from mdmflow.simulator.config import Mode, SimulatorConfig
from mdmflow.simulator.devices import SimulatedDevice, SimulatedUser, generate_fleet
from mdmflow.simulator.profiles import DeviceProfile
from mdmflow.simulator.queue import CommandQueue, PendingCommand
from mdmflow.simulator.responses import RotateHook
from mdmflow.simulator.server import create_app, run_simulator
from mdmflow.simulator.simulator import (
    RecordedRequest,
    Simulator,
    SimulatorStats,
    UnknownEnrollmentError,
)

__all__ = [
    "Certificate",
    "CommandQueue",
    "DeviceProfile",
    "Mode",
    "PendingCommand",
    "RecordedRequest",
    "RotateHook",
    "SimulatedDevice",
    "SimulatedUser",
    "Simulator",
    "SimulatorConfig",
    "SimulatorStats",
    "UnknownEnrollmentError",
    "create_app",
    "generate_fleet",
    "run_simulator",
]
