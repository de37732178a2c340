"""The content workflows' decisions over real device reports: certprof over real
CertificateLists (NanoCMD's own certprof case among them), the profile plan over real
ProfileLists, and a real InstallProfile refusal as a per-profile failure."""

from __future__ import annotations

import datetime as dt

import pytest

from mdmflow.activities.content_models import ProfilePayload
from mdmflow.mdm.reports import ParsedReport
from mdmflow.mdm.responses import CertificateListResponse, ProfileListResponse
from mdmflow.workflows.certprof_decide import CertProfStart, Verdict, decide
from mdmflow.workflows.models import CommandResult, StepError, StepResult
from mdmflow.workflows.profile_plan import (
    ProfileAction,
    outcomes_of,
    parse_profile_context,
    plan_changes,
    plan_commands,
)
from tests.conformance.corpus import require_corpus

CORPUS = require_corpus()
NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def report(path: str) -> ParsedReport:
    return ParsedReport.from_plist((CORPUS / path).read_bytes())


def certificates(name: str) -> CertificateListResponse:
    return CertificateListResponse.model_validate(report(f"results/CertificateList/{name}").payload)


def context(**fields: object) -> CertProfStart:
    return CertProfStart.model_validate({"profile": "scep", **fields})


def test_nanocmds_certprof_case_replaces_the_error_identity() -> None:
    """workflow/certprof/workflow_test.go: cn_prefix "?Error", always_replace → install."""
    listed = certificates("nanocmd--certprof-certlist.plist").certificate_list
    decision = decide(
        context(filter={"cn_prefix": "?Error"}, criteria={"always_replace": True}), listed, NOW
    )
    assert decision.verdict is Verdict.REPLACE
    assert decision.matched is not None
    assert decision.matched.common_name == "?Error_-26276?"
    assert decision.matched.not_after == dt.datetime(2034, 4, 30, 17, 43, 31, tzinfo=dt.UTC)
    kept = decide(
        context(filter={"cn_prefix": "?Error"}, criteria={"until_expiry_sec": 30 * 86400}),
        listed,
        NOW,
    )
    assert kept.verdict is Verdict.KEEP


def test_real_lists_with_identities_and_cas() -> None:
    zentral = certificates("zentral.plist").certificate_list
    assert decide(context(filter={"cn_prefix": "zentral"}), zentral, NOW).verdict is Verdict.KEEP
    only_ca = context(filter={"cn_prefix": "Zentral CA"})
    assert decide(only_ca, zentral, NOW).verdict is Verdict.INSTALL  # a CA is no identity
    mac = certificates("commandment--macOS-10.11.plist").certificate_list
    everything = context(filter={"allow_non_identity": True}, criteria={"always_replace": True})
    with pytest.raises(StepError, match=r"^2 certificates match \(any certificate\)"):
        decide(everything, mac, NOW)


def test_profile_plan_over_a_real_profile_list() -> None:
    listed = ProfileListResponse.model_validate(
        report("results/ProfileList/zentral--macOS.plist").payload
    ).profile_list
    stored = {
        "santa": ProfilePayload(
            name="santa",
            identifier="com.example.zentral.santa_configuration",
            uuid="db2004f8-9e9f-4043-8a6f-339cfd7d7891",
        ),
        "mdm": ProfilePayload(
            name="mdm", identifier="com.example.zentral.mdm", uuid="a-newer-version"
        ),
        "new": ProfilePayload(name="new", identifier="com.example.new", uuid="n"),
    }
    start = parse_profile_context("santa,mdm,new")
    plan = plan_changes(start, stored, listed)
    assert [(o.name, o.action) for o in plan.settled] == [("santa", ProfileAction.ALREADY_CURRENT)]
    assert [(c.name, c.previous_uuid) for c in plan.changes] == [
        ("mdm", "075aac62-b261-46a7-9f0c-f9a69f13f7a7"),
        ("new", None),
    ]

    refused = report("results/InstallProfile/nanocmd--certprof-error-909.plist")
    acked = report("results/InstallProfile/nanocmd--certprof-ack.plist")
    sent = [change for change, _ in plan_commands(plan, stored)]
    done = StepResult(
        step="install",
        enrollment_id="E",
        commands=[
            CommandResult(
                command_uuid=r.command_uuid,
                request_type="InstallProfile",
                status=r.status,
                error_chain=r.error_chain,
            )
            for r in (acked, refused)
        ],
    )
    outcomes = {o.name: o for o in outcomes_of(start, plan, sent, done)}
    assert outcomes["mdm"].action is ProfileAction.INSTALLED
    assert outcomes["new"].action is ProfileAction.FAILED
    assert [e.error_code for e in outcomes["new"].error_chain] == [-909]
