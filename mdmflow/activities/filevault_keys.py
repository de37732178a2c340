"""The FileVault subsystem's activities: enable profile, recovery-key escrow, rotate command.

Every one is idempotent: the escrow identity is created once and then only read, a decrypted
key is stored under fixed keys (a retry writes the same values), and the others only read.
Problems a device or an admin can cause (a damaged envelope, a profile without a certificate
placeholder, no key escrowed yet) come back as a ``problem`` text for the workflow to decide
on; none of them ever contains a key.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

from mdmflow.activities.filevault_models import (
    FV_ENABLE_PROFILE_ACTIVITY,
    FV_ESCROW_ACTIVITY,
    FV_ROTATE_COMMAND_ACTIVITY,
    PRK_SECRET,
    PRK_SOURCE,
    EnableProfile,
    EnableProfileRequest,
    EscrowOutcome,
    EscrowRequest,
    ProfileSource,
    RotateCommand,
    RotateCommandRequest,
)
from mdmflow.filevault.envelope import EnvelopeError, decrypt_envelope, recovery_key
from mdmflow.filevault.identity import EscrowIdentity
from mdmflow.filevault.profile import TEMPLATE, ProfileTemplateError, insert_certificate
from mdmflow.mdm.commands import FileVaultUnlock, RotateFileVaultKey
from mdmflow.mdm.stored import StoredValue
from mdmflow.store.escrow_identity import EscrowIdentityStore
from mdmflow.store.inventory import InventoryStore
from mdmflow.store.profiles import ProfileNotFoundError, ProfileStore
from mdmflow.store.secrets import InventorySecretStore

log = logging.getLogger(__name__)


class FileVaultActivities:
    """Activities bound to one worker's app database; the escrow identity is cached."""

    def __init__(
        self,
        identities: EscrowIdentityStore,
        profiles: ProfileStore,
        inventory: InventoryStore,
        secrets: InventorySecretStore,
    ) -> None:
        self._identities = identities
        self._profiles = profiles
        self._inventory = inventory
        self._secrets = secrets
        self._identity: EscrowIdentity | None = None

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for the worker's registration."""
        return [self.enable_profile, self.escrow_recovery_key, self.rotate_command]

    async def identity(self) -> EscrowIdentity:
        if self._identity is None:
            self._identity = await self._identities.get_or_create()
        return self._identity

    @activity.defn(name=FV_ENABLE_PROFILE_ACTIVITY)
    async def enable_profile(self, request: EnableProfileRequest) -> EnableProfile:
        """The stored profile named after the workflow, else the built-in template, with the
        escrow certificate in place of its placeholder."""
        try:
            [stored] = (await self._profiles.get([request.profile_name])).values()
        except ProfileNotFoundError:
            template, source = TEMPLATE, ProfileSource.BUILT_IN
        else:
            if stored.signed:
                return EnableProfile(
                    source=ProfileSource.STORE,
                    problem=f"profile {request.profile_name!r} is signed: inserting the escrow "
                    "certificate would break its signature; upload it unsigned",
                )
            template, source = stored.raw, ProfileSource.STORE
        identity = await self.identity()
        try:
            payload = insert_certificate(template, identity.certificate_der)
        except ProfileTemplateError as exc:
            return EnableProfile(source=source, problem=f"profile {request.profile_name!r}: {exc}")
        return EnableProfile(source=source, payload=payload)

    @activity.defn(name=FV_ESCROW_ACTIVITY)
    async def escrow_recovery_key(self, request: EscrowRequest) -> EscrowOutcome:
        """Decrypt the envelope with the escrow key and store the recovery key sealed."""
        identity = await self.identity()
        try:
            plaintext = decrypt_envelope(
                request.envelope, identity.private_key, identity.certificate_der
            )
            key = recovery_key(plaintext)
        except EnvelopeError as exc:
            return EscrowOutcome(escrowed=False, problem=str(exc))
        await self._secrets.put(request.enrollment_id, {PRK_SECRET: key})
        when = request.escrowed_at.isoformat()
        await self._inventory.merge(
            request.enrollment_id,
            {"last_source": PRK_SOURCE, "modified": when, "prk_escrowed_at": when},
        )
        log.info(
            "escrowed a FileVault recovery key",
            extra={"enrollment_id": request.enrollment_id, "workflow": request.workflow_name},
        )
        return EscrowOutcome(escrowed=True)

    @activity.defn(name=FV_ROTATE_COMMAND_ACTIVITY)
    async def rotate_command(self, request: RotateCommandRequest) -> RotateCommand:
        """NanoCMD's rotation: the current key unlocks, the new one comes back to our cert.

        The current key is only named here: the enqueue activity reads it from the sealed
        store, so it is never in workflow history."""
        current = await self._secrets.get_one(request.enrollment_id, PRK_SECRET)
        if current is None:
            return RotateCommand(
                problem="no FileVault recovery key is escrowed for this enrollment; "
                "run io.micromdm.wf.fvenable.v1 first"
            )
        identity = await self.identity()
        return RotateCommand(
            command=RotateFileVaultKey(
                key_type="personal",
                file_vault_unlock=FileVaultUnlock(),
                reply_encryption_certificate=identity.certificate_der,
                stored=(StoredValue(key=("FileVaultUnlock", "Password"), secret=PRK_SECRET),),
            )
        )
