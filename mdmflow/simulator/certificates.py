"""Certificates a simulated device holds, as structurally valid X.509 DER.

``cryptography`` is not a dependency, so a few lines of DER encoding build the certificates.
They are well-formed (any X.509 parser reads subject, issuer and validity) but the signature is
random bytes: consumers of CertificateList read certificates, they never verify the device's.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

_ED25519 = "1.3.101.112"
_COMMON_NAME = "2.5.4.3"
_ORGANIZATION = "2.5.4.10"


@dataclass(frozen=True, slots=True)
class Certificate:
    """One CertificateList entry: Apple's ``CommonName``, ``IsIdentity`` and ``Data`` keys."""

    common_name: str
    is_identity: bool
    der: bytes


def make_certificate(
    rng: random.Random,
    *,
    common_name: str,
    issuer: str,
    not_before: dt.datetime,
    days: int,
) -> bytes:
    """An Ed25519 X.509 v3 certificate in DER; key, serial and signature come from ``rng``."""
    algorithm = _seq(_oid(_ED25519))
    tbs = _seq(
        _tlv(0xA0, _integer(2)),  # [0] EXPLICIT version: v3
        _integer(rng.getrandbits(63) | 1),
        algorithm,
        _name(issuer),
        _seq(_time(not_before), _time(not_before + dt.timedelta(days=days))),
        _name(common_name),
        _seq(algorithm, _bit_string(rng.randbytes(32))),
    )
    return _seq(tbs, algorithm, _bit_string(rng.randbytes(64)))


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _bit_string(value: bytes) -> bytes:
    return _tlv(0x03, b"\x00" + value)


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    body = bytearray([first * 40 + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _name(common_name: str) -> bytes:
    attributes = [(_ORGANIZATION, "mdmflow simulator"), (_COMMON_NAME, common_name)]
    return _seq(
        *(_tlv(0x31, _seq(_oid(oid), _tlv(0x0C, text.encode()))) for oid, text in attributes)
    )


def _time(moment: dt.datetime) -> bytes:
    return _tlv(0x17, moment.astimezone(dt.UTC).strftime("%y%m%d%H%M%SZ").encode())
