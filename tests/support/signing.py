"""Sign profiles in tests as a real signer would: a throwaway certificate and key, made here.

``cryptography``'s ``PKCS7SignatureBuilder`` produces the CMS SignedData (DER, content
attached) that ``security cms -S`` / Apple Configurator produce for a .mobileconfig.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

SIGNER_NAME = "mdmflow test profile signer"


@dataclass(frozen=True)
class Signer:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def sign(self, content: bytes, *, attributes: bool = True) -> bytes:
        """DER CMS SignedData with ``content`` attached (with or without signed attributes)."""
        options = [pkcs7.PKCS7Options.Binary]
        if not attributes:
            options.append(pkcs7.PKCS7Options.NoAttributes)
        return (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(content)
            .add_signer(self.certificate, self.key, hashes.SHA256())
            .sign(serialization.Encoding.DER, options)
        )


@cache
def signer(kind: str = "rsa") -> Signer:
    """A self-signed signing identity (RSA 2048 or P-256), made once per test session."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{SIGNER_NAME} ({kind})")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return Signer(certificate, key)


def tampered(signed: bytes, original: bytes, changed: bytes) -> bytes:
    """The signed bytes with part of the content swapped for same-length text."""
    assert len(original) == len(changed)
    assert signed.count(original) == 1
    return signed.replace(original, changed)
