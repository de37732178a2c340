"""Decide on NanoCMD's FileVault escrow key pair.

Macs that ran NanoCMD's fvenable encrypt their recovery key to NanoCMD's certificate; the
import makes that key pair mdmflow's own, so mdmflow's fvrotate asks them to encrypt the new
key to the same certificate, and mdmflow can open what they send. If mdmflow already made a
key pair of its own, it stays unless ``--overwrite``; then it is kept under another name, since
Macs enabled by mdmflow encrypt to it.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mdmflow.filevault.identity import EscrowIdentity
from mdmflow.nanocmd_import.decisions import Decision, Kind, Outcome, Stores, Write, conflict
from mdmflow.nanocmd_import.snapshot import NanoKeyPair

NAME = "fvkey"


class KeyPairError(ValueError):
    """The key pair cannot serve as an escrow identity; the text says why."""


def escrow_identity(pair: NanoKeyPair) -> EscrowIdentity:
    """NanoCMD's PKCS#1 key and DER certificate as mdmflow's identity, checked to belong
    together."""
    try:
        key = serialization.load_der_private_key(pair.private_key_der, password=None)
    except ValueError:
        raise KeyPairError("the private key is not a DER RSA key (PKCS#1)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyPairError("the private key is not an RSA key")
    try:
        certificate = x509.load_der_x509_certificate(pair.certificate_der)
    except ValueError:
        raise KeyPairError("the certificate is not a DER X.509 certificate") from None
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or (
        public.public_numbers() != key.public_key().public_numbers()
    ):
        raise KeyPairError("the certificate is not the private key's")
    return EscrowIdentity(pair.certificate_der, key)


async def decide_key_pair(
    pair: NanoKeyPair | None, stores: Stores, overwrite: bool
) -> list[Decision]:
    if pair is None:
        return []
    try:
        identity = escrow_identity(pair)
    except KeyPairError as exc:
        return [Decision(Kind.KEY_PAIR, NAME, Outcome.REFUSED, str(exc))]
    current = await stores.identities.current()
    if current is None:
        return [Decision(Kind.KEY_PAIR, NAME, Outcome.IMPORT, write=_install(stores, identity))]
    if current.certificate_der == identity.certificate_der:
        return [Decision(Kind.KEY_PAIR, NAME, Outcome.UNCHANGED)]
    kept_as = f"replaced-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    return [
        conflict(
            Kind.KEY_PAIR,
            NAME,
            overwrite,
            _install(stores, identity, kept_as),
            "its own escrow key pair, which Macs enabled by mdmflow encrypt to",
            f"mdmflow's own is kept as {kept_as!r}; restart the workers",
        )
    ]


def _install(stores: Stores, identity: EscrowIdentity, kept_as: str = "previous") -> Write:
    async def write() -> None:
        await stores.identities.install(identity, keep_previous_as=kept_as)

    return write
