"""The deployment's FileVault escrow identity: one RSA-2048 key pair and self-signed certificate.

As NanoCMD's: CN ``filevault``, valid ten years, key usage keyEncipherment and
digitalSignature. Devices encrypt recovery keys to the certificate; only the private key,
kept sealed in the app database, opens them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

COMMON_NAME = "filevault"
VALIDITY = dt.timedelta(days=3650)
KEY_BITS = 2048


@dataclass(frozen=True)
class EscrowIdentity:
    """The certificate (DER) devices encrypt to, and the private key that decrypts."""

    certificate_der: bytes
    private_key: rsa.RSAPrivateKey

    def __repr__(self) -> str:  # the private key never reaches a log or a traceback
        return f"EscrowIdentity(certificate={len(self.certificate_der)} bytes DER)"

    def private_key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_pem(cls, certificate_der: bytes, private_key_pem: bytes) -> EscrowIdentity:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the stored escrow key is not an RSA key")
        return cls(certificate_der, key)


def generate_identity(now: dt.datetime | None = None) -> EscrowIdentity:
    """A new key pair and its self-signed certificate."""
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return EscrowIdentity(certificate.public_bytes(serialization.Encoding.DER), key)
