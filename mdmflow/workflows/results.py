"""The results of the MDM workflows, outside the workflow modules.

The sandbox re-runs a workflow module for every workflow run; models defined there would be
rebuilt each time (pydantic's model building is costly). Imported through the pass-through,
these are built once per worker.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from mdmflow.mdm.plist import JsonValue


class DeviceInfoLog(BaseModel):
    """The DeviceInformation values the device reported (queries it does not know are absent)."""

    enrollment_id: str
    values: dict[str, JsonValue]


class LockResult(BaseModel):
    """When the lock was sent and acknowledged; the PIN is in the inventory's secrets only."""

    enrollment_id: str
    sent_at: datetime
    acknowledged_at: datetime
    message_result: str | None = None


class FileVaultRotateResult(BaseModel):
    """The new key is escrowed (read it from the inventory with ``secrets=1``)."""

    enrollment_id: str
    escrowed_at: datetime
