"""CMS (PKCS#7) SignedData as used by signed .mobileconfig files: unwrap and verify.

A signed profile is a DER (sometimes BER) ``ContentInfo`` whose ``SignedData`` carries the
profile plist as its encapsulated content, the signer's certificate and one or more
``SignerInfo``. :func:`open_signed` checks every signature, the way NanoCMD (smallstep/pkcs7
``Verify``) does: each signer's certificate must be in the message and its signature must match
the content. Like NanoCMD and like a device, it does not decide whether the signer is *trusted*
(that is the device's keychain's business); a broken or forged signature is what it rejects,
because a device would refuse that profile.

``cryptography`` signs and verifies but has no CMS parser, so ``asn1crypto`` reads the
structure and ``cryptography`` checks the signatures.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class CMSError(ValueError):
    """The bytes are not a CMS SignedData, or a signature does not verify; the text says why."""


@dataclass(frozen=True, slots=True)
class SignedContent:
    """The verified content of a SignedData and the subjects of the certificates that signed it."""

    content: bytes
    signers: tuple[str, ...]


def looks_like_cms(raw: bytes) -> bool:
    """True for DER/BER (a SEQUENCE); plists start with ``<``, whitespace or ``bplist``."""
    return raw[:1] == b"\x30"


def open_signed(raw: bytes) -> SignedContent:
    """The encapsulated content of a CMS SignedData after checking every signer's signature."""
    signed = _signed_data(raw)
    encap = signed["encap_content_info"]
    content = encap["content"].native
    if not isinstance(content, bytes) or not content:
        raise CMSError("parsing pkcs7: the signed data carries no content (detached signature)")
    certificates = [c.chosen for c in signed["certificates"] if c.name == "certificate"]
    signer_infos = list(signed["signer_infos"])
    if not signer_infos:
        raise CMSError("verifying pkcs7: the signed data has no signer")
    subjects = tuple(
        _verify_signer(info, certificates, content, encap["content_type"].dump())
        for info in signer_infos
    )
    return SignedContent(content=content, signers=subjects)


def _signed_data(raw: bytes) -> Any:
    try:
        info = cms.ContentInfo.load(raw)
        content_type = info["content_type"].native
        if content_type != "signed_data":
            raise CMSError(f"parsing pkcs7: content type is {content_type}, not signed data")
        signed = info["content"]
        signed.native  # noqa: B018 - parse the whole structure now, so bad input fails here
    except CMSError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError and friends
        raise CMSError(f"parsing pkcs7: {exc}") from None
    return signed


def _verify_signer(info: Any, certificates: list[Any], content: bytes, content_type: bytes) -> str:
    cert = _signer_certificate(info, certificates)
    digest_name = info["digest_algorithm"]["algorithm"].native
    hash_type = _HASHES.get(digest_name)
    if hash_type is None:
        raise CMSError(f"verifying pkcs7: unsupported digest algorithm {digest_name}")
    attributes = info["signed_attrs"]
    if len(attributes):
        _check_attributes(attributes, content, content_type, digest_name)
        message = attributes.untag().dump()  # signed as a SET, stored as [0] IMPLICIT
    else:
        message = content
    try:
        certificate = x509.load_der_x509_certificate(cert.dump())
        _check_signature(certificate, info, message, hash_type())
    except InvalidSignature:
        raise CMSError(
            f"verifying pkcs7: the signature of {cert.subject.human_friendly} does not match "
            "the content (the profile was changed after signing)"
        ) from None
    except (UnsupportedAlgorithm, ValueError) as exc:
        raise CMSError(f"verifying pkcs7: {exc}") from None
    return str(cert.subject.human_friendly)


def _signer_certificate(info: Any, certificates: list[Any]) -> Any:
    sid = info["sid"]
    for cert in certificates:
        if sid.name == "issuer_and_serial_number":
            issuer, serial = sid.chosen["issuer"], sid.chosen["serial_number"].native
            if cert.issuer == issuer and cert.serial_number == serial:
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    raise CMSError("verifying pkcs7: the signer's certificate is not in the signed data")


def _check_attributes(attributes: Any, content: bytes, content_type: bytes, digest: str) -> None:
    found = {attr["type"].native: attr["values"] for attr in attributes}
    digests = found.get("message_digest")
    if digests is None or len(digests) != 1:
        raise CMSError("verifying pkcs7: signed attributes lack the message digest")
    expected = hashlib.new(digest, content).digest()
    if not hmac.compare_digest(digests[0].native, expected):
        raise CMSError(
            "verifying pkcs7: the content does not match its signed digest "
            "(the profile was changed after signing)"
        )
    types = found.get("content_type")
    if types is not None and (len(types) != 1 or types[0].dump() != content_type):
        raise CMSError("verifying pkcs7: the signed content type does not match the content")


def _check_signature(
    certificate: x509.Certificate, info: Any, message: bytes, hash_type: hashes.HashAlgorithm
) -> None:
    signature = info["signature"].native
    algorithm = info["signature_algorithm"].signature_algo
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey) and algorithm == "rsassa_pkcs1v15":
        key.verify(signature, message, padding.PKCS1v15(), hash_type)
    elif isinstance(key, rsa.RSAPublicKey) and algorithm == "rsassa_pss":
        params = info["signature_algorithm"]["parameters"]
        pss = padding.PSS(mgf=padding.MGF1(hash_type), salt_length=params["salt_length"].native)
        key.verify(signature, message, pss, hash_type)
    elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm == "ecdsa":
        key.verify(signature, message, ec.ECDSA(hash_type))
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, message)
    else:
        raise CMSError(
            f"verifying pkcs7: unsupported signature algorithm {algorithm} "
            f"for a {type(key).__name__.removeprefix('_')} key"
        )
