"""MDM commands as typed models; the engine adds the CommandUUID and serializes the plist.

Field aliases are Apple's key names, so ``model_dump(by_alias=True)`` is the ``Command``
dictionary of the protocol. Every command is one pydantic model so it crosses Temporal as
readable JSON and round-trips exactly (``bytes`` as base64).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from mdmflow.mdm.plist import dump_xml
from mdmflow.mdm.stored import MissingStoredValueError, StoredValue, TextReplacement


class MDMCommand(BaseModel):
    """Base of every command model: the request type plus Apple's keys as aliases."""

    model_config = ConfigDict(
        populate_by_name=True,
        frozen=True,
        ser_json_bytes="base64",
        val_json_bytes="base64",
        extra="forbid",
    )
    request_type: str = Field(alias="RequestType")
    stored: tuple[StoredValue, ...] = ()
    """Values the enqueue activity reads from the app database when it builds the plist:
    profile bytes and secrets never travel in workflow history. Not part of the plist."""
    read_only: ClassVar[bool] = False
    """A query that changes nothing on the device, so asking again is always safe: the engine
    re-sends it with a fresh CommandUUID when its answer may have been lost."""

    def command_dict(self, filled: Mapping[StoredValue, Any] | None = None) -> dict[str, Any]:
        """The protocol's ``Command`` dictionary (RequestType first, absent keys omitted), with
        each stored value set from ``filled``."""
        command = self.model_dump(
            by_alias=True, exclude_none=True, exclude={"stored"}, mode="python"
        )
        for value in self.stored:
            if filled is None or value not in filled:
                raise MissingStoredValueError(f"{self.request_type} needs {value.describe()}")
            *parents, last = value.key
            target = command
            for part in parents:
                target = target.setdefault(part, {})
            target[last] = filled[value]
        return command

    def to_plist(self, command_uuid: str, filled: Mapping[StoredValue, Any] | None = None) -> bytes:
        """The full command plist as enqueued to the MDM server."""
        return dump_xml({"Command": self.command_dict(filled), "CommandUUID": command_uuid})


class DeviceInformation(MDMCommand):
    request_type: Literal["DeviceInformation"] = Field(
        default="DeviceInformation", alias="RequestType"
    )
    queries: list[str] = Field(alias="Queries")
    read_only: ClassVar[bool] = True


class SecurityInfo(MDMCommand):
    request_type: Literal["SecurityInfo"] = Field(default="SecurityInfo", alias="RequestType")
    read_only: ClassVar[bool] = True


class ProfileList(MDMCommand):
    request_type: Literal["ProfileList"] = Field(default="ProfileList", alias="RequestType")
    managed_only: bool | None = Field(default=None, alias="ManagedOnly")
    read_only: ClassVar[bool] = True


class InstallProfile(MDMCommand):
    request_type: Literal["InstallProfile"] = Field(default="InstallProfile", alias="RequestType")
    payload: bytes = Field(default=b"", alias="Payload")

    @classmethod
    def from_store(cls, name: str, replacements: Sequence[TextReplacement] = ()) -> InstallProfile:
        """Install the stored profile ``name``; its bytes are read (and edited) at enqueue."""
        stored = StoredValue(key=("Payload",), profile=name, replacements=tuple(replacements))
        return cls(stored=(stored,))


class RemoveProfile(MDMCommand):
    request_type: Literal["RemoveProfile"] = Field(default="RemoveProfile", alias="RequestType")
    identifier: str = Field(alias="Identifier")


class CertificateList(MDMCommand):
    request_type: Literal["CertificateList"] = Field(default="CertificateList", alias="RequestType")
    managed_only: bool | None = Field(default=None, alias="ManagedOnly")
    read_only: ClassVar[bool] = True


class InstallApplicationOptions(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")
    purchase_method: int | None = Field(default=None, alias="PurchaseMethod")


class InstallApplication(MDMCommand):
    request_type: Literal["InstallApplication"] = Field(
        default="InstallApplication", alias="RequestType"
    )
    manifest_url: str | None = Field(default=None, alias="ManifestURL")
    itunes_store_id: int | None = Field(default=None, alias="iTunesStoreID")
    identifier: str | None = Field(default=None, alias="Identifier")
    management_flags: int | None = Field(default=None, alias="ManagementFlags")
    options: InstallApplicationOptions | None = Field(default=None, alias="Options")


class DeviceConfigured(MDMCommand):
    request_type: Literal["DeviceConfigured"] = Field(
        default="DeviceConfigured", alias="RequestType"
    )


class DeviceLock(MDMCommand):
    request_type: Literal["DeviceLock"] = Field(default="DeviceLock", alias="RequestType")
    pin: str | None = Field(default=None, alias="PIN", repr=False)
    message: str | None = Field(default=None, alias="Message")
    phone_number: str | None = Field(default=None, alias="PhoneNumber")


class FileVaultUnlock(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")
    password: str | None = Field(default=None, alias="Password", repr=False)


class RotateFileVaultKey(MDMCommand):
    request_type: Literal["RotateFileVaultKey"] = Field(
        default="RotateFileVaultKey", alias="RequestType"
    )
    key_type: Literal["personal", "institutional"] = Field(alias="KeyType")
    file_vault_unlock: FileVaultUnlock = Field(alias="FileVaultUnlock")
    reply_encryption_certificate: bytes | None = Field(
        default=None, alias="ReplyEncryptionCertificate"
    )
    new_certificate: bytes | None = Field(default=None, alias="NewCertificate")


AnyCommand = Annotated[
    DeviceInformation
    | SecurityInfo
    | ProfileList
    | InstallProfile
    | RemoveProfile
    | CertificateList
    | InstallApplication
    | DeviceConfigured
    | DeviceLock
    | RotateFileVaultKey,
    Field(discriminator="request_type"),
]
"""Every command a workflow can send; the discriminator keeps JSON round-trips typed."""
