"""Command models serialize to Apple's plist keys and cross Temporal as exact JSON."""

from __future__ import annotations

import base64
import json
import plistlib
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from mdmflow.activities.models import QueuedCommand
from mdmflow.mdm.commands import (
    AnyCommand,
    CertificateList,
    DeviceConfigured,
    DeviceInformation,
    DeviceLock,
    FileVaultUnlock,
    InstallApplication,
    InstallApplicationOptions,
    InstallProfile,
    MDMCommand,
    ProfileList,
    RemoveProfile,
    RotateFileVaultKey,
    SecurityInfo,
)

# A tiny .mobileconfig plus bytes that are not UTF-8, so base64 handling is really exercised.
PROFILE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
    b"<key>PayloadIdentifier</key><string>com.example.wifi</string>"
    b"<key>PayloadType</key><string>Configuration</string></dict></plist>\n"
)
DER_CERT = b"\x30\x82\x01\x0a\x02\x82\x01\x01\x00\xff\xfe\x00\x80"

ADAPTER: TypeAdapter[MDMCommand] = TypeAdapter(AnyCommand)


def plist_of(command: MDMCommand, uuid: str = "0001_Test") -> dict[str, Any]:
    body = plistlib.loads(command.to_plist(uuid))
    assert isinstance(body, dict)
    assert body["CommandUUID"] == uuid
    assert set(body) == {"Command", "CommandUUID"}
    return body


def command_of(command: MDMCommand) -> dict[str, Any]:
    inner = plist_of(command)["Command"]
    assert isinstance(inner, dict)
    assert next(iter(command.command_dict())) == "RequestType"
    return inner


ALL_COMMANDS: list[MDMCommand] = [
    DeviceInformation(queries=["UDID", "DeviceName", "OSVersion", "SerialNumber"]),
    SecurityInfo(),
    ProfileList(managed_only=True),
    InstallProfile(payload=PROFILE + DER_CERT),
    RemoveProfile(identifier="com.example.wifi"),
    CertificateList(managed_only=False),
    InstallApplication(
        itunes_store_id=1096834193,
        management_flags=1,
        options=InstallApplicationOptions(purchase_method=1),
    ),
    DeviceConfigured(),
    DeviceLock(pin="123456", message="Returned to IT", phone_number="408-555-5555"),
    RotateFileVaultKey(
        key_type="personal",
        file_vault_unlock=FileVaultUnlock(password="ABCD-EFGH-IJKL-MNOP-QRST-UVWX"),
        reply_encryption_certificate=DER_CERT,
    ),
]


def test_device_information_queries() -> None:
    command = DeviceInformation(queries=["UDID", "DeviceName"])
    assert command_of(command) == {
        "RequestType": "DeviceInformation",
        "Queries": ["UDID", "DeviceName"],
    }


def test_security_info_has_only_request_type() -> None:
    assert command_of(SecurityInfo()) == {"RequestType": "SecurityInfo"}


def test_profile_list_managed_only_false_is_kept_none_is_omitted() -> None:
    assert command_of(ProfileList(managed_only=False)) == {
        "RequestType": "ProfileList",
        "ManagedOnly": False,
    }
    assert command_of(ProfileList()) == {"RequestType": "ProfileList"}


def test_install_profile_payload_is_plist_data() -> None:
    command = InstallProfile(payload=PROFILE)
    raw = command.to_plist("0001_InstallProfile")
    assert b"<key>Payload</key>\n\t\t<data>" in raw
    assert command_of(command) == {"RequestType": "InstallProfile", "Payload": PROFILE}


def test_remove_profile_identifier() -> None:
    assert command_of(RemoveProfile(identifier="com.acme.myprofile")) == {
        "RequestType": "RemoveProfile",
        "Identifier": "com.acme.myprofile",
    }


def test_certificate_list() -> None:
    assert command_of(CertificateList(managed_only=True)) == {
        "RequestType": "CertificateList",
        "ManagedOnly": True,
    }


def test_install_application_keys_and_omitted_none() -> None:
    enterprise = InstallApplication(
        manifest_url="https://mdm.example.com/app.plist", management_flags=0
    )
    assert command_of(enterprise) == {
        "RequestType": "InstallApplication",
        "ManifestURL": "https://mdm.example.com/app.plist",
        "ManagementFlags": 0,
    }
    store = InstallApplication(
        itunes_store_id=1096834193, options=InstallApplicationOptions(purchase_method=1)
    )
    assert command_of(store) == {
        "RequestType": "InstallApplication",
        "iTunesStoreID": 1096834193,
        "Options": {"PurchaseMethod": 1},
    }
    assert command_of(InstallApplication(identifier="com.example.app")) == {
        "RequestType": "InstallApplication",
        "Identifier": "com.example.app",
    }


def test_device_configured() -> None:
    assert command_of(DeviceConfigured()) == {"RequestType": "DeviceConfigured"}


