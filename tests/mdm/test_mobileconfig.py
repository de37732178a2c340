"""Profiles as uploaded: XML, binary and CMS-signed ones read; broken ones refused naming the
key; signatures really verified; text replacements that keep the plist valid."""

from __future__ import annotations

import plistlib
from typing import Any

import pytest
from asn1crypto import cms

from mdmflow.mdm.mobileconfig import MobileconfigError, read_mobileconfig, replace_text
from mdmflow.mdm.plist import dump_xml
from tests.support.signing import signer, tampered

IDENTIFIER = "com.example.wifi"
UUID = "9C1E2A44-6B7D-4F0E-8A51-3D2C1B0A9F88"


def profile(**top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "PayloadContent": [
            {
                "PayloadType": "com.apple.wifi.managed",
                "PayloadVersion": 1,
                "PayloadIdentifier": f"{IDENTIFIER}.payload",
                "PayloadUUID": "0A3F5B1C-1111-4222-8333-944455556666",
                "SSID_STR": "Office",
            }
        ],
        "PayloadDisplayName": "Office Wi-Fi",
        "PayloadIdentifier": IDENTIFIER,
        "PayloadType": "Configuration",
        "PayloadUUID": UUID,
        "PayloadVersion": 1,
    }
    body.update(top)
    return {k: v for k, v in body.items() if v is not None}


def test_xml_profile_gives_its_top_level_identity_and_keeps_the_bytes() -> None:
    raw = dump_xml(profile())
    read = read_mobileconfig(raw)
    assert (read.identifier, read.uuid, read.display_name) == (IDENTIFIER, UUID, "Office Wi-Fi")
    assert read.raw == raw
    assert not read.signed


def test_binary_plist_profile_is_read() -> None:
    raw = plistlib.dumps(profile(), fmt=plistlib.FMT_BINARY)
    assert raw.startswith(b"bplist00")
    read = read_mobileconfig(raw)
    assert (read.identifier, read.uuid) == (IDENTIFIER, UUID)
    assert read.raw == raw


@pytest.mark.parametrize(
    ("kind", "attributes"), [("rsa", True), ("rsa", False), ("ec", True)], ids=str
)
def test_signed_profile_is_verified_and_kept_as_signed(kind: str, attributes: bool) -> None:
    signed = signer(kind).sign(dump_xml(profile()), attributes=attributes)
    read = read_mobileconfig(signed)
    assert (read.identifier, read.uuid) == (IDENTIFIER, UUID)
    assert read.raw == signed
    assert read.signed
    assert read.signers == (f"Common Name: mdmflow test profile signer ({kind})",)


@pytest.mark.parametrize("attributes", [True, False], ids=["signed-attributes", "plain"])
def test_changed_content_breaks_the_signature(attributes: bool) -> None:
    content = dump_xml(profile())
    signed = signer().sign(content, attributes=attributes)
    forged = tampered(signed, b"Office Wi-Fi", b"Guest Wi-Fi!")
    with pytest.raises(MobileconfigError, match=r"^verifying pkcs7: .*changed after signing"):
        read_mobileconfig(forged)


def test_signature_without_its_certificate_is_refused() -> None:
    signed = cms.ContentInfo.load(signer().sign(dump_xml(profile())))
    signed["content"]["certificates"] = cms.CertificateSet([])
    with pytest.raises(MobileconfigError, match="signer's certificate is not in the signed data"):
        read_mobileconfig(signed.dump(force=True))


