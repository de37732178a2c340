"""Inventory secrets (FileVault recovery keys, lock PINs), sealed at rest.

They sit beside the plain inventory, in their own table, one sealed value per (enrollment ID,
key): a database dump or backup shows ciphertext only, and the inventory API adds them to a
record only when an authenticated caller asks for them. Each value is sealed with its row as
context, so a value copied to another enrollment or key does not open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from itertools import islice

from sqlalchemy import delete, select

from mdmflow.crypto.sealed import SecretBox
from mdmflow.store.database import Database
from mdmflow.store.dialect import upsert
from mdmflow.store.inventory import IDS_PER_QUERY
from mdmflow.store.schema import inventory_secrets


def _context(enrollment_id: str, key: str) -> str:
    return f"inventory/{enrollment_id}/{key}"


class InventorySecretStore:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    async def put(self, enrollment_id: str, secrets: Mapping[str, str]) -> None:
        """Seal and store these keys for the enrollment; last write wins per key."""
        await self.seal([enrollment_id], secrets)

    async def seal(self, enrollment_ids: Sequence[str], secrets: Mapping[str, str]) -> None:
        """Seal and store these keys for each enrollment (a start's secrets, such as certprof's
        text replacements, go to every device of the start); last write wins per key."""
        if not secrets:
            return
        now = dt.datetime.now(dt.UTC)
        rows = [
            {
                "enrollment_id": enrollment_id,
                "key": key,
                "sealed": self._box.seal(value.encode(), _context(enrollment_id, key)),
                "updated_at": now,
            }
            for enrollment_id in enrollment_ids
            for key, value in secrets.items()
        ]
        # rows as parameters (executemany): no statement grows with a fleet's size
        stmt = upsert(self._db, inventory_secrets, ["enrollment_id", "key"])
        async with self._db.engine.begin() as conn:
            await conn.execute(stmt, rows)

    async def get(self, enrollment_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """The opened secrets of these IDs; IDs without any are left out."""
        found: dict[str, dict[str, str]] = {}
        wanted = iter(dict.fromkeys(enrollment_ids))
        async with self._db.engine.connect() as conn:
            while chunk := list(islice(wanted, IDS_PER_QUERY)):
                stmt = (
                    select(
                        inventory_secrets.c.enrollment_id,
                        inventory_secrets.c.key,
                        inventory_secrets.c.sealed,
                    )
                    .where(inventory_secrets.c.enrollment_id.in_(chunk))
                    .order_by(inventory_secrets.c.enrollment_id, inventory_secrets.c.key)
                )
                for eid, key, sealed in await conn.execute(stmt):
                    opened = self._box.open(sealed, _context(eid, key))
                    found.setdefault(eid, {})[key] = opened.decode()
        return found

    async def get_one(self, enrollment_id: str, key: str) -> str | None:
        return (await self.get([enrollment_id])).get(enrollment_id, {}).get(key)

    async def keys_written_before(self, prefix: str, when: dt.datetime) -> list[str]:
        """The keys beginning with ``prefix`` (of any enrollment) last written before ``when``."""
        stmt = (
            select(inventory_secrets.c.key)
            .where(
                inventory_secrets.c.key.startswith(prefix, autoescape=True),
                inventory_secrets.c.updated_at < when,
            )
            .distinct()
        )
        async with self._db.engine.connect() as conn:
            return [str(k) for k in (await conn.execute(stmt)).scalars()]

    async def delete_keys(self, prefix: str) -> None:
        """Delete the keys beginning with ``prefix``, of every enrollment."""
        stmt = delete(inventory_secrets).where(
            inventory_secrets.c.key.startswith(prefix, autoescape=True)
        )
        async with self._db.engine.begin() as conn:
            await conn.execute(stmt)
