"""What a simulated device answers to a command: report plist dictionaries, built purely.

:func:`answer` never mutates the device. State changes (a profile installed or removed) come
back as :attr:`Answer.change` and the simulator applies them only once the report reached the
server, so a command whose report was lost is re-run against the same state and answers the
same way. Keys and error codes follow Apple's device-management yaml and real device reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mdmflow.mdm.plist import PlistError, load_dict
from mdmflow.mdm.reports import CommandStatus
from mdmflow.simulator import device_filevault, keychain
from mdmflow.simulator.certificates import Certificate
from mdmflow.simulator.devices import SimulatedDevice, SimulatedUser
from mdmflow.simulator.profiles import (
    DeviceProfile,
    ProfileError,
    profile_list_item,
    read_profile,
)

Change = Callable[[SimulatedDevice], None]
_Result = tuple[dict[str, Any], Change | None]
RotateHook = Callable[[SimulatedDevice, Mapping[str, Any]], dict[str, Any]]
"""Builds the ``RotateResult`` of a RotateFileVaultKey (FileVault escrow tests plug in here)."""

UNKNOWN_REQUEST_TYPE = {
    "ErrorCode": 12021,
    "ErrorDomain": "MCMDMErrorDomain",
    "LocalizedDescription": "Unknown request type",
    "USEnglishDescription": "Unknown request type",
}
PROFILE_NOT_INSTALLABLE = {
    "ErrorCode": 4001,
    "ErrorDomain": "MCInstallationErrorDomain",
    "LocalizedDescription": "The profile could not be installed",
    "USEnglishDescription": "The profile could not be installed",
}
FILEVAULT_UNLOCK_FAILED = {
    "ErrorCode": 12080,
    "ErrorDomain": "MCMDMErrorDomain",
    "LocalizedDescription": "The FileVault unlock credentials are not valid.",
    "USEnglishDescription": "The FileVault unlock credentials are not valid.",
}
SIMULATED_FAILURES: tuple[tuple[dict[str, Any], ...], ...] = (
    (
        {
            "ErrorCode": -909,
            "ErrorDomain": "NSOSStatusErrorDomain",
            "LocalizedDescription": " <NSOSStatusErrorDomain:-909>",
        },
    ),
    (
        {
            "ErrorCode": 12000,
            "ErrorDomain": "MCMDMErrorDomain",
            "LocalizedDescription": "The MDM command could not be completed.",
            "USEnglishDescription": "The MDM command could not be completed.",
        },
        {
            "ErrorCode": 60,
            "ErrorDomain": "NSPOSIXErrorDomain",
            "LocalizedDescription": "The operation couldn\u2019t be completed. Operation timed out",
        },
    ),
)
"""ErrorChains for randomly failed commands: the -909 one is what a Mac sent for a failed
InstallProfile; the second has the two-item shape (top-level error, then its cause) devices use."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A report plus the device state change to apply once the server received it."""

    report: dict[str, Any]
    change: Change | None = None

    @property
    def status(self) -> str:
        return str(self.report["Status"])