def test_device_lock_pin_only_omits_message_and_phone() -> None:
    assert command_of(DeviceLock(pin="123456")) == {"RequestType": "DeviceLock", "PIN": "123456"}
    assert command_of(DeviceLock(message="Lock Message", phone_number="408-555-5555")) == {
        "RequestType": "DeviceLock",
        "Message": "Lock Message",
        "PhoneNumber": "408-555-5555",
    }


def test_rotate_filevault_key_personal() -> None:
    command = RotateFileVaultKey(
        key_type="personal",
        file_vault_unlock=FileVaultUnlock(password="ABCD-EFGH-IJKL-MNOP-QRST-UVWX"),
        reply_encryption_certificate=DER_CERT,
    )
    assert command_of(command) == {
        "RequestType": "RotateFileVaultKey",
        "KeyType": "personal",
        "FileVaultUnlock": {"Password": "ABCD-EFGH-IJKL-MNOP-QRST-UVWX"},
        "ReplyEncryptionCertificate": DER_CERT,
    }


def test_rotate_filevault_key_institutional_new_certificate() -> None:
    command = RotateFileVaultKey(
        key_type="institutional",
        file_vault_unlock=FileVaultUnlock(password="mypassword"),
        new_certificate=DER_CERT,
    )
    assert command_of(command) == {
        "RequestType": "RotateFileVaultKey",
        "KeyType": "institutional",
        "FileVaultUnlock": {"Password": "mypassword"},
        "NewCertificate": DER_CERT,
    }


def test_rotate_filevault_key_rejects_unknown_key_type() -> None:
    with pytest.raises(ValidationError, match="KeyType"):
        RotateFileVaultKey.model_validate(
            {"KeyType": "recovery", "FileVaultUnlock": {"Password": "x"}}
        )


def test_only_queries_are_read_only() -> None:
    """The engine asks a read-only command again when its answer may be lost; a command that
    changes the device must never be one of them."""
    read_only = {type(c).__name__ for c in ALL_COMMANDS if c.read_only}
    assert read_only == {"DeviceInformation", "SecurityInfo", "ProfileList", "CertificateList"}


def test_unknown_apple_key_is_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        DeviceLock.model_validate({"RequestType": "DeviceLock", "Pin": "123456"})


def test_request_type_is_fixed_per_class() -> None:
    with pytest.raises(ValidationError):
        DeviceLock.model_validate({"RequestType": "EraseDevice"})


def test_commands_are_frozen() -> None:
    command = RemoveProfile(identifier="a")
    with pytest.raises(ValidationError):
        command.identifier = "b"  # type: ignore[misc]


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: type(c).__name__)
def test_queued_command_json_round_trip_is_exact(command: MDMCommand) -> None:
    queued = QueuedCommand(command_uuid="7e761ec5-9e20-42d1-9072-3d5a611e3ac5", command=command)
    text = queued.model_dump_json()
    back = QueuedCommand.model_validate_json(text)
    assert back == queued
    assert type(back.command) is type(command)
    assert back.command.command_dict() == command.command_dict()
    assert back.command.to_plist("u") == command.to_plist("u")


def test_queued_command_bytes_travel_as_base64_text() -> None:
    queued = QueuedCommand(command_uuid="u1", command=InstallProfile(payload=b"\x00\xff\xfe"))
    data = json.loads(queued.model_dump_json())
    # pydantic writes URL-safe base64; it reads both alphabets back.
    assert data["command"]["payload"] == "AP_-"
    assert base64.urlsafe_b64decode(data["command"]["payload"]) == b"\x00\xff\xfe"
    data["command"]["payload"] = "AP/+"
    assert QueuedCommand.model_validate_json(json.dumps(data)) == queued


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"request_type": "SecurityInfo"}, SecurityInfo),
        ({"RequestType": "SecurityInfo"}, SecurityInfo),
        ({"RequestType": "DeviceLock", "PIN": "123456"}, DeviceLock),
        ({"request_type": "RemoveProfile", "identifier": "com.x"}, RemoveProfile),
        ({"RequestType": "ProfileList", "ManagedOnly": True}, ProfileList),
        ({"RequestType": "CertificateList"}, CertificateList),
        ({"RequestType": "DeviceConfigured"}, DeviceConfigured),
        ({"RequestType": "DeviceInformation", "Queries": ["UDID"]}, DeviceInformation),
        ({"RequestType": "InstallApplication", "iTunesStoreID": 1}, InstallApplication),
        ({"RequestType": "InstallProfile", "Payload": b"x"}, InstallProfile),
        (
            {"RequestType": "RotateFileVaultKey", "KeyType": "personal", "FileVaultUnlock": {}},
            RotateFileVaultKey,
        ),
    ],
)
def test_discriminator_picks_the_class(data: dict[str, Any], expected: type[MDMCommand]) -> None:
    assert type(ADAPTER.validate_python(data)) is expected
    queued = QueuedCommand.model_validate({"command_uuid": "u", "command": data})
    assert type(queued.command) is expected


def test_discriminator_rejects_unknown_request_type() -> None:
    with pytest.raises(ValidationError, match="EraseDevice"):
        ADAPTER.validate_python({"RequestType": "EraseDevice"})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"Queries": ["UDID"]})
