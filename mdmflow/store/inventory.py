"""Inventory: per enrollment ID, a map of keys to JSON values (NanoCMD's inventory subsystem).

Writers merge keys into the record, last write wins; a key is never removed by a merge. One
row per (enrollment ID, key), so concurrent writers of different keys never overwrite each other.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from itertools import islice

from sqlalchemy import delete, select

from mdmflow.mdm.plist import JsonValue
from mdmflow.store.database import Database
from mdmflow.store.dialect import upsert
from mdmflow.store.schema import inventory

IDS_PER_QUERY = 500
"""IDs per ``IN (...)`` query, well below SQLite's and asyncpg's bound-parameter limits."""


class InventoryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def merge(self, enrollment_id: str, values: Mapping[str, JsonValue]) -> None:
        """Set these keys on the enrollment's record; other keys keep their values."""
        if not values:
            return
        now = dt.datetime.now(dt.UTC)
        rows = [
            {
                "enrollment_id": enrollment_id,
                "key": key,
                "value_json": json.dumps(value),
                "updated_at": now,
            }
            for key, value in values.items()
        ]
        stmt = upsert(self._db, inventory, ["enrollment_id", "key"])
        async with self._db.engine.begin() as conn:
            await conn.execute(stmt, rows)

    async def get(self, enrollment_ids: Sequence[str]) -> dict[str, dict[str, JsonValue]]:
        """The records of these IDs, keys sorted; IDs without any value are left out."""
        found: dict[str, dict[str, JsonValue]] = {}
        wanted = iter(dict.fromkeys(enrollment_ids))
        async with self._db.engine.connect() as conn:
            while chunk := list(islice(wanted, IDS_PER_QUERY)):
                stmt = (
                    select(inventory.c.enrollment_id, inventory.c.key, inventory.c.value_json)
                    .where(inventory.c.enrollment_id.in_(chunk))
                    .order_by(inventory.c.enrollment_id, inventory.c.key)
                )
                for eid, key, text in await conn.execute(stmt):
                    found.setdefault(eid, {})[key] = json.loads(text)
        return found

    async def delete(self, enrollment_id: str) -> None:
        """Forget every value of the enrollment (it is then absent from :meth:`get`)."""
        stmt = delete(inventory).where(inventory.c.enrollment_id == enrollment_id)
        async with self._db.engine.begin() as conn:
            await conn.execute(stmt)
