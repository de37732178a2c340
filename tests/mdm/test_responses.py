"""Typed response models validate report payloads (JSON-safe text) and give bytes back."""

from __future__ import annotations

import plistlib
from typing import Any

import pytest
from pydantic import ValidationError

from mdmflow.mdm.reports import ParsedReport
from mdmflow.mdm.responses import (
    CertificateListResponse,
    DeviceInformationResponse,
    DeviceLockResponse,
    InstallApplicationResponse,
    ProfileListResponse,
    RotateFileVaultKeyResponse,
    SecurityInfoResponse,
)

UDID = "9353BC9A-5CF9-4C9E-9AD4-8D1E41D5FE3E"
# Stand-ins for DER blobs: a CMS EnvelopedData header and a certificate header, not UTF-8.
PRK_CMS = b"\x30\x82\x01\xa7\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03\xa0\xff\x00"
CERT_DER = b"\x30\x82\x03\x16\x30\x82\x01\xfe\xa0\x03\x02\x01\x02\x02\x14\x6a"


def payload_of(result_keys: dict[str, Any], status: str = "Acknowledged") -> dict[str, Any]:
    body = {"CommandUUID": "0001_X", "Status": status, "UDID": UDID, **result_keys}
    return dict(ParsedReport.from_plist(plistlib.dumps(body)).payload)


def test_device_information() -> None:
    payload = payload_of({"QueryResponses": {"SerialNumber": "Z3C2FCE2C0", "IsAppleSilicon": True}})
    response = DeviceInformationResponse.model_validate(payload)
    assert response.query_responses == {"SerialNumber": "Z3C2FCE2C0", "IsAppleSilicon": True}


def test_device_information_requires_query_responses() -> None:
    with pytest.raises(ValidationError, match="QueryResponses"):
        DeviceInformationResponse.model_validate(payload_of({}))


def test_security_info_cms_comes_back_as_bytes() -> None:
    payload = payload_of(
        {
            "SecurityInfo": {
                "FDE_Enabled": True,
                "FDE_HasPersonalRecoveryKey": True,
                "FDE_PersonalRecoveryKeyCMS": PRK_CMS,
                "FDE_PersonalRecoveryKeyDeviceKey": "Z3C2FCE2C0",
                "SystemIntegrityProtectionEnabled": True,
                "FirewallSettings": {"FirewallEnabled": False},
            }
        }
    )
    info = SecurityInfoResponse.model_validate(payload).security_info
    assert info.fde_enabled is True
    assert info.fde_has_personal_recovery_key is True
    assert info.fde_personal_recovery_key_cms == PRK_CMS
    assert info.system_integrity_protection_enabled is True
    # Undeclared keys are kept, never dropped.
    extra = info.model_extra or {}
    assert extra["FDE_PersonalRecoveryKeyDeviceKey"] == "Z3C2FCE2C0"
    assert extra["FirewallSettings"] == {"FirewallEnabled": False}


def test_security_info_ios_has_no_fde_keys() -> None:
    payload = payload_of({"SecurityInfo": {"HardwareEncryptionCaps": 3, "PasscodePresent": False}})
    info = SecurityInfoResponse.model_validate(payload).security_info
    assert info.fde_enabled is None
    assert info.fde_personal_recovery_key_cms is None


def test_profile_list() -> None:
    payload = payload_of(
        {
            "ProfileList": [
                {
                    "PayloadIdentifier": "com.example.wifi",
                    "PayloadUUID": "69A4E5FE-75D1-4297-BD32-540710ED6360",
                    "PayloadDisplayName": "Wi-Fi",
                    "PayloadVersion": 1,
                    "SignerCertificates": [CERT_DER],
                },
                {"PayloadIdentifier": "com.example.bare", "PayloadUUID": "U2"},
            ]
        }
    )
    profiles = ProfileListResponse.model_validate(payload).profile_list
    assert [(p.payload_identifier, p.payload_uuid) for p in profiles] == [
        ("com.example.wifi", "69A4E5FE-75D1-4297-BD32-540710ED6360"),
        ("com.example.bare", "U2"),
    ]
    assert profiles[0].payload_display_name == "Wi-Fi"
    assert profiles[1].payload_display_name is None


def test_profile_list_item_needs_identifier_and_uuid() -> None:
    with pytest.raises(ValidationError, match="PayloadUUID"):
        ProfileListResponse.model_validate(
            payload_of({"ProfileList": [{"PayloadIdentifier": "x"}]})
        )


def test_certificate_list_data_is_bytes() -> None:
    payload = payload_of(
        {"CertificateList": [{"CommonName": "filevault", "IsIdentity": True, "Data": CERT_DER}]}
    )
    (cert,) = CertificateListResponse.model_validate(payload).certificate_list
    assert cert.common_name == "filevault"
    assert cert.is_identity is True
    assert cert.data == CERT_DER


def test_device_lock_message_result() -> None:
    response = DeviceLockResponse.model_validate(payload_of({"MessageResult": "Success"}))
    assert response.message_result == "Success"
    assert DeviceLockResponse.model_validate(payload_of({})).message_result is None


def test_rotate_filevault_key_personal_and_institutional() -> None:
    personal = RotateFileVaultKeyResponse.model_validate(
        payload_of({"RotateResult": {"EncryptedNewRecoveryKey": PRK_CMS}})
    )
    assert personal.rotate_result is not None
    assert personal.rotate_result.encrypted_new_recovery_key == PRK_CMS
    institutional = RotateFileVaultKeyResponse.model_validate(payload_of({"RotateResult": {}}))
    assert institutional.rotate_result is not None
    assert institutional.rotate_result.encrypted_new_recovery_key is None
    assert RotateFileVaultKeyResponse.model_validate(payload_of({})).rotate_result is None


def test_install_application_state() -> None:
    payload = payload_of({"Identifier": "com.apple.TVRemote", "State": "Installing"})
    response = InstallApplicationResponse.model_validate(payload)
    assert response.identifier == "com.apple.TVRemote"
    assert response.state == "Installing"
    assert response.rejection_reason is None


def test_typed_bytes_survive_a_json_hop() -> None:
    """Payloads cross Temporal as JSON; the CMS must come out byte-identical on the far side."""
    report = ParsedReport.from_plist(
        plistlib.dumps(
            {
                "CommandUUID": "c",
                "Status": "Acknowledged",
                "UDID": UDID,
                "SecurityInfo": {"FDE_PersonalRecoveryKeyCMS": PRK_CMS},
            }
        )
    )
    hopped = ParsedReport.model_validate_json(report.model_dump_json())
    info = SecurityInfoResponse.model_validate(hopped.payload).security_info
    assert info.fde_personal_recovery_key_cms == PRK_CMS
