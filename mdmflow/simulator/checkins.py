"""Check-in messages a simulated device sends when it enrolls, re-enrolls or leaves.

Keys are Apple's (``mdm/checkin/*.yaml``); a Mac's user channel adds its user's keys.
"""

from __future__ import annotations

import random
from typing import Any

from mdmflow.simulator.devices import SimulatedDevice, SimulatedUser

TOPIC = "com.apple.mgmt.External.mdmflow-simulator"


def _base(device: SimulatedDevice, user: SimulatedUser | None, message: str) -> dict[str, Any]:
    body: dict[str, Any] = {"MessageType": message, "Topic": TOPIC, "UDID": device.udid}
    if user is not None:
        body.update(UserID=user.user_id, UserShortName=user.short_name, UserLongName=user.long_name)
    return body


def authenticate(device: SimulatedDevice) -> dict[str, Any]:
    """Authenticate comes from the device channel only."""
    return {
        **_base(device, None, "Authenticate"),
        "BuildVersion": device.build_version,
        "DeviceName": device.device_name,
        "Model": device.model,
        "ModelName": device.model_name,
        "OSVersion": device.os_version,
        "ProductName": device.product_name,
        "SerialNumber": device.serial_number,
    }


def token_update(
    device: SimulatedDevice, user: SimulatedUser | None, rng: random.Random
) -> dict[str, Any]:
    body = {
        **_base(device, user, "TokenUpdate"),
        "Token": rng.randbytes(32),
        "PushMagic": str(random.Random(rng.getrandbits(64)).getrandbits(128)),
    }
    if user is None:
        body["AwaitingConfiguration"] = device.awaiting_configuration
        if not device.is_macos:
            body["UnlockToken"] = rng.randbytes(64)
    else:
        body["NotOnConsole"] = False
    return body


def check_out(device: SimulatedDevice) -> dict[str, Any]:
    return _base(device, None, "CheckOut")
