"""The certprof workflow's context and decision without Temporal."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from mdmflow.mdm.responses import InstalledCertificate
from mdmflow.simulator.certificates import issue_certificate
from mdmflow.workflows.certprof_decide import (
    CERTPROF,
    CertProfStart,
    Verdict,
    decide,
    parse_certprof_context,
    replacement_instance,
    replacement_secret,
)
from mdmflow.workflows.errors import ContextError
from mdmflow.workflows.models import StepError

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
MONTH = 30 * 86400


def cert(cn: str, *, days_left: float, identity: bool = True) -> InstalledCertificate:
    issued = issue_certificate(
        cn, not_after=NOW + dt.timedelta(days=days_left), is_identity=identity
    )
    data = base64.b64encode(issued.der).decode()
    return InstalledCertificate.model_validate(
        {"CommonName": cn, "IsIdentity": identity, "Data": data}
    )


def start(**extra: object) -> CertProfStart:
    return CertProfStart.model_validate(
        {"profile": "scep", "filter": {"cn_prefix": "device-"}, **extra}
    )


def test_context_is_nanocmds_json() -> None:
    parsed = parse_certprof_context(
        '{"profile": "scep", "filter": {"cn_prefix": "d", "allow_non_identity": true},'
        ' "criteria": {"until_expiry_sec": 60}, "text_replacements": {"%CN%": "d1"},'
        ' "no_managed_only": true}'
    )
    assert parsed.filter.allow_non_identity
    assert parsed.criteria is not None
    assert parsed.criteria.until_expiry_sec == 60
    assert parsed.text_replacements == {"%CN%": "d1"}


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ("", "missing context"),
        ("{", "Invalid JSON"),
        ('{"filter": {}}', "profile: Field required"),
        ('{"profile": "scep"}', "filter: Field required"),
        ('{"profile": "", "filter": {}}', "profile: String should have at least 1 character"),
        ('{"profile": "p", "filter": {"cn_prefx": "x"}}', "filter.cn_prefx: Extra inputs"),
        (
            '{"profile": "p", "filter": {}, "criteria": {"until_expiry_sec": -1}}',
            "criteria.until_expiry_sec: Input should be greater than or equal to 0",
        ),
        (
            '{"profile": "p", "filter": {}, "text_replacements": {"%CHAL%": 123456}}',
            "text_replacements.%CHAL%: Input should be a valid string",
        ),
    ],
)
def test_bad_context_names_the_key_and_never_a_value(context: str, message: str) -> None:
    with pytest.raises(ContextError) as caught:
        parse_certprof_context(context)
    assert message in str(caught.value)
    assert "123456" not in str(caught.value)


def test_no_matching_certificate_installs() -> None:
    others = [cert("laptop", days_left=10), cert("device-ca", days_left=10, identity=False)]
    decision = decide(start(), others, NOW)
    assert decision.verdict is Verdict.INSTALL
    assert decision.matched is None
    assert "no certificate matches (identities only, CommonName starting 'device-')" in (
        decision.reason
    )


def test_one_match_expiring_within_the_window_is_replaced() -> None:
    decision = decide(
        start(criteria={"until_expiry_sec": MONTH}), [cert("device-1", days_left=10)], NOW
    )
    assert decision.verdict is Verdict.REPLACE
    assert decision.matched is not None
    assert decision.matched.not_after == NOW + dt.timedelta(days=10)


def test_one_match_expiring_later_is_kept() -> None:
    decision = decide(
        start(criteria={"until_expiry_sec": MONTH}), [cert("device-1", days_left=31)], NOW
    )
    assert decision.verdict is Verdict.KEEP
    assert not decision.install


def test_always_replace_and_no_criteria() -> None:
    one = [cert("device-1", days_left=300)]
    assert decide(start(criteria={"always_replace": True}), one, NOW).verdict is Verdict.REPLACE
    assert decide(start(), one, NOW).verdict is Verdict.KEEP
    assert decide(start(criteria={}), one, NOW).verdict is Verdict.KEEP


def test_non_identities_count_only_when_allowed() -> None:
    plain = [cert("device-root", days_left=5, identity=False)]
    assert decide(start(), plain, NOW).verdict is Verdict.INSTALL
    allowed = start(filter={"cn_prefix": "device-", "allow_non_identity": True}, criteria={})
    assert decide(allowed, plain, NOW).verdict is Verdict.KEEP


def test_two_matches_are_a_clear_failure() -> None:
    two = [cert("device-1", days_left=5), cert("device-2", days_left=50)]
    with pytest.raises(StepError) as caught:
        decide(start(criteria={"until_expiry_sec": MONTH}), two, NOW)
    assert "2 certificates match" in str(caught.value)
    assert "'device-1', 'device-2'" in str(caught.value)
    assert "narrow filter.cn_prefix" in str(caught.value)


def test_unreadable_certificate_fails_only_when_its_expiry_matters() -> None:
    broken = [
        InstalledCertificate.model_validate(
            {"CommonName": "device-1", "IsIdentity": True, "Data": "bm90IGRlcg=="}
        )
    ]
    assert decide(start(criteria={"always_replace": True}), broken, NOW).install
    with pytest.raises(StepError, match="certificate 'device-1' cannot be read"):
        decide(start(criteria={"until_expiry_sec": 60}), broken, NOW)


def test_a_replacement_secret_names_its_start_and_nothing_else_does() -> None:
    instance_id = "5f0c2a4e-8d7b-4c1e-9a3f-2b6d8e0f1a2c"
    assert replacement_instance(replacement_secret(instance_id, "%CHALLENGE%")) == instance_id
    assert replacement_instance(replacement_secret(instance_id, "a.replacement.b")) == instance_id
    assert replacement_instance("fv_prk") is None
    assert replacement_instance(f"{CERTPROF}.{instance_id}") is None
    assert replacement_instance(f"{CERTPROF}..replacement.%CN%") is None
