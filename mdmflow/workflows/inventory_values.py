"""The inventory's values as pure code: which DeviceInformation and SecurityInfo answers are
stored, under NanoCMD's inventory keys. Used by the inventory workflows, built once per worker
(passed through the sandbox) and unit-tested without Temporal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from mdmflow.mdm.plist import JsonValue
from mdmflow.mdm.reports import CommandStatus
from mdmflow.mdm.responses import SecurityInfoDetails
from mdmflow.workflows.models import StepError

INVENTORY = "io.micromdm.wf.inventory.v1"
INVENTORY_EVENTS = f"{INVENTORY}.events"

DEVICE_INFORMATION_KEYS: dict[str, str] = {
    "SerialNumber": "serial_number",
    "Model": "model",
    "ModelName": "model_name",
    "DeviceName": "device_name",
    "BuildVersion": "build_version",
    "OSVersion": "os_version",
    "EthernetMAC": "ethernet_mac",
    "IsSupervised": "supervised",
    "IsAppleSilicon": "apple_silicon",
    "HasBattery": "has_battery",
    "SupportsLOMDevice": "supports_lom",
    "IsMultiUser": "is_multiuser",
}
"""DeviceInformation query → NanoCMD's inventory key."""

QUERIES = [
    "Model",
    "SerialNumber",
    "ModelName",
    "DeviceName",
    "BuildVersion",
    "OSVersion",
    "EthernetMAC",
    "IsAppleSilicon",
    "HasBattery",
    "IsMultiUser",
    "SupportsLOMDevice",
    "IsSupervised",
]
"""NanoCMD's queries in its order, with two deliberate differences.

NanoCMD asks for ``Model`` twice; it is asked once here. NanoCMD stores ``supervised`` from
``IsSupervised`` but never queries it, so that key never gets a value; here it is queried.
"""


class InventoryValues(BaseModel):
    """What one inventory write stores: some values plus where and when they came from."""

    model_config = ConfigDict(frozen=True)
    last_source: str
    modified: datetime

    def stored(self) -> dict[str, JsonValue]:
        """The keys and values merged into the inventory record (absent values left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class DeviceInventory(InventoryValues):
    """The DeviceInformation values the device reported, under NanoCMD's inventory keys."""

    serial_number: str | None = None
    model: str | None = None
    model_name: str | None = None
    device_name: str | None = None
    build_version: str | None = None
    os_version: str | None = None
    ethernet_mac: str | None = None
    supervised: bool | None = None
    apple_silicon: bool | None = None
    has_battery: bool | None = None
    supports_lom: bool | None = None
    is_multiuser: bool | None = None


class SecurityInventory(InventoryValues):
    """The SecurityInfo values the device reported, under NanoCMD's inventory keys."""

    sip_enabled: bool | None = None
    fde_enabled: bool | None = None


class InventoryResult(BaseModel):
    """The inventory workflow's result; ``stored`` is None when the device reported none of
    the values (then nothing was written)."""

    enrollment_id: str
    stored: DeviceInventory | None = None


class InventoryEventResult(BaseModel):
    """The event handler's result for one SecurityInfo report; ``stored`` as above."""

    enrollment_id: str
    command_uuid: str
    status: CommandStatus
    stored: SecurityInventory | None = None


def inventory_values(query_responses: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """NanoCMD's inventory keys for the DeviceInformation values present (not None)."""
    return {
        key: query_responses[query]
        for query, key in DEVICE_INFORMATION_KEYS.items()
        if query_responses.get(query) is not None
    }


def security_values(info: SecurityInfoDetails) -> dict[str, JsonValue]:
    """``sip_enabled`` and ``fde_enabled``, each only when the device reported it."""
    values: dict[str, JsonValue] = {
        "sip_enabled": info.system_integrity_protection_enabled,
        "fde_enabled": info.fde_enabled,
    }
    return {key: value for key, value in values.items() if value is not None}


def device_inventory(
    query_responses: Mapping[str, JsonValue], now: datetime
) -> DeviceInventory | None:
    """What to store for a DeviceInformation answer; None if it holds none of the values.

    :class:`StepError` if a value has the wrong type (a string where Apple documents a boolean).
    """
    values = inventory_values(query_responses)
    if not values:
        return None
    try:
        return DeviceInventory.model_validate(
            {**values, "last_source": "DeviceInformation", "modified": now}
        )
    except ValidationError as exc:
        raise StepError(f"DeviceInformation values do not fit the inventory: {exc}") from None


def security_inventory(info: SecurityInfoDetails, now: datetime) -> SecurityInventory | None:
    """What to store for a SecurityInfo answer; None if it holds neither value (iOS)."""
    values = security_values(info)
    if not values:
        return None
    return SecurityInventory.model_validate(
        {**values, "last_source": "SecurityInfo", "modified": now}
    )