def test_signature_by_another_key_is_refused() -> None:
    content = dump_xml(profile())
    by_rsa = cms.ContentInfo.load(signer("rsa").sign(content))
    by_ec = cms.ContentInfo.load(signer("ec").sign(content))
    info = by_rsa["content"]["signer_infos"][0]
    info["signature"] = by_ec["content"]["signer_infos"][0]["signature"]
    with pytest.raises(MobileconfigError, match=r"^verifying pkcs7: the signature of"):
        read_mobileconfig(by_rsa.dump(force=True))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (profile(PayloadIdentifier=None), "invalid payload: PayloadIdentifier is empty"),
        (profile(PayloadUUID=""), "invalid payload: PayloadUUID is empty"),
        (profile(PayloadUUID=42), "invalid payload: PayloadUUID is not a string"),
        (profile(PayloadType=None), "invalid payload: PayloadType is empty"),
        (profile(PayloadType="com.apple.wifi.managed"), "top-level PayloadType must be"),
        (profile(PayloadVersion=2), "invalid payload: PayloadVersion is not 1"),
        (profile(PayloadContent={"a": 1}), "invalid payload: PayloadContent is not an array"),
        (
            profile(PayloadContent=[{"PayloadType": "com.apple.dock", "PayloadVersion": 1}]),
            "invalid payload: PayloadContent[0]: PayloadIdentifier is empty",
        ),
        (
            profile(
                PayloadContent=[
                    profile()["PayloadContent"][0],
                    {"PayloadType": "com.apple.dock", "PayloadIdentifier": "d", "PayloadUUID": "u"},
                ]
            ),
            "invalid payload: PayloadContent[1] (com.apple.dock): PayloadVersion is not an integer",
        ),
    ],
    ids=[
        "no-identifier",
        "empty-uuid",
        "uuid-not-text",
        "no-type",
        "wrong-type",
        "version-2",
        "content-not-array",
        "payload-no-identifier",
        "payload-no-version",
    ],
)
def test_broken_profiles_name_the_wrong_key(body: dict[str, Any], message: str) -> None:
    with pytest.raises(MobileconfigError) as caught:
        read_mobileconfig(dump_xml(body))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty body"),
        (b"<?xml version='1.0'?><plist><dict><key>a</key>", "unmarshal plist: "),
        (
            dump_xml(profile()).replace(b"<string>Office</string>", b"<data>!!!</data>"),
            "unmarshal plist: ",
        ),
        (plistlib.dumps(["not", "a", "dict"]), "unmarshal plist: plist top level is list"),
        (b"\x30\x03\x02\x01\x01", "parsing pkcs7: "),
    ],
    ids=["empty", "truncated-xml", "bad-base64-data", "array", "not-cms"],
)
def test_unreadable_bytes_say_why(raw: bytes, message: str) -> None:
    with pytest.raises(MobileconfigError) as caught:
        read_mobileconfig(raw)
    assert str(caught.value).startswith(message)


def test_text_replacements_apply_once_in_every_string_and_stay_valid_xml() -> None:
    body = profile()
    body["PayloadContent"][0].update(
        {"Subject": [[["CN", "%CN%"]]], "Challenge": "%CHAL%", "Note": "%CN%-%CHAL%"}
    )
    raw = dump_xml(body)
    out = replace_text(raw, {"%CN%": "R&D <lab> %CHAL%", "%CHAL%": "s3cr3t"})
    edited = plistlib.loads(out)["PayloadContent"][0]
    assert edited["Subject"] == [[["CN", "R&D <lab> %CHAL%"]]]  # not replaced a second time
    assert edited["Challenge"] == "s3cr3t"
    assert edited["Note"] == "R&D <lab> %CHAL%-s3cr3t"
    assert b"R&amp;D &lt;lab&gt;" in out
    assert read_mobileconfig(out).uuid == UUID


def test_text_replacements_in_a_binary_profile_and_none_at_all() -> None:
    raw = plistlib.dumps(profile(PayloadDisplayName="%NAME%"), fmt=plistlib.FMT_BINARY)
    assert replace_text(raw, {}) == raw
    out = replace_text(raw, {"%NAME%": "A longer display name than before"})
    assert plistlib.loads(out)["PayloadDisplayName"] == "A longer display name than before"


def test_a_signed_profile_is_never_edited() -> None:
    signed = signer().sign(dump_xml(profile()))
    with pytest.raises(MobileconfigError, match="signed profile cannot be edited"):
        replace_text(signed, {"%CN%": "x"})
