"""PayloadStore on both backends."""

from __future__ import annotations

import pytest

from mdmflow.mdm.plist import JsonValue
from mdmflow.store.database import Database
from mdmflow.store.payloads import PayloadNotFoundError, PayloadStore

NESTED: dict[str, JsonValue] = {
    "Status": "Acknowledged",
    "QueryResponses": {
        "DeviceName": "Zo\u00eb\u2019s iPhone \u2014 東京 🍏",
        "OSVersion": "17.4",
        "BatteryLevel": 0.85,
        "IsSupervised": True,
        "ServiceSubscriptions": [{"CarrierSettingsVersion": "58.0", "Slot": 1}, None],
    },
    "Empty": {},
    "List": [],
}


@pytest.fixture
def payloads(database: Database) -> PayloadStore:
    return PayloadStore(database)


def test_ref_for() -> None:
    assert PayloadStore.ref_for("dev-1", "uuid-1") == "dev-1/uuid-1"


async def test_put_then_get_round_trips(payloads: PayloadStore) -> None:
    ref = PayloadStore.ref_for("dev-1", "uuid-1")
    await payloads.put(ref, NESTED)
    assert await payloads.get(ref) == NESTED


async def test_get_unknown_raises(payloads: PayloadStore) -> None:
    with pytest.raises(PayloadNotFoundError, match="dev-1/missing"):
        await payloads.get("dev-1/missing")


async def test_put_twice_replaces(payloads: PayloadStore) -> None:
    await payloads.put("dev-1/uuid-1", NESTED)
    await payloads.put("dev-1/uuid-1", {"Status": "Error", "ErrorChain": [{"ErrorCode": 12021}]})
    assert await payloads.get("dev-1/uuid-1") == {
        "Status": "Error",
        "ErrorChain": [{"ErrorCode": 12021}],
    }


async def test_payloads_are_kept_apart(payloads: PayloadStore) -> None:
    await payloads.put("dev-1/uuid-1", {"n": 1})
    await payloads.put("dev-2/uuid-1", {"n": 2})
    assert await payloads.get("dev-1/uuid-1") == {"n": 1}
    assert await payloads.get("dev-2/uuid-1") == {"n": 2}
