"""Inputs and results of the FileVault activities (workflows import them pass-through).

Some carry secrets (the current recovery key inside a RotateFileVaultKey command): they
cross Temporal only inside the encrypting payload codec, and are plain ``str``/``bytes``
fields, never ``SecretStr``, which would serialize as stars and lose the value.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mdmflow.mdm.commands import RotateFileVaultKey

FV_ENABLE_PROFILE_ACTIVITY = "filevault_enable_profile"
FV_ESCROW_ACTIVITY = "filevault_escrow_recovery_key"
FV_ROTATE_COMMAND_ACTIVITY = "filevault_rotate_command"

PRK_SECRET = "prk"
"""The inventory key of the recovery key (NanoCMD's), kept sealed with the secrets."""
PRK_SOURCE = "InvPRK"
"""NanoCMD's ``last_source`` for a recovery-key write."""

_BYTES_AS_BASE64 = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")


class ProfileSource(StrEnum):
    STORE = "store"
    BUILT_IN = "built-in"


class EnableProfileRequest(BaseModel):
    """Build the enable profile stored under ``profile_name`` (else the built-in one)."""

    model_config = ConfigDict(frozen=True)
    profile_name: str = Field(min_length=1)


class EnableProfile(BaseModel):
    """The InstallProfile payload with the escrow certificate in, or why there is none."""

    model_config = _BYTES_AS_BASE64
    source: ProfileSource
    payload: bytes = b""
    problem: str = ""


class EscrowRequest(BaseModel):
    """Decrypt a recovery-key envelope from the device and store the key."""

    model_config = _BYTES_AS_BASE64
    enrollment_id: str = Field(min_length=1)
    envelope: bytes
    workflow_name: str
    escrowed_at: datetime


class EscrowOutcome(BaseModel):
    """``escrowed`` or the reason it was not (never the key itself)."""

    model_config = ConfigDict(frozen=True)
    escrowed: bool
    problem: str = ""


class RotateCommandRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    enrollment_id: str = Field(min_length=1)


class RotateCommand(BaseModel):
    """The RotateFileVaultKey to send (it holds the current key), or why it cannot be sent."""

    model_config = ConfigDict(frozen=True)
    command: RotateFileVaultKey | None = None
    problem: str = ""
