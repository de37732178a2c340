"""The fan-out's two activities: read one page of a fleet start's IDs, forget them at the end.

A page that is gone is a non-retryable failure: retrying cannot bring it back, and the
fan-out should fail saying so rather than wait.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from mdmflow.activities.fleet_models import FLEET_FORGET_ACTIVITY, FLEET_PAGE_ACTIVITY, FleetPage
from mdmflow.failures import FLEET_PAGE_MISSING
from mdmflow.store.fleet_ids import FleetIdStore, MissingPageError


class FleetActivities:
    def __init__(self, store: FleetIdStore) -> None:
        self._store = store

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for the worker's registration."""
        return [self.read_page, self.forget]

    @activity.defn(name=FLEET_PAGE_ACTIVITY)
    async def read_page(self, request: FleetPage) -> list[str]:
        try:
            return await self._store.page(request.instance_id, request.page)
        except MissingPageError as exc:
            raise ApplicationError(str(exc), type=FLEET_PAGE_MISSING, non_retryable=True) from None

    @activity.defn(name=FLEET_FORGET_ACTIVITY)
    async def forget(self, instance_id: str) -> None:
        """Delete the instance's pages; deleting what is gone already is no error."""
        await self._store.forget(instance_id)
