"""The FileVault escrow identity, created once per deployment and kept in the app database.

The first worker that needs it generates it and inserts it if no row exists yet; whichever
insert wins, every process then reads the same row, so all devices encrypt to one certificate.
The private key is sealed at rest.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from mdmflow.crypto.sealed import SecretBox
from mdmflow.filevault.identity import EscrowIdentity, generate_identity
from mdmflow.store.database import Database
from mdmflow.store.dialect import insert_ignore
from mdmflow.store.schema import filevault_escrow

IDENTITY_NAME = "default"
_CONTEXT = f"filevault_escrow/{IDENTITY_NAME}"


class EscrowIdentityStore:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    async def get_or_create(self) -> EscrowIdentity:
        """The deployment's identity, generated and stored on first use."""
        found = await self._load()
        if found is not None:
            return found
        fresh = generate_identity()
        row = {
            "name": IDENTITY_NAME,
            "certificate_der": fresh.certificate_der,
            "private_key_sealed": self._box.seal(fresh.private_key_pem(), _CONTEXT),
            "created_at": dt.datetime.now(dt.UTC),
        }
        async with self._db.engine.begin() as conn:
            await conn.execute(insert_ignore(self._db, filevault_escrow, row, ["name"]))
        stored = await self._load()
        assert stored is not None, "escrow identity vanished right after its insert"
        return stored

    async def _load(self) -> EscrowIdentity | None:
        stmt = select(
            filevault_escrow.c.certificate_der, filevault_escrow.c.private_key_sealed
        ).where(filevault_escrow.c.name == IDENTITY_NAME)
        async with self._db.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        certificate, sealed = row
        return EscrowIdentity.from_pem(bytes(certificate), self._box.open(sealed, _CONTEXT))
