"""Typed views of command-specific report keys, validated from a report's JSON payload.

Only the keys a workflow reads are declared; everything else stays in the payload (extra keys
are kept), so a model never drops what a device said.
"""

from __future__ import annotations

from pydantic import Base64Bytes, BaseModel, ConfigDict, Field

from mdmflow.mdm.plist import JsonValue


class ResponseModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow", frozen=True)


class DeviceInformationResponse(ResponseModel):
    query_responses: dict[str, JsonValue] = Field(alias="QueryResponses")


class SecurityInfoDetails(ResponseModel):
    fde_enabled: bool | None = Field(default=None, alias="FDE_Enabled")
    fde_has_personal_recovery_key: bool | None = Field(
        default=None, alias="FDE_HasPersonalRecoveryKey"
    )
    fde_personal_recovery_key_cms: Base64Bytes | None = Field(
        default=None, alias="FDE_PersonalRecoveryKeyCMS"
    )
    system_integrity_protection_enabled: bool | None = Field(
        default=None, alias="SystemIntegrityProtectionEnabled"
    )


class SecurityInfoResponse(ResponseModel):
    security_info: SecurityInfoDetails = Field(alias="SecurityInfo")


class InstalledProfile(ResponseModel):
    payload_identifier: str = Field(alias="PayloadIdentifier")
    payload_uuid: str = Field(alias="PayloadUUID")
    payload_display_name: str | None = Field(default=None, alias="PayloadDisplayName")


class ProfileListResponse(ResponseModel):
    profile_list: list[InstalledProfile] = Field(alias="ProfileList")


class InstalledCertificate(ResponseModel):
    common_name: str = Field(default="", alias="CommonName")
    is_identity: bool = Field(default=False, alias="IsIdentity")
    data: Base64Bytes = Field(alias="Data")


class CertificateListResponse(ResponseModel):
    certificate_list: list[InstalledCertificate] = Field(alias="CertificateList")


class DeviceLockResponse(ResponseModel):
    message_result: str | None = Field(default=None, alias="MessageResult")


class RotateResult(ResponseModel):
    encrypted_new_recovery_key: Base64Bytes | None = Field(
        default=None, alias="EncryptedNewRecoveryKey"
    )


class RotateFileVaultKeyResponse(ResponseModel):
    rotate_result: RotateResult | None = Field(default=None, alias="RotateResult")


class InstallApplicationResponse(ResponseModel):
    identifier: str | None = Field(default=None, alias="Identifier")
    state: str | None = Field(default=None, alias="State")
    rejection_reason: str | None = Field(default=None, alias="RejectionReason")
