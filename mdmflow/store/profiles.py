"""The profile subsystem's store: name → (identifier, UUID, the profile's bytes as uploaded).

Identifier and UUID are read from the profile once, at upload (see
:mod:`mdmflow.mdm.mobileconfig`), so listing and planning never parse profiles again. The bytes
are kept exactly as sent: a signed profile goes to devices with its signature intact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select

from mdmflow.mdm.mobileconfig import Mobileconfig
from mdmflow.store.database import Database
from mdmflow.store.dialect import upsert
from mdmflow.store.schema import profiles


class ProfileNotFoundError(LookupError):
    """Some named profiles are not in the store; ``missing`` lists them in the asked order."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        super().__init__(f"profile not found: {', '.join(self.missing)}")


class ProfileInfo(BaseModel):
    """What ``GET /v1/profiles`` shows and what the profile workflow compares with a device."""

    model_config = ConfigDict(frozen=True)
    identifier: str
    uuid: str
    signed: bool = False


class StoredProfile(ProfileInfo):
    """A profile with its bytes, ready to be sent in an ``InstallProfile``."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")
    raw: bytes


class ProfileStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, name: str, profile: Mobileconfig) -> None:
        """Store (or replace) the profile under ``name``."""
        row = {
            "name": name,
            "identifier": profile.identifier,
            "uuid": profile.uuid,
            "signed": profile.signed,
            "raw": profile.raw,
            "updated_at": dt.datetime.now(dt.UTC),
        }
        async with self._db.engine.begin() as conn:
            await conn.execute(upsert(self._db, profiles, ["name"]), row)

    async def infos(self, names: Sequence[str] | None = None) -> dict[str, ProfileInfo]:
        """The named profiles' infos (all profiles for None); raise if any name is missing."""
        stmt = select(profiles.c.name, profiles.c.identifier, profiles.c.uuid, profiles.c.signed)
        if names is not None:
            stmt = stmt.where(profiles.c.name.in_(list(dict.fromkeys(names))))
        async with self._db.engine.connect() as conn:
            rows = (await conn.execute(stmt.order_by(profiles.c.name))).all()
        found = {
            name: ProfileInfo(identifier=identifier, uuid=uuid, signed=signed)
            for name, identifier, uuid, signed in rows
        }
        _all_found(names, found)
        return found

    async def get(self, names: Sequence[str]) -> dict[str, StoredProfile]:
        """The named profiles with their bytes; raise if any name is missing."""
        stmt = select(profiles).where(profiles.c.name.in_(list(dict.fromkeys(names))))
        async with self._db.engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        found = {
            row["name"]: StoredProfile(
                identifier=row["identifier"],
                uuid=row["uuid"],
                signed=row["signed"],
                raw=bytes(row["raw"]),
            )
            for row in rows
        }
        _all_found(names, found)
        return found

    async def delete(self, name: str) -> bool:
        """Forget the profile; False if there was none (deleting is idempotent)."""
        stmt = delete(profiles).where(profiles.c.name == name)
        async with self._db.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount > 0


def _all_found(names: Sequence[str] | None, found: Mapping[str, object]) -> None:
    if names is None:
        return
    missing = [n for n in dict.fromkeys(names) if n not in found]
    if missing:
        raise ProfileNotFoundError(missing)
