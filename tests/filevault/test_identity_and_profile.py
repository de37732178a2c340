"""The escrow identity (NanoCMD's certificate) and the enable profile built from the template."""

from __future__ import annotations

import plistlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from mdmflow.filevault.identity import EscrowIdentity, generate_identity
from mdmflow.filevault.profile import (
    PLACEHOLDER,
    PROFILE_IDENTIFIER,
    TEMPLATE,
    ProfileTemplateError,
    insert_certificate,
)
from mdmflow.simulator.device_filevault import escrow_settings


def test_identity_is_a_ten_year_rsa_2048_filevault_certificate() -> None:
    identity = generate_identity()
    cert = x509.load_der_x509_certificate(identity.certificate_der)
    assert cert.subject.rfc4514_string() == "CN=filevault"
    assert cert.issuer == cert.subject
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 3650
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_encipherment
    assert usage.digital_signature
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048
    assert public.public_numbers() == identity.private_key.public_key().public_numbers()
    again = EscrowIdentity.from_pem(identity.certificate_der, identity.private_key_pem())
    assert again.private_key.private_numbers() == identity.private_key.private_numbers()
    assert "PRIVATE" not in repr(identity)


def test_template_is_a_valid_plist_with_nanocmds_payloads() -> None:
    body = plistlib.loads(TEMPLATE)
    assert body["PayloadIdentifier"] == PROFILE_IDENTIFIER
    kinds = {p["PayloadType"]: p for p in body["PayloadContent"]}
    escrow = kinds["com.apple.security.FDERecoveryKeyEscrow"]
    filevault = kinds["com.apple.MCX.FileVault2"]
    certificate = kinds["com.apple.security.pkcs1"]
    assert escrow["Location"] == "MDM server"
    assert escrow["EncryptCertPayloadUUID"] == certificate["PayloadUUID"]
    assert (filevault["Enable"], filevault["Defer"], filevault["ShowRecoveryKey"]) == (
        "On",
        True,
        False,
    )
    assert filevault["DeferForceAtUserLoginMaxBypassAttempts"] == 0
    assert certificate["PayloadContent"] == PLACEHOLDER.encode()


def test_certificate_replaces_the_placeholder_and_a_device_finds_it() -> None:
    identity = generate_identity()
    profile = insert_certificate(TEMPLATE, identity.certificate_der)
    settings = escrow_settings(plistlib.loads(profile))
    assert settings.enable
    assert settings.certificate == identity.certificate_der


def test_nanocmds_placeholder_form_is_recognised() -> None:
    nanocmd = TEMPLATE.replace(b"X19DRVJUSUZJQ0FURV9f", PLACEHOLDER.encode())
    profile = insert_certificate(nanocmd, b"\x30\x03\x02\x01\x01")
    assert PLACEHOLDER.encode() not in profile
    assert plistlib.loads(profile)["PayloadContent"][2]["PayloadContent"] == b"0\x03\x02\x01\x01"


def test_profile_without_a_placeholder_is_refused() -> None:
    with pytest.raises(ProfileTemplateError, match="no <data>__CERTIFICATE__</data> placeholder"):
        insert_certificate(plistlib.dumps({"PayloadIdentifier": "x"}), b"cert")
