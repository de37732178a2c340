"""Report building as pure functions: the keys devices send, and nothing changes until applied."""

from __future__ import annotations

import plistlib
from typing import Any

from mdmflow.mdm.reports import CommandStatus, ParsedReport
from mdmflow.mdm.responses import (
    CertificateListResponse,
    DeviceInformationResponse,
    InstallApplicationResponse,
    ProfileListResponse,
    SecurityInfoResponse,
)
from mdmflow.simulator import generate_fleet
from mdmflow.simulator.devices import SimulatedDevice
from mdmflow.simulator.responses import answer


def _command(request_type: str, **keys: Any) -> dict[str, Any]:
    return {"CommandUUID": "0001", "Command": {"RequestType": request_type, **keys}}


def _parsed(device: SimulatedDevice, request_type: str, **keys: Any) -> ParsedReport:
    result = answer(device, _command(request_type, **keys))
    return ParsedReport.from_plist(plistlib.dumps(result.report))


def test_device_information_answers_only_known_queries() -> None:
    mac = generate_fleet(1, seed=2)[0]
    report = _parsed(mac, "DeviceInformation", Queries=["UDID", "HostName", "SIMMCC", "Locales"])
    info = DeviceInformationResponse.model_validate(report.payload).query_responses
    assert info == {"UDID": mac.udid, "HostName": f"{mac.local_host_name}.local"}
    bad = _parsed(mac, "DeviceInformation")
    assert bad.status is CommandStatus.COMMAND_FORMAT_ERROR
    assert bad.error_chain == []


def test_security_info_by_platform() -> None:
    mac = generate_fleet(1, seed=2)[0]
    details = SecurityInfoResponse.model_validate(_parsed(mac, "SecurityInfo").payload)
    assert details.security_info.fde_enabled is mac.fde_enabled
    assert details.security_info.system_integrity_protection_enabled is mac.sip_enabled
    phone = generate_fleet(1, seed=2, ios_ratio=1.0)[0]
    ios = _parsed(phone, "SecurityInfo").payload["SecurityInfo"]
    assert isinstance(ios, dict)
    assert "FDE_Enabled" not in ios
    assert ios["PasscodePresent"] is True


def test_profile_and_certificate_lists() -> None:
    mac = generate_fleet(1, seed=2)[0]
    everything = ProfileListResponse.model_validate(_parsed(mac, "ProfileList").payload)
    assert [p.payload_identifier for p in everything.profile_list] == [
        "com.example.mdmflow.enrollment"
    ]
    managed = _parsed(mac, "ProfileList", ManagedOnly=True).payload
    assert managed == {"ProfileList": []}
    certs = CertificateListResponse.model_validate(_parsed(mac, "CertificateList").payload)
    assert [(c.common_name, c.is_identity) for c in certs.certificate_list] == [
        (cert.common_name, cert.is_identity) for cert in mac.certificates
    ]
    assert certs.certificate_list[1].data == mac.certificates[1].der


def test_changes_apply_only_when_asked() -> None:
    mac = generate_fleet(1, seed=2)[0]
    profile = plistlib.dumps(
        {"PayloadIdentifier": "com.example.p", "PayloadUUID": "U1", "PayloadContent": []}
    )
    installed = answer(mac, _command("InstallProfile", Payload=profile))
    assert installed.status == "Acknowledged"
    assert installed.change is not None
    assert "com.example.p" not in mac.profiles
    installed.change(mac)
    assert mac.profiles["com.example.p"].managed

    mac.awaiting_configuration = True
    configured = answer(mac, _command("DeviceConfigured"))
    assert configured.change is not None
    configured.change(mac)
    assert mac.awaiting_configuration is False

    enrollment = answer(mac, _command("RemoveProfile", Identifier="com.example.mdmflow.enrollment"))
    assert enrollment.status == "Error"
    assert enrollment.change is None


def test_install_application_and_envelope() -> None:
    mac = generate_fleet(1, seed=2)[0]
    report = _parsed(mac, "InstallApplication", Identifier="com.example.app")
    app = InstallApplicationResponse.model_validate(report.payload)
    assert (app.identifier, app.state) == ("com.example.app", "Queued")
    assert (report.command_uuid, report.udid) == ("0001", mac.udid)
    store = _parsed(mac, "InstallApplication", iTunesStoreID=409183694)
    assert store.payload == {"State": "Queued"}
