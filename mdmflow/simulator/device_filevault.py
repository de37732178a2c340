"""A simulated Mac's FileVault: the enable profile, recovery keys, and their CMS envelopes.

What a Mac does, in the parts our workflows see: an installed profile with a
``com.apple.MCX.FileVault2`` payload turns FileVault on (here: after ``enable_after_polls``
SecurityInfo answers, standing in for the user's next login; None = never), a
``com.apple.security.FDERecoveryKeyEscrow`` payload names the certificate the personal
recovery key is encrypted to, and SecurityInfo then carries that envelope. A device can be
told to send a damaged envelope. Envelopes are real CMS EnvelopedData (RSA PKCS#1 v1.5 key
transport, AES-256-CBC or 3DES-CBC content, as Apple documents), built with asn1crypto and
``cryptography``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from asn1crypto import algos, cms, core, x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.x509 import load_der_x509_certificate

ContentCipher = Literal["aes256", "3des"]
ESCROW_PAYLOAD = "com.apple.security.FDERecoveryKeyEscrow"
FILEVAULT_PAYLOAD = "com.apple.MCX.FileVault2"
KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(slots=True)
class FileVault:
    """One Mac's FileVault state and how the simulation behaves."""

    enable_after_polls: int | None = 2
    """SecurityInfo answers after the enable profile until FileVault is on; None = never."""
    corrupt_envelope: bool = False
    """Send bytes that are no CMS envelope instead of the real one."""
    cipher: ContentCipher = "3des"
    enable_requested: bool = False
    escrow_certificate: bytes | None = None
    recovery_key: str | None = None
    polls_since_enable: int = 0


@dataclass(frozen=True, slots=True)
class EscrowSettings:
    """What an installed profile asks of FileVault."""

    enable: bool
    certificate: bytes | None


def new_recovery_key() -> str:
    """A personal recovery key in Apple's shape: six groups of four, 29 characters."""
    return "-".join("".join(secrets.choice(KEY_ALPHABET) for _ in range(4)) for _ in range(6))


def escrow_settings(profile: Mapping[str, Any]) -> EscrowSettings:
    """Whether the profile turns FileVault on, and the escrow certificate it names."""
    payloads = [p for p in profile.get("PayloadContent") or [] if isinstance(p, Mapping)]
    enable = any(
        p.get("PayloadType") == FILEVAULT_PAYLOAD and p.get("Enable") == "On" for p in payloads
    )
    certificate = None
    for escrow in (p for p in payloads if p.get("PayloadType") == ESCROW_PAYLOAD):
        wanted = escrow.get("EncryptCertPayloadUUID")
        for payload in payloads:
            content = payload.get("PayloadContent")
            if payload.get("PayloadUUID") == wanted and isinstance(content, bytes):
                certificate = content
    return EscrowSettings(enable=enable, certificate=certificate)


def encrypt_envelope(plaintext: bytes, certificate_der: bytes, cipher: ContentCipher) -> bytes:
    """CMS EnvelopedData of ``plaintext`` for the holder of ``certificate_der``'s key."""
    certificate = x509.Certificate.load(certificate_der)
    public_key = load_der_x509_certificate(certificate_der).public_key()
    if not isinstance(public_key, RSAPublicKey):
        raise ValueError("the escrow certificate does not hold an RSA key")
    content_cipher: BlockCipherAlgorithm
    if cipher == "aes256":
        key, iv, oid = os.urandom(32), os.urandom(16), "aes256_cbc"
        content_cipher = algorithms.AES(key)
    else:
        key, iv, oid = os.urandom(24), os.urandom(8), "tripledes_3key"
        content_cipher = TripleDES(key)
    padder = padding.PKCS7(content_cipher.block_size).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(content_cipher, modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    recipient = cms.KeyTransRecipientInfo(
        {
            "version": "v0",
            "rid": cms.RecipientIdentifier(
                name="issuer_and_serial_number",
                value=cms.IssuerAndSerialNumber(
                    {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
                ),
            ),
            "key_encryption_algorithm": cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15"}),
            "encrypted_key": public_key.encrypt(key, rsa_padding.PKCS1v15()),
        }
    )
    envelope = cms.EnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [cms.RecipientInfo(name="ktri", value=recipient)],
            "encrypted_content_info": cms.EncryptedContentInfo(
                {
                    "content_type": "data",
                    "content_encryption_algorithm": algos.EncryptionAlgorithm(
                        {"algorithm": oid, "parameters": core.OctetString(iv)}
                    ),
                    "encrypted_content": ciphertext,
                }
            ),
        }
    )
    return bytes(cms.ContentInfo({"content_type": "enveloped_data", "content": envelope}).dump())


def damaged_envelope() -> bytes:
    """Bytes a device might send when its escrow went wrong: not a CMS structure at all."""
    return b"\x30\x82\x01\x00" + os.urandom(60)
