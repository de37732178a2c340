"""Certificates a simulated device holds: real X.509, deterministic, signed by a simulated CA.

Every certificate is built with ``cryptography`` and signed with Ed25519, whose signatures are
deterministic: the same seed gives the same fleet, byte for byte. Keys are derived from the
caller's random source (a subject's) or from the issuer's name (an issuer's), so a certificate
issued later by "mdmflow Simulator CA" (a SCEP enrollment, a test's own certificate) verifies
against the CA certificate the fleet holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from functools import cache, lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "mdmflow Simulator CA"
ORGANIZATION = "mdmflow simulator"


@dataclass(frozen=True, slots=True)
class Certificate:
    """One CertificateList entry: Apple's ``CommonName``, ``IsIdentity`` and ``Data`` keys.

    ``profile`` is the PayloadIdentifier of the profile that installed it (a SCEP or
    certificate payload), or None for certificates that came otherwise (enrollment, the
    user): only profile-installed ones are listed for ``ManagedOnly``.
    """

    common_name: str
    is_identity: bool
    der: bytes
    profile: str | None = None


def make_certificate(
    rng: random.Random,
    *,
    common_name: str,
    issuer: str,
    not_before: dt.datetime,
    days: int,
) -> bytes:
    """A certificate valid ``days`` from ``not_before``; subject key and serial from ``rng``."""
    return build_certificate(
        common_name=common_name,
        issuer=issuer,
        not_before=not_before,
        not_after=not_before + dt.timedelta(days=days),
        subject_key=Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)),
        serial=rng.getrandbits(63) | 1,
    )


def issue_certificate(
    common_name: str,
    *,
    not_after: dt.datetime,
    not_before: dt.datetime | None = None,
    is_identity: bool = True,
    profile: str | None = None,
    issuer: str = CA_NAME,
) -> Certificate:
    """A certificate with a chosen name and expiry, as a CA would issue it (tests, SCEP).

    Deterministic for the same arguments; ``not_before`` defaults to a year before expiry.
    """
    start = not_before if not_before is not None else not_after - dt.timedelta(days=365)
    seed = hashlib.sha256(f"{issuer}|{common_name}|{start.isoformat()}".encode()).digest()
    der = build_certificate(
        common_name=common_name,
        issuer=issuer,
        not_before=start,
        not_after=not_after,
        subject_key=Ed25519PrivateKey.from_private_bytes(seed),
        serial=int.from_bytes(seed[:8], "big") >> 1 | 1,
    )
    return Certificate(common_name, is_identity, der, profile)


def build_certificate(
    *,
    common_name: str,
    issuer: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
    subject_key: Ed25519PrivateKey,
    serial: int,
) -> bytes:
    """DER of a v3 certificate for ``subject_key``, signed by the issuer's derived key (a
    self-signed CA certificate is for that derived key, so issued ones verify against it)."""
    self_signed = issuer == common_name
    if self_signed:
        subject_key = issuer_key(issuer)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(issuer))
        .public_key(subject_key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=self_signed, path_length=None), critical=True)
    )
    if not self_signed:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    cert = builder.sign(issuer_key(issuer), None)
    return cert.public_bytes(serialization.Encoding.DER)


@cache
def issuer_key(issuer: str) -> Ed25519PrivateKey:
    """The simulated CA's signing key, derived from its name."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(issuer.encode()).digest())


@lru_cache(maxsize=64)  # the issuers' names; subjects pass through
def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
