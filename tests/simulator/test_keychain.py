"""A simulated device's certificates follow its profiles: a SCEP payload enrolls an identity
from the simulator's CA, a certificate payload adds a certificate, RemoveProfile takes them
away, and ManagedOnly lists only what MDM profiles installed."""

from __future__ import annotations

import datetime as dt
import plistlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from mdmflow.mdm.reports import ParsedReport
from mdmflow.mdm.responses import CertificateListResponse, ProfileListResponse
from mdmflow.simulator import generate_fleet
from mdmflow.simulator.certificates import CA_NAME, issue_certificate
from mdmflow.simulator.devices import SimulatedDevice
from mdmflow.simulator.responses import answer
from tests.support.signing import signer
from tests.workflows.content import mobileconfig, scep_profile

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def run(device: SimulatedDevice, request_type: str, **keys: Any) -> ParsedReport:
    """Answer like a session does: report first, then apply the change."""
    result = answer(device, {"CommandUUID": "1", "Command": {"RequestType": request_type, **keys}})
    if result.change is not None:
        result.change(device)
    return ParsedReport.from_plist(plistlib.dumps(result.report))


def certificate_list(device: SimulatedDevice, managed_only: bool) -> list[tuple[str, bool]]:
    listed = CertificateListResponse.model_validate(
        run(device, "CertificateList", ManagedOnly=managed_only).payload
    )
    return [(c.common_name, c.is_identity) for c in listed.certificate_list]


def test_scep_profile_enrolls_an_identity_and_remove_takes_it_away() -> None:
    mac = generate_fleet(1, seed=9)[0]
    fleet_certs = certificate_list(mac, managed_only=False)
    assert certificate_list(mac, managed_only=True) == []

    raw = scep_profile("com.example.identity").replace(b"%CN%", b"mac-1")
    assert run(mac, "InstallProfile", Payload=raw).status == "Acknowledged"
    assert certificate_list(mac, managed_only=True) == [("mac-1", True)]
    assert certificate_list(mac, managed_only=False) == [*fleet_certs, ("mac-1", True)]

    [issued] = [c for c in mac.certificates if c.profile == "com.example.identity"]
    ca = x509.load_der_x509_certificate(mac.certificates[0].der)
    identity = x509.load_der_x509_certificate(issued.der)
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == CA_NAME
    identity.verify_directly_issued_by(ca)  # a real chain to the fleet's CA
    assert identity.not_valid_after_utc - identity.not_valid_before_utc == dt.timedelta(days=365)

    run(mac, "InstallProfile", Payload=raw.replace(b"mac-1", b"mac-2"))  # a reinstall replaces
    assert certificate_list(mac, managed_only=True) == [("mac-2", True)]

    assert run(mac, "RemoveProfile", Identifier="com.example.identity").status == "Acknowledged"
    assert certificate_list(mac, managed_only=True) == []
    assert certificate_list(mac, managed_only=False) == fleet_certs


def test_certificate_payloads_add_plain_certificates() -> None:
    mac = generate_fleet(1, seed=9)[0]
    root = issue_certificate("Example Root", not_after=NOW, is_identity=False)
    pem = signer().certificate.public_bytes(serialization.Encoding.PEM)
    payloads = [
        {
            "PayloadType": "com.apple.security.root",
            "PayloadVersion": 1,
            "PayloadIdentifier": "com.example.certs.root",
            "PayloadUUID": "R",
            "PayloadContent": root.der,
        },
        {
            "PayloadType": "com.apple.security.pem",
            "PayloadVersion": 1,
            "PayloadIdentifier": "com.example.certs.pem",
            "PayloadUUID": "P",
            "PayloadContent": pem,
        },
    ]
    run(mac, "InstallProfile", Payload=mobileconfig("com.example.certs", payloads=payloads))
    assert certificate_list(mac, managed_only=True) == [
        ("Example Root", False),
        ("mdmflow test profile signer (rsa)", False),
    ]


def test_profile_list_reflects_install_and_remove_of_a_signed_profile() -> None:
    mac = generate_fleet(1, seed=9)[0]
    signed = signer().sign(mobileconfig("com.example.signed", "S-1"))
    assert run(mac, "InstallProfile", Payload=signed).status == "Acknowledged"
    listed = ProfileListResponse.model_validate(run(mac, "ProfileList", ManagedOnly=True).payload)
    assert [(p.payload_identifier, p.payload_uuid) for p in listed.profile_list] == [
        ("com.example.signed", "S-1")
    ]
    run(mac, "RemoveProfile", Identifier="com.example.signed")
    assert run(mac, "ProfileList", ManagedOnly=True).payload == {"ProfileList": []}


def test_a_refused_profile_answers_the_devices_error() -> None:
    mac = generate_fleet(1, seed=9)[0]
    mac.refused_profiles.add("com.example.refused")
    refused = run(mac, "InstallProfile", Payload=mobileconfig("com.example.refused"))
    assert refused.status == "Error"
    assert [(e.error_domain, e.error_code) for e in refused.error_chain] == [
        ("NSOSStatusErrorDomain", -909)
    ]
    assert "com.example.refused" not in mac.profiles
