"""The inventory merge activity, run by ``ActivityEnvironment`` against both app databases."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from mdmflow.activities.inventory import InventoryActivities
from mdmflow.activities.models import InventoryUpdate
from mdmflow.store.database import Database
from mdmflow.store.inventory import InventoryStore


async def test_merge_writes_the_values_and_a_retry_writes_the_same(database: Database) -> None:
    store = InventoryStore(database)
    acts = InventoryActivities(store)
    assert acts.all() == [acts.merge]
    await store.merge("dev-1", {"model": "Mac14,2"})
    update = InventoryUpdate(enrollment_id="dev-1", values={"sip_enabled": True, "n": 1.5})
    await ActivityEnvironment().run(acts.merge, update)
    await ActivityEnvironment().run(acts.merge, update)
    assert await store.get(["dev-1"]) == {
        "dev-1": {"model": "Mac14,2", "sip_enabled": True, "n": 1.5}
    }
