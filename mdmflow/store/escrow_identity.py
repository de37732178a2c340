"""The FileVault escrow identity, created once per deployment and kept in the app database.

The first worker that needs it generates it and inserts it if no row exists yet; whichever
insert wins, every process then reads the same row, so all devices encrypt to one certificate.
The private key is sealed at rest.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select

from mdmflow.crypto.sealed import SecretBox
from mdmflow.filevault.identity import EscrowIdentity, generate_identity
from mdmflow.store.database import Database
from mdmflow.store.dialect import insert_ignore
from mdmflow.store.schema import filevault_escrow

IDENTITY_NAME = "default"
_CONTEXT = f"filevault_escrow/{IDENTITY_NAME}"


def _context(name: str) -> str:
    return f"filevault_escrow/{name}"


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
            await conn.execute(insert_ignore(self._db, filevault_escrow, ["name"]), row)
        stored = await self._load()
        assert stored is not None, "escrow identity vanished right after its insert"
        return stored

    async def current(self) -> EscrowIdentity | None:
        """The deployment's identity, or None before anything needed (or imported) one."""
        return await self._load()

    async def install(self, identity: EscrowIdentity, *, keep_previous_as: str) -> bool:
        """Make ``identity`` the deployment's (importing NanoCMD's, whose certificate devices
        already encrypt to). The identity in place, if any, is kept under ``keep_previous_as``,
        sealed for that name, so envelopes made for it can still be opened by hand; True if
        there was one. Workers cache the identity: restart them after replacing it."""
        previous = await self._load()
        async with self._db.engine.begin() as conn:
            if previous is not None:
                await conn.execute(
                    insert(filevault_escrow).values(self._row(keep_previous_as, previous))
                )
                await conn.execute(
                    delete(filevault_escrow).where(filevault_escrow.c.name == IDENTITY_NAME)
                )
            await conn.execute(insert(filevault_escrow).values(self._row(IDENTITY_NAME, identity)))
        return previous is not None

    def _row(self, name: str, identity: EscrowIdentity) -> dict[str, object]:
        return {
            "name": name,
            "certificate_der": identity.certificate_der,
            "private_key_sealed": self._box.seal(identity.private_key_pem(), _context(name)),
            "created_at": dt.datetime.now(dt.UTC),
        }

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
