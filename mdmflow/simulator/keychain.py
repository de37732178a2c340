"""The certificates an installed profile puts in a simulated device's keychain.

What a device does with certificate payloads, in the parts CertificateList shows: a SCEP or
ACME payload enrolls an identity whose CommonName is the payload's ``Subject`` CN (issued here
by the simulator's CA, valid a year from now); a PKCS#12 payload holds an identity; root,
PKCS#1 and PEM payloads hold plain certificates. The certificates belong to the profile: a
reinstall replaces them and RemoveProfile takes them away.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from mdmflow.simulator.certificates import Certificate, issue_certificate
from mdmflow.simulator.profiles import DeviceProfile, ProfileError, profile_body

ENROLLED_IDENTITY_DAYS = 365


def with_profile(
    certificates: list[Certificate], profile: DeviceProfile, now: dt.datetime | None = None
) -> list[Certificate]:
    """The keychain after installing ``profile``: its earlier certificates replaced."""
    kept = [c for c in certificates if c.profile != profile.identifier]
    return kept + profile_certificates(profile, now or dt.datetime.now(dt.UTC))


def without_profile(certificates: list[Certificate], identifier: str) -> list[Certificate]:
    """The keychain after removing the profile ``identifier``."""
    return [c for c in certificates if c.profile != identifier]


def profile_certificates(profile: DeviceProfile, now: dt.datetime) -> list[Certificate]:
    """The certificates the profile's payloads install (none for other payload types)."""
    try:
        body = profile_body(profile.raw)
    except ProfileError:
        return []
    found: list[Certificate] = []
    for payload in body.get("PayloadContent") or []:
        if not isinstance(payload, dict):
            continue
        reader = _READERS.get(str(payload.get("PayloadType", "")))
        if reader is not None:
            found += reader(payload, profile.identifier, now)
    return found


def _enrolled(payload: Mapping[str, Any], owner: str, now: dt.datetime) -> list[Certificate]:
    content = payload.get("PayloadContent")  # SCEP nests its keys; ACME has them on top
    subject = content.get("Subject") if isinstance(content, dict) else payload.get("Subject")
    common_name = _subject_cn(subject)
    if not common_name:
        return []
    expiry = now + dt.timedelta(days=ENROLLED_IDENTITY_DAYS)
    return [issue_certificate(common_name, not_before=now, not_after=expiry, profile=owner)]


def _pkcs12(payload: Mapping[str, Any], owner: str, now: dt.datetime) -> list[Certificate]:
    data, password = payload.get("PayloadContent"), payload.get("Password")
    if not isinstance(data, bytes):
        return []
    secret = password.encode() if isinstance(password, str) and password else None
    try:
        _key, cert, _chain = pkcs12.load_key_and_certificates(data, secret)
    except ValueError:
        return []
    return [] if cert is None else [_entry(cert, True, owner)]


def _plain(payload: Mapping[str, Any], owner: str, now: dt.datetime) -> list[Certificate]:
    data = payload.get("PayloadContent")
    if not isinstance(data, bytes):
        return []
    try:
        cert = (
            x509.load_pem_x509_certificate(data)
            if data.lstrip().startswith(b"-----BEGIN")
            else x509.load_der_x509_certificate(data)
        )
    except ValueError:
        return []
    return [_entry(cert, False, owner)]


def _entry(cert: x509.Certificate, identity: bool, owner: str) -> Certificate:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else cert.subject.rfc4514_string()
    der = cert.public_bytes(serialization.Encoding.DER)
    return Certificate(common_name, identity, der, owner)


def _subject_cn(subject: Any) -> str:
    """The CN of a SCEP/ACME ``Subject``: ``[[["CN", "name"]], [["O", "org"]]]``."""
    if not isinstance(subject, list):
        return ""
    for rdn in subject:
        for pair in rdn if isinstance(rdn, list) else []:
            if isinstance(pair, list) and len(pair) == 2 and pair[0] in ("CN", "2.5.4.3"):
                return str(pair[1])
    return ""


_Reader = Callable[[Mapping[str, Any], str, dt.datetime], list[Certificate]]
_READERS: dict[str, _Reader] = {
    "com.apple.security.scep": _enrolled,
    "com.apple.security.acme": _enrolled,
    "com.apple.security.pkcs12": _pkcs12,
    "com.apple.security.root": _plain,
    "com.apple.security.pkcs1": _plain,
    "com.apple.security.pem": _plain,
}
