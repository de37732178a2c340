"""Subscriptions per event are cached for a few seconds: a change through the same store shows
at once, one through another bridge's store only after the cache time."""

from __future__ import annotations

from mdmflow.crypto.sealed import SecretBox
from mdmflow.store.database import Database
from mdmflow.store.subscriptions import Subscription, SubscriptionStore
from tests.support.codec import TEST_KEYRING

IDLE = "Idle"


async def test_a_change_shows_at_once_here_and_after_the_cache_time_elsewhere(
    database: Database,
) -> None:
    box = SecretBox(TEST_KEYRING)
    here, elsewhere = SubscriptionStore(database, box), SubscriptionStore(database, box)
    assert await here.for_event(IDLE) == []
    assert await elsewhere.for_event(IDLE) == []
    await here.put("on-idle", Subscription(event=IDLE, workflow="io.micromdm.wf.inventory.v1"))
    assert [s.name for s in await here.for_event(IDLE)] == ["on-idle"]
    assert await elsewhere.for_event(IDLE) == [], "another replica keeps its cached answer"
    assert [s.name for s in await elsewhere.list(IDLE)] == ["on-idle"]
    assert await here.delete("on-idle")
    assert await here.for_event(IDLE) == []
