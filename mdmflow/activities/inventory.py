"""The inventory subsystem's activity: merge values into an enrollment's inventory record.

A merge sets keys to values, so a retried activity writes the same values again: idempotent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

from mdmflow.activities.models import INVENTORY_MERGE_ACTIVITY, InventoryUpdate
from mdmflow.store.inventory import InventoryStore


class InventoryActivities:
    """Activities bound to one worker's inventory store."""

    def __init__(self, store: InventoryStore) -> None:
        self._store = store

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for the worker's registration."""
        return [self.merge]

    @activity.defn(name=INVENTORY_MERGE_ACTIVITY)
    async def merge(self, update: InventoryUpdate) -> None:
        await self._store.merge(update.enrollment_id, update.values)
