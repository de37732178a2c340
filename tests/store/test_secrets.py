"""Sealed inventory secrets and the escrow identity on SQLite and PostgreSQL: ciphertext in
the rows, one identity per deployment however many workers ask at once."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from mdmflow.crypto.sealed import SecretBox
from mdmflow.store.database import Database
from mdmflow.store.escrow_identity import EscrowIdentityStore
from mdmflow.store.schema import filevault_escrow, inventory_secrets
from mdmflow.store.secrets import InventorySecretStore
from tests.support.codec import TEST_KEYRING

PRK = "ABCD-EFGH-JKLM-NPQR-STUV-WXYZ"


async def test_secrets_are_sealed_in_the_rows_and_open_for_their_enrollment(
    database: Database,
) -> None:
    store = InventorySecretStore(database, SecretBox(TEST_KEYRING))
    await store.put("E1", {"prk": PRK, "io.micromdm.wf.lock.v1.pin": "123456"})
    await store.put("E2", {"prk": "OTHER"})
    await store.put("E1", {"prk": PRK.lower()})  # last write wins per key
    async with database.engine.connect() as conn:
        rows = (await conn.execute(select(inventory_secrets.c.sealed))).scalars().all()
    assert len(rows) == 3
    assert all(r.startswith("v1:test-1:") for r in rows)
    assert not any(PRK.lower() in r or "123456" in r or "OTHER" in r for r in rows)
    assert await store.get(["E1", "E2", "E3"]) == {
        "E1": {"io.micromdm.wf.lock.v1.pin": "123456", "prk": PRK.lower()},
        "E2": {"prk": "OTHER"},
    }
    assert await store.get_one("E3", "prk") is None


async def test_escrow_identity_is_created_once_and_its_key_is_sealed(database: Database) -> None:
    box = SecretBox(TEST_KEYRING)
    stores = [EscrowIdentityStore(database, box) for _ in range(4)]
    identities = await asyncio.gather(*(s.get_or_create() for s in stores))
    assert len({i.certificate_der for i in identities}) == 1
    again = await EscrowIdentityStore(database, box).get_or_create()
    assert again.certificate_der == identities[0].certificate_der
    async with database.engine.connect() as conn:
        rows = (await conn.execute(select(filevault_escrow))).mappings().all()
    assert len(rows) == 1
    assert "PRIVATE KEY" not in rows[0]["private_key_sealed"]
