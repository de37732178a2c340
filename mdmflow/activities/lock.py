"""The lock workflow's activities: draw a PIN, escrow it, record the acknowledgement.

The PIN is drawn here, not in workflow code: workflow randomness is deterministic (replayed
from a seed), and a Find My PIN must come from the OS's cryptographic source. Drawing stores
nothing, and the two writes set fixed keys to values the workflow passes in, so a retried
activity writes the same thing again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from temporalio import activity

from mdmflow.activities.lock_models import (
    LOCK_ACKNOWLEDGED_ACTIVITY,
    LOCK_ESCROW_ACTIVITY,
    LOCK_NEW_PIN_ACTIVITY,
    LOCK_PIN_ACTIVITY,
    LOCK_WORKFLOW,
    MESSAGE_RESULT_KEY,
    PIN_SECRET,
    RECEIVED_KEY,
    SENT_KEY,
    LockAcknowledged,
    LockEscrow,
    LockNewPin,
    LockPin,
)
from mdmflow.mdm.plist import JsonValue
from mdmflow.store.inventory import InventoryStore
from mdmflow.store.secrets import InventorySecretStore

log = logging.getLogger(__name__)
PIN_DIGITS = 6


def new_pin() -> str:
    """Six decimal digits, uniformly from ``secrets`` (NanoCMD used math/rand)."""
    return f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"


class LockActivities:
    def __init__(self, inventory: InventoryStore, secrets_store: InventorySecretStore) -> None:
        self._inventory = inventory
        self._secrets = secrets_store

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for the worker's registration."""
        return [self.escrow_new_pin, self.draw_pin, self.escrow_pin, self.record_acknowledged]

    @activity.defn(name=LOCK_NEW_PIN_ACTIVITY)
    async def escrow_new_pin(self, request: LockNewPin) -> None:
        """A fresh PIN, sealed, and when it was sent, before the command goes out. A retry
        draws again and replaces it: the command is built from whatever is stored."""
        await self._escrow(request.enrollment_id, new_pin(), request.sent_at)

    @activity.defn(name=LOCK_PIN_ACTIVITY)
    async def draw_pin(self) -> LockPin:
        """For lock workflows started before ``escrow_new_pin`` (the PIN went through history)."""
        return LockPin(pin=new_pin())

    @activity.defn(name=LOCK_ESCROW_ACTIVITY)
    async def escrow_pin(self, escrow: LockEscrow) -> None:
        """For lock workflows started before ``escrow_new_pin``."""
        await self._escrow(escrow.enrollment_id, escrow.pin, escrow.sent_at)

    async def _escrow(self, enrollment_id: str, pin: str, sent_at: datetime) -> None:
        await self._secrets.put(enrollment_id, {PIN_SECRET: pin})
        sent = sent_at.isoformat()
        await self._inventory.merge(
            enrollment_id, {SENT_KEY: sent, "last_source": LOCK_WORKFLOW, "modified": sent}
        )
        log.info("escrowed a lock PIN", extra={"enrollment_id": enrollment_id})

    @activity.defn(name=LOCK_ACKNOWLEDGED_ACTIVITY)
    async def record_acknowledged(self, acknowledged: LockAcknowledged) -> None:
        when = acknowledged.acknowledged_at.isoformat()
        values: dict[str, JsonValue] = {
            RECEIVED_KEY: when,
            "last_source": LOCK_WORKFLOW,
            "modified": when,
        }
        if acknowledged.message_result:
            values[MESSAGE_RESULT_KEY] = acknowledged.message_result
        await self._inventory.merge(acknowledged.enrollment_id, values)