class _CommandFailedError(Exception):
    def __init__(self, status: CommandStatus, *chain: Mapping[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.chain = [dict(item) for item in chain]


def envelope(
    device: SimulatedDevice,
    status: CommandStatus,
    command_uuid: str = "",
    user: SimulatedUser | None = None,
) -> dict[str, Any]:
    """The keys every report has; a user-channel report names the user as devices do."""
    report: dict[str, Any] = {"Status": str(status), "UDID": device.udid}
    if command_uuid:
        report["CommandUUID"] = command_uuid
    if user is not None:
        report["UserID"] = user.user_id
        report["UserShortName"] = user.short_name
        report["UserLongName"] = user.long_name
    return report


def error_report(
    device: SimulatedDevice,
    command_uuid: str,
    chain: tuple[Mapping[str, Any], ...],
    user: SimulatedUser | None = None,
) -> dict[str, Any]:
    report = envelope(device, CommandStatus.ERROR, command_uuid, user)
    report["ErrorChain"] = [dict(item) for item in chain]
    return report


def answer(
    device: SimulatedDevice,
    command: Mapping[str, Any],
    *,
    user: SimulatedUser | None = None,
    rotate_hook: RotateHook | None = None,
) -> Answer:
    """The Acknowledged (or Error/CommandFormatError) report for a parsed command plist."""
    command_uuid = str(command.get("CommandUUID", ""))
    body = command.get("Command")
    body = body if isinstance(body, Mapping) else {}
    request_type = body.get("RequestType")
    try:
        if request_type == "RotateFileVaultKey" and rotate_hook is not None:  # scripted
            keys: dict[str, Any] = {"RotateResult": rotate_hook(device, body)}
            change = None
        elif (handler := _HANDLERS.get(str(request_type))) is not None:
            keys, change = handler(device, body, user)
        else:
            raise _CommandFailedError(CommandStatus.ERROR, UNKNOWN_REQUEST_TYPE)
    except _CommandFailedError as failed:
        report = envelope(device, failed.status, command_uuid, user)
        if failed.chain:
            report["ErrorChain"] = failed.chain
        return Answer(report)
    report = envelope(device, CommandStatus.ACKNOWLEDGED, command_uuid, user)
    report.update(keys)
    return Answer(report, change)


def device_information(device: SimulatedDevice) -> dict[str, Any]:
    """Every DeviceInformation query this device can answer (others are simply absent)."""
    info: dict[str, Any] = {
        "UDID": device.udid,
        "SerialNumber": device.serial_number,
        "Model": device.model,
        "ModelName": device.model_name,
        "ProductName": device.product_name,
        "DeviceName": device.device_name,
        "OSVersion": device.os_version,
        "BuildVersion": device.build_version,
        "DeviceCapacity": device.device_capacity,
        "AvailableDeviceCapacity": device.available_capacity,
        "WiFiMAC": device.wifi_mac,
        "BluetoothMAC": device.bluetooth_mac,
        "IsSupervised": device.supervised,
        "IsMultiUser": False,
        "AwaitingConfiguration": device.awaiting_configuration,
    }
    if device.has_battery:
        info["BatteryLevel"] = device.battery_level
    if device.is_macos:
        info.update(
            {
                "EthernetMAC": device.ethernet_mac,
                "IsAppleSilicon": device.is_apple_silicon,
                "HasBattery": device.has_battery,
                "SupportsLOMDevice": False,
                "HostName": f"{device.local_host_name}.local",
                "LocalHostName": device.local_host_name,
                "SystemIntegrityProtectionEnabled": device.sip_enabled,
            }
        )
    return info


def security_info(device: SimulatedDevice, *, user_channel: bool = False) -> dict[str, Any]:
    """The SecurityInfo dictionary; FDE keys are absent on the user channel, as on devices."""
    management = {
        "EnrolledViaDEP": device.supervised,
        "IsUserEnrollment": False,
        "UserApprovedEnrollment": True,
    }
    if not device.is_macos:
        return {
            "HardwareEncryptionCaps": 3,
            "PasscodePresent": True,
            "PasscodeCompliant": True,
            "PasscodeCompliantWithProfiles": True,
            "PasscodeLockGracePeriodEnforced": 0,
            "ManagementStatus": management,
        }
    silicon = device.is_apple_silicon
    info: dict[str, Any] = {
        "SystemIntegrityProtectionEnabled": device.sip_enabled,
        "AuthenticatedRootVolumeEnabled": True,
        "FirewallSettings": {
            "FirewallEnabled": device.firewall_enabled,
            "BlockAllIncoming": False,
            "StealthMode": False,
            "AllowSigned": True,
            "AllowSignedApp": True,
            "Applications": [],
            "LoggingEnabled": True,
            "LoggingOption": "throttled",
        },
        "FirmwarePasswordStatus": (
            {} if silicon else {"PasswordExists": False, "ChangePending": False, "AllowOroms": True}
        ),
        "ManagementStatus": {**management, "IsActivationLockManageable": device.supervised},
        "SecureBoot": {
            "SecureBootLevel": "full",
            "ExternalBootLevel": "not supported" if silicon else "disallowed",
            "WindowsBootLevel": "not supported",
        },
        "RemoteDesktopEnabled": False,
        "BootstrapTokenAllowedForAuthentication": "allowed" if silicon else "not supported",
        "BootstrapTokenRequiredForSoftwareUpdate": False,
        "BootstrapTokenRequiredForKernelExtensionApproval": False,
        "IsRecoveryLockEnabled": False,
    }
    if not user_channel:
        info["FDE_Enabled"] = device.fde_enabled
        info["FDE_HasPersonalRecoveryKey"] = device.fde_enabled
        info["FDE_HasInstitutionalRecoveryKey"] = False
    return info


def _device_information(
    device: SimulatedDevice, body: Mapping[str, Any], user: SimulatedUser | None
) -> _Result:
    queries = body.get("Queries")
    if not isinstance(queries, list):
        raise _CommandFailedError(CommandStatus.COMMAND_FORMAT_ERROR)
    known = device_information(device)
    return {"QueryResponses": {q: known[q] for q in queries if q in known}}, None


def _security_info(
    device: SimulatedDevice, body: Mapping[str, Any], user: SimulatedUser | None
) -> _Result:
    info = security_info(device, user_channel=user is not None)
    if user is not None or not device.is_macos:
        return {"SecurityInfo": info}, None
    keys, change = _filevault_poll(device)
    info.update(keys)
    return {"SecurityInfo": info}, change


def _filevault_poll(device: SimulatedDevice) -> tuple[dict[str, Any], Change | None]:
    """The FDE keys of one SecurityInfo answer; after the enable profile, this poll may be
    the one that turns FileVault on (the change applies it once the report is delivered)."""
    vault = device.filevault
    enabled, key, change = device.fde_enabled, vault.recovery_key, None
    if not enabled and vault.enable_requested:
        polls = vault.polls_since_enable + 1
        if vault.enable_after_polls is not None and polls >= vault.enable_after_polls:
            enabled, key = True, device_filevault.new_recovery_key()
        change = _after_poll(polls, enabled, key)
    keys: dict[str, Any] = {
        "FDE_Enabled": enabled,
        "FDE_HasPersonalRecoveryKey": enabled and key is not None,
        "FDE_HasInstitutionalRecoveryKey": False,
    }
    if enabled and key is not None and vault.escrow_certificate is not None:
        keys["FDE_PersonalRecoveryKeyCMS"] = (
            device_filevault.damaged_envelope()
            if vault.corrupt_envelope
            else device_filevault.encrypt_envelope(
                key.encode(), vault.escrow_certificate, vault.cipher
            )
        )
        keys["FDE_PersonalRecoveryKeyDeviceKey"] = device.serial_number
    return keys, change


def _after_poll(polls: int, enabled: bool, key: str | None) -> Change:
    def apply(device: SimulatedDevice) -> None:
        device.filevault.polls_since_enable = polls
        device.fde_enabled = enabled
        device.filevault.recovery_key = key

    return apply


def _profile_list(
    device: SimulatedDevice, body: Mapping[str, Any], user: SimulatedUser | None
) -> _Result:
    managed_only = bool(body.get("ManagedOnly", False))
    items = [
        profile_list_item(profile, ios=not device.is_macos)
        for profile in device.profiles.values()
        if profile.managed or not managed_only
    ]
    return {"ProfileList": items}, None


def _install_profile(
    device: SimulatedDevice, body: Mapping[str, Any], user: SimulatedUser | None
) -> _Result:
    payload = body.get("Payload")
    if not isinstance(payload, bytes):
        raise _CommandFailedError(CommandStatus.COMMAND_FORMAT_ERROR)
    try:
        profile = read_profile(payload, managed=True)
    except ProfileError:
        raise _CommandFailedError(CommandStatus.ERROR, PROFILE_NOT_INSTALLABLE) from None
    if profile.identifier in device.refused_profiles:
        raise _CommandFailedError(CommandStatus.ERROR, *SIMULATED_FAILURES[0])
    try:
        escrow = device_filevault.escrow_settings(load_dict(payload))
    except PlistError:  # a signed profile: FileVault payloads are not simulated inside one
        escrow = device_filevault.EscrowSettings(enable=False, certificate=None)
    return {}, lambda target: _install(target, profile, escrow)


def _install(
    device: SimulatedDevice, profile: DeviceProfile, escrow: device_filevault.EscrowSettings
) -> None:
    device.profiles[profile.identifier] = profile
    device.certificates = keychain.with_profile(device.certificates, profile)
    if escrow.enable:
        device.filevault.enable_requested = True
    if escrow.certificate is not None:
        device.filevault.escrow_certificate = escrow.certificate


def _remove_profile(
    device: SimulatedDevice, body: Mapping[str, Any], user: SimulatedUser | None
) -> _Result:
    identifier = body.get("Identifier")
    if not isinstance(identifier, str):
        raise _CommandFailedError(CommandStatus.COMMAND_FORMAT_ERROR)
    profile = device.profiles.get(identifier)
    if profile is None or not profile.managed:
        text = f"The profile “{identifier}” is not managed by MDM."
        raise _CommandFailedError(
            CommandStatus.ERROR,
            {
                "ErrorCode": 12013,
                "ErrorDomain": "MCMDMErrorDomain",
                "LocalizedDescription": text,
                "USEnglishDescription": text,
            },
        )
    return {}, lambda target: _remove(target, identifier)


def _remove(device: SimulatedDevice, identifier: str) -> None:
    del device.profiles[identifier]
    device.certificates = keychain.without_profile(device.certificates, identifier)


def _certificate_list(
    device: SimulatedDevice, body: Mapping[str, Any], user: SimulatedUser | None
) -> _Result:
    managed_only = bool(body.get("ManagedOnly", False))
    items = [
        {"CommonName": cert.common_name, "IsIdentity": cert.is_identity, "Data": cert.der}
        for cert in device.certificates
        if not managed_only or _managed_certificate(device, cert)
    ]
    return {"CertificateList": items}, None


def _managed_certificate(device: SimulatedDevice, cert: Certificate) -> bool:
    """ManagedOnly lists what MDM-installed profiles put there (not the enrollment's own)."""
    profile = device.profiles.get(cert.profile) if cert.profile is not None else None
    return profile is not None and profile.managed


def _device_lock(
    device: SimulatedDevice, body: Mapping[str, Any], user: SimulatedUser | None
) -> _Result:
    pin = body.get("PIN")
    if pin is not None and not (isinstance(pin, str) and len(pin) == 6 and pin.isdigit()):
        raise _CommandFailedError(CommandStatus.COMMAND_FORMAT_ERROR)
    return {"MessageResult": "Success"}, lambda target: _locked(target, pin)


def _locked(device: SimulatedDevice, pin: str | None) -> None:
    device.lock_pin = pin


def _rotate_filevault_key(
    device: SimulatedDevice, body: Mapping[str, Any], user: SimulatedUser | None
) -> _Result:
    """A personal key rotation: the current key unlocks; the new one comes back encrypted to
    ``ReplyEncryptionCertificate``. Institutional rotation answers an empty RotateResult."""
    unlock = body.get("FileVaultUnlock")
    if body.get("KeyType") not in ("personal", "institutional") or not isinstance(unlock, Mapping):
        raise _CommandFailedError(CommandStatus.COMMAND_FORMAT_ERROR)
    current = device.filevault.recovery_key
    if not device.fde_enabled or current is None or unlock.get("Password") != current:
        raise _CommandFailedError(CommandStatus.ERROR, FILEVAULT_UNLOCK_FAILED)
    if body["KeyType"] == "institutional":
        return {"RotateResult": {}}, None
    certificate = body.get("ReplyEncryptionCertificate")
    if not isinstance(certificate, bytes):
        raise _CommandFailedError(CommandStatus.COMMAND_FORMAT_ERROR)
    new_key = device_filevault.new_recovery_key()
    envelope = device_filevault.encrypt_envelope(
        new_key.encode(), certificate, device.filevault.cipher
    )
    return {"RotateResult": {"EncryptedNewRecoveryKey": envelope}}, lambda target: _rotated(
        target, new_key
    )


def _rotated(device: SimulatedDevice, key: str) -> None:
    device.filevault.recovery_key = key


def _device_configured(
    device: SimulatedDevice, body: Mapping[str, Any], user: SimulatedUser | None
) -> _Result:
    return {}, _configured


def _configured(device: SimulatedDevice) -> None:
    device.awaiting_configuration = False


def _install_application(
    device: SimulatedDevice, body: Mapping[str, Any], user: SimulatedUser | None
) -> _Result:
    keys: dict[str, Any] = {"State": "Queued"}
    identifier = body.get("Identifier")
    if isinstance(identifier, str):
        keys["Identifier"] = identifier
    return keys, None


_Handler = Callable[[SimulatedDevice, Mapping[str, Any], SimulatedUser | None], _Result]
_HANDLERS: dict[str, _Handler] = {
    "DeviceInformation": _device_information,
    "SecurityInfo": _security_info,
    "ProfileList": _profile_list,
    "InstallProfile": _install_profile,
    "RemoveProfile": _remove_profile,
    "CertificateList": _certificate_list,
    "DeviceLock": _device_lock,
    "RotateFileVaultKey": _rotate_filevault_key,
    "DeviceConfigured": _device_configured,
    "InstallApplication": _install_application,
}
