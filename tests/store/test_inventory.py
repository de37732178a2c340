"""InventoryStore on both backends: NanoCMD's merge semantics, lookups of many IDs, delete."""

from __future__ import annotations

import pytest

from mdmflow.mdm.plist import JsonValue
from mdmflow.store import inventory as inventory_module
from mdmflow.store.database import Database
from mdmflow.store.inventory import InventoryStore

VALUES: dict[str, JsonValue] = {
    "serial_number": "C02XK1ZZJGH5",
    "device_name": "Zo\u00eb\u2019s MacBook \u2014 東京 🍏",
    "supervised": True,
    "has_battery": False,
    "battery_level": 0.85,
    "count": 3,
    "nothing": None,
    "nested": {"list": [1, "two", {"three": 3.0}], "empty": {}},
}


@pytest.fixture
def store(database: Database) -> InventoryStore:
    return InventoryStore(database)


async def test_values_round_trip_with_their_json_types(store: InventoryStore) -> None:
    await store.merge("dev-1", VALUES)
    assert await store.get(["dev-1"]) == {"dev-1": VALUES}


async def test_merge_keeps_other_keys_and_the_last_write_wins(store: InventoryStore) -> None:
    await store.merge("dev-1", {"model": "Mac14,2", "sip_enabled": True, "last_source": "A"})
    await store.merge("dev-1", {"sip_enabled": False, "fde_enabled": True, "last_source": "B"})
    await store.merge("dev-1", {"last_source": "C"})
    assert await store.get(["dev-1"]) == {
        "dev-1": {
            "model": "Mac14,2",
            "sip_enabled": False,
            "fde_enabled": True,
            "last_source": "C",
        }
    }


async def test_a_value_may_change_type(store: InventoryStore) -> None:
    await store.merge("dev-1", {"k": "text"})
    await store.merge("dev-1", {"k": {"now": ["a", "dict"]}})
    assert await store.get(["dev-1"]) == {"dev-1": {"k": {"now": ["a", "dict"]}}}


async def test_merging_nothing_creates_no_record(store: InventoryStore) -> None:
    await store.merge("dev-1", {})
    assert await store.get(["dev-1"]) == {}


async def test_get_omits_unknown_ids_and_keeps_records_apart(store: InventoryStore) -> None:
    await store.merge("dev-1", {"model": "one"})
    await store.merge("dev-2", {"model": "two", "extra": 2})
    assert await store.get(["dev-2", "nope", "dev-1", "dev-2"]) == {
        "dev-1": {"model": "one"},
        "dev-2": {"extra": 2, "model": "two"},
    }
    assert await store.get(["nope"]) == {}
    assert await store.get([]) == {}


async def test_get_of_more_ids_than_one_query_takes(store: InventoryStore) -> None:
    ids = [f"dev-{n:04}" for n in range(inventory_module.IDS_PER_QUERY * 2 + 7)]
    for eid in ids[::50]:
        await store.merge(eid, {"serial_number": eid.upper()})
    found = await store.get(ids)
    assert found == {eid: {"serial_number": eid.upper()} for eid in ids[::50]}


async def test_delete_forgets_one_enrollment_only(store: InventoryStore) -> None:
    await store.merge("dev-1", {"model": "one", "prk": "secret"})
    await store.merge("dev-2", {"model": "two"})
    await store.delete("dev-1")
    await store.delete("never-stored")
    assert await store.get(["dev-1", "dev-2"]) == {"dev-2": {"model": "two"}}
    await store.merge("dev-1", {"model": "again"})
    assert await store.get(["dev-1"]) == {"dev-1": {"model": "again"}}


async def test_two_stores_on_one_database_see_each_others_writes(
    store: InventoryStore, database_url: str
) -> None:
    other = await Database.open(database_url)
    try:
        await InventoryStore(other).merge("dev-1", {"written_by": "other process"})
        assert await store.get(["dev-1"]) == {"dev-1": {"written_by": "other process"}}
    finally:
        await other.close()
