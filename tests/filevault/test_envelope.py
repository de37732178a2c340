"""CMS EnvelopedData decryption with vectors made here: AES-256 and 3DES content, DER and BER,
and every way an envelope can be wrong, each refused with a reason that holds no key."""

from __future__ import annotations

import pytest
from asn1crypto import cms

from mdmflow.filevault.envelope import EnvelopeError, decrypt_envelope, recovery_key
from mdmflow.filevault.identity import EscrowIdentity, generate_identity
from mdmflow.simulator.device_filevault import ContentCipher, encrypt_envelope, new_recovery_key

CIPHERS: list[ContentCipher] = ["aes256", "3des"]


@pytest.fixture(scope="module")
def identity() -> EscrowIdentity:
    return generate_identity()


@pytest.fixture(scope="module")
def stranger() -> EscrowIdentity:
    return generate_identity()


def opened(blob: bytes, identity: EscrowIdentity) -> str:
    return recovery_key(decrypt_envelope(blob, identity.private_key, identity.certificate_der))


@pytest.mark.parametrize("cipher", CIPHERS)
def test_recovery_key_decrypts_with_either_content_cipher(
    identity: EscrowIdentity, cipher: ContentCipher
) -> None:
    key = new_recovery_key()
    blob = encrypt_envelope(key.encode(), identity.certificate_der, cipher)
    info = cms.ContentInfo.load(blob)
    algorithm = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
    assert (
        algorithm["algorithm"].native == {"aes256": "aes256_cbc", "3des": "tripledes_3key"}[cipher]
    )
    assert key.encode() not in blob
    assert opened(blob, identity) == key


def test_indefinite_length_ber_decrypts(identity: EscrowIdentity) -> None:
    """Apple's example envelope is BER with indefinite lengths; re-encode ours that way."""
    key = new_recovery_key()
    der = encrypt_envelope(key.encode(), identity.certificate_der, "3des")
    ber = _indefinite(der)
    assert ber != der
    assert opened(ber, identity) == key


def test_envelope_for_another_certificate_is_refused(
    identity: EscrowIdentity, stranger: EscrowIdentity
) -> None:
    blob = encrypt_envelope(b"WXYZ-2345", stranger.certificate_der, "aes256")
    with pytest.raises(
        EnvelopeError, match="not addressed to this deployment's escrow certificate"
    ):
        opened(blob, identity)


def test_wrong_private_key_for_our_certificate_is_refused(
    identity: EscrowIdentity, stranger: EscrowIdentity
) -> None:
    blob = encrypt_envelope(b"WXYZ-2345", identity.certificate_der, "3des")
    with pytest.raises(EnvelopeError):
        recovery_key(decrypt_envelope(blob, stranger.private_key, identity.certificate_der))


@pytest.mark.parametrize(
    ("blob", "problem"),
    [
        (b"", "empty"),
        (b"\x30\x03\x02\x01\x01", "not CMS EnvelopedData"),
        (b"not asn.1 at all", "not CMS EnvelopedData"),
    ],
)
def test_damaged_blobs_are_refused_with_a_reason(
    identity: EscrowIdentity, blob: bytes, problem: str
) -> None:
    with pytest.raises(EnvelopeError, match=problem):
        opened(blob, identity)


def test_truncated_envelope_is_refused(identity: EscrowIdentity) -> None:
    blob = encrypt_envelope(b"WXYZ-2345", identity.certificate_der, "aes256")
    with pytest.raises(EnvelopeError):
        opened(blob[: len(blob) - 20], identity)


def test_other_cms_content_types_are_refused(identity: EscrowIdentity) -> None:
    data = cms.ContentInfo({"content_type": "data", "content": b"hello"}).dump()
    with pytest.raises(EnvelopeError, match="content type is data, not enveloped_data"):
        opened(data, identity)


def test_plaintext_that_is_no_key_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="not ASCII"):
        recovery_key(b"\xff\xfe\x00")
    with pytest.raises(EnvelopeError, match="not a printable"):
        recovery_key(b"\x01\x02")
    assert recovery_key(b"ABCD-EFGH\x00") == "ABCD-EFGH"


def _indefinite(der: bytes) -> bytes:
    """Rewrite the outer SEQUENCE and [0] EXPLICIT of a ContentInfo with indefinite lengths."""
    info = cms.ContentInfo.load(der)
    oid = bytes(info["content_type"].dump())
    tagged = bytes(info["content"].dump())  # [0] EXPLICIT header, then the EnvelopedData SEQUENCE
    header = 2 + (tagged[1] & 0x7F if tagged[1] & 0x80 else 0)
    envelope = tagged[header:]
    explicit = b"\xa0\x80" + envelope + b"\x00\x00"
    return b"\x30\x80" + oid + explicit + b"\x00\x00"
