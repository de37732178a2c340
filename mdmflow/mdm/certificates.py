"""The facts a workflow reads from a certificate a device reported (CertificateList ``Data``)."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from pydantic import BaseModel, ConfigDict


class CertificateError(ValueError):
    """The bytes are not a DER X.509 certificate."""


class CertificateFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    subject: str
    issuer: str
    serial_number: str
    not_before: dt.datetime
    not_after: dt.datetime


def read_certificate(der: bytes) -> CertificateFacts:
    """Subject, issuer, serial (hex) and validity of a DER certificate."""
    try:
        cert = x509.load_der_x509_certificate(der)
        return CertificateFacts(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial_number=f"{cert.serial_number:X}",
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
        )
    except ValueError as exc:
        raise CertificateError(f"not a DER X.509 certificate: {exc}") from None
