"""Read the stored values a command names, for the enqueue activity.

Runs in the activity, so what it reads (profile bytes, a PIN, a recovery key) reaches the MDM
server without ever entering workflow history. What cannot be read is a
:class:`StoredValueError`: the step cannot be sent as the workflow meant it.
"""

from __future__ import annotations

from typing import Any

from mdmflow.mdm.commands import MDMCommand
from mdmflow.mdm.mobileconfig import MobileconfigError, replace_text
from mdmflow.mdm.stored import StoredValue
from mdmflow.store.profiles import ProfileNotFoundError, ProfileStore
from mdmflow.store.secrets import InventorySecretStore


class StoredValueError(LookupError):
    """A stored value is missing or unusable; the message names it, never its content."""


class StoredValueReader:
    def __init__(self, profiles: ProfileStore, secrets: InventorySecretStore) -> None:
        self._profiles = profiles
        self._secrets = secrets

    async def read(self, enrollment_id: str, command: MDMCommand) -> dict[StoredValue, Any]:
        return {value: await self._one(enrollment_id, value) for value in command.stored}

    async def _one(self, enrollment_id: str, value: StoredValue) -> Any:
        if value.secret:
            return await self._secret(enrollment_id, value.secret)
        try:
            raw = (await self._profiles.get([value.profile]))[value.profile].raw
        except ProfileNotFoundError as exc:
            raise StoredValueError(str(exc)) from None
        if not value.replacements:
            return raw
        replacements = {
            r.old: (await self._secret(enrollment_id, r.new_secret)) if r.new_secret else r.new
            for r in value.replacements
        }
        try:
            return replace_text(raw, replacements)
        except MobileconfigError as exc:
            raise StoredValueError(f"profile {value.profile!r}: {exc}") from None

    async def _secret(self, enrollment_id: str, key: str) -> str:
        found = await self._secrets.get_one(enrollment_id, key)
        if found is None:
            raise StoredValueError(f"no secret {key!r} is stored for {enrollment_id}")
        return found
