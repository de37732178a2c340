"""The certprof workflow's context and decision, as pure functions over typed models.

NanoCMD's rules: keep the device's certificates that pass the filter (identities only unless
``allow_non_identity``; CommonName starting with ``cn_prefix`` when set). None → install the
profile. One → replace it if ``always_replace``, or if it expires within ``until_expiry_sec``;
without criteria keep it. More than one → the workflow cannot tell which to judge: a failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mdmflow.mdm.certificates import CertificateError, read_certificate
from mdmflow.mdm.responses import InstalledCertificate
from mdmflow.validation import first_error
from mdmflow.workflows.errors import ContextError
from mdmflow.workflows.models import StepError
from mdmflow.workflows.outcomes import CommandOutcome

CERTPROF = "io.micromdm.wf.certprof.v1"
_REPLACEMENT = ".replacement."
CONTEXT_EXAMPLE = (
    '{"profile": "scep", "filter": {"cn_prefix": "device-"}, '
    '"criteria": {"until_expiry_sec": 2592000}, "text_replacements": {"%CN%": "device-1"}}'
)


class CertFilter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    cn_prefix: str = ""
    allow_non_identity: bool = False


class CertCriteria(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    always_replace: bool = False
    until_expiry_sec: int = Field(default=0, ge=0)


class CertProfStart(BaseModel):
    """NanoCMD's certprof JSON context; unknown keys are refused (a typo would be ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    profile: str = Field(min_length=1)
    filter: CertFilter
    criteria: CertCriteria | None = None
    text_replacements: dict[str, str] = Field(default_factory=dict)
    sealed_replacements: dict[str, str] = Field(default_factory=dict)
    """Replacements whose value the starter moved to the sealed store: text → secret name.
    mdmflow's own; a start through the bridge or ``mdmflow start`` seals every replacement,
    since NanoCMD admins put SCEP challenges there."""
    no_managed_only: bool = False

    def sealed(self, instance_id: str) -> tuple[CertProfStart, dict[str, str]]:
        """This start with its text replacements' values moved out, and those values by the
        secret name each is stored under for the enrolled devices."""
        secrets = {
            replacement_secret(instance_id, old): new
            for old, new in self.text_replacements.items()
            if old
        }
        names = {old: replacement_secret(instance_id, old) for old in self.text_replacements if old}
        moved = self.model_copy(
            update={
                "text_replacements": {},
                "sealed_replacements": {**self.sealed_replacements, **names},
            }
        )
        return moved, secrets


def replacement_secret(instance_id: str, old: str) -> str:
    """Where a certprof start's replacement value is sealed for each of its devices."""
    return f"{replacement_prefix(instance_id)}{old}"


def replacement_prefix(instance_id: str) -> str:
    """What every replacement secret of one certprof start begins with."""
    return f"{CERTPROF}.{instance_id}{_REPLACEMENT}"


def replacement_instance(key: str) -> str | None:
    """The start (instance ID) a :func:`replacement_secret` key was sealed for; None for a
    key that is not one. Starts that seal have a UUID for their instance ID (the starter
    makes it), so a key parses one way only."""
    if not key.startswith(f"{CERTPROF}."):
        return None
    instance_id, mark, _ = key[len(CERTPROF) + 1 :].partition(_REPLACEMENT)
    return instance_id if mark and instance_id else None


class Verdict(StrEnum):
    INSTALL = "install"
    """No certificate matches: install the profile."""
    REPLACE = "replace"
    """The one match is to be replaced (always, or it expires soon)."""
    KEEP = "keep"
    """The one match stays."""


class MatchedCertificate(BaseModel):
    model_config = ConfigDict(frozen=True)
    common_name: str
    is_identity: bool
    not_after: dt.datetime | None = None


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)
    verdict: Verdict
    reason: str
    matched: MatchedCertificate | None = None

    @property
    def install(self) -> bool:
        return self.verdict is not Verdict.KEEP


class CertProfResult(BaseModel):
    """The decision over the device's certificates and, if the profile was sent, its answer."""

    enrollment_id: str
    profile: str
    decision: Decision
    install: CommandOutcome | None = None


def parse_certprof_context(context: str) -> CertProfStart:
    """The JSON context; a :class:`ContextError` names the key that is wrong (never a value,
    since text replacements often hold a SCEP challenge)."""
    if not context.strip():
        raise ContextError(f"missing context: certprof needs JSON like {CONTEXT_EXAMPLE}")
    try:
        return CertProfStart.model_validate_json(context)
    except ValidationError as exc:
        raise ContextError(first_error(exc)) from None


def matching(
    start: CertProfStart, certificates: Sequence[InstalledCertificate]
) -> list[InstalledCertificate]:
    """The certificates that pass the context's filter."""
    rule = start.filter
    return [
        cert
        for cert in certificates
        if (cert.is_identity or rule.allow_non_identity)
        and cert.common_name.startswith(rule.cn_prefix)
    ]


def decide(
    start: CertProfStart, certificates: Sequence[InstalledCertificate], now: dt.datetime
) -> Decision:
    """Install, replace or keep; :class:`StepError` for several matches or an unreadable one."""
    found = matching(start, certificates)
    if not found:
        return Decision(verdict=Verdict.INSTALL, reason=f"no certificate matches {_rule(start)}")
    if len(found) > 1:
        names = ", ".join(repr(c.common_name) for c in found)
        raise StepError(
            f"{len(found)} certificates match {_rule(start)}: {names}; "
            "narrow filter.cn_prefix so that exactly one matches"
        )
    cert = found[0]
    criteria = start.criteria
    expiry = _not_after(cert, strict=bool(criteria and criteria.until_expiry_sec))
    matched = MatchedCertificate(
        common_name=cert.common_name, is_identity=cert.is_identity, not_after=expiry
    )
    if criteria is None:
        reason = "a certificate matches and no criteria are set"
        return Decision(verdict=Verdict.KEEP, reason=reason, matched=matched)
    if criteria.always_replace:
        return Decision(verdict=Verdict.REPLACE, reason="criteria.always_replace", matched=matched)
    if criteria.until_expiry_sec > 0 and expiry is not None:
        left = expiry - now
        window = dt.timedelta(seconds=criteria.until_expiry_sec)
        if left < window:
            return Decision(
                verdict=Verdict.REPLACE,
                reason=f"it expires {expiry.isoformat()}, within {criteria.until_expiry_sec} s",
                matched=matched,
            )
        return Decision(
            verdict=Verdict.KEEP,
            reason=f"it expires {expiry.isoformat()}, after {criteria.until_expiry_sec} s",
            matched=matched,
        )
    return Decision(verdict=Verdict.KEEP, reason="no criterion asks to replace it", matched=matched)


def _not_after(cert: InstalledCertificate, *, strict: bool) -> dt.datetime | None:
    try:
        return read_certificate(cert.data).not_after
    except CertificateError as exc:
        if strict:
            raise StepError(f"certificate {cert.common_name!r} cannot be read: {exc}") from None
        return None


def _rule(start: CertProfStart) -> str:
    kind = "any certificate" if start.filter.allow_non_identity else "identities only"
    prefix = start.filter.cn_prefix
    where = f", CommonName starting {prefix!r}" if prefix else ""
    return f"({kind}{where})"
