"""The profile workflow's decisions without Temporal: context, plan, and outcomes."""

from __future__ import annotations

import pytest

from mdmflow.activities.content_models import ProfilePayload
from mdmflow.mdm.commands import InstallProfile, RemoveProfile
from mdmflow.mdm.reports import CommandStatus, ErrorChainItem
from mdmflow.mdm.responses import InstalledProfile
from mdmflow.workflows.errors import ContextError
from mdmflow.workflows.models import CommandResult, StepError, StepResult
from mdmflow.workflows.profile_plan import (
    ProfileAction,
    ProfileStart,
    ProfileWant,
    outcomes_of,
    parse_profile_context,
    plan_changes,
    plan_commands,
)

STORED = {
    name: ProfilePayload(name=name, identifier=f"com.example.{name}", uuid=f"{name}-v2")
    for name in ("current", "stale", "missing", "gone", "absent")
}
DEVICE = [
    InstalledProfile(payload_identifier="com.example.current", payload_uuid="current-v2"),
    InstalledProfile(payload_identifier="com.example.stale", payload_uuid="stale-v1"),
    InstalledProfile(payload_identifier="com.example.gone", payload_uuid="gone-v1"),
    InstalledProfile(payload_identifier="com.example.unrelated", payload_uuid="x"),
]
CONTEXT = "current,stale,missing,-gone,-absent"


def test_context_lists_installs_and_removals_in_order() -> None:
    start = parse_profile_context(" current, stale ,-gone,- absent,current")
    assert start.wanted == [
        ProfileWant(name="current"),
        ProfileWant(name="stale"),
        ProfileWant(name="gone", remove=True),
        ProfileWant(name="absent", remove=True),
    ]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ("", "missing profile names"),
        ("  ", "missing profile names"),
        ("a,,b", "profile name 2 of 'a,,b' is empty"),
        ("a,-", "profile name 2 of 'a,-' is empty"),
        ("a,-a", "profile a is both to install and to remove"),
    ],
)
def test_bad_contexts_are_refused(context: str, message: str) -> None:
    with pytest.raises(ContextError, match=message):
        parse_profile_context(context)


def test_plan_follows_nanocmds_rules() -> None:
    plan = plan_changes(parse_profile_context(CONTEXT), STORED, DEVICE)
    assert [(c.name, c.remove, c.previous_uuid) for c in plan.changes] == [
        ("stale", False, "stale-v1"),
        ("missing", False, None),
        ("gone", True, None),
    ]
    assert [(o.name, o.action) for o in plan.settled] == [
        ("current", ProfileAction.ALREADY_CURRENT),
        ("absent", ProfileAction.NOT_PRESENT),
    ]
    assert plan.to_install == ["stale", "missing"]


def test_commands_name_the_stored_profiles_and_carry_the_identifier() -> None:
    plan = plan_changes(parse_profile_context(CONTEXT), STORED, DEVICE)
    payloads = {
        "stale": STORED["stale"],
        "missing": STORED["missing"].model_copy(update={"uuid": "v3"}),
    }
    commands = plan_commands(plan, payloads)
    assert [command for _, command in commands] == [
        InstallProfile.from_store("stale"),
        InstallProfile.from_store("missing"),
        RemoveProfile(identifier="com.example.gone"),
    ]
    assert all(not c.payload for _, c in commands if isinstance(c, InstallProfile))
    assert commands[1][0].uuid == "v3"  # replaced since the plan: the sent version is reported


def test_installing_and_removing_the_same_identifier_is_refused() -> None:
    stored = {**STORED, "twin": STORED["gone"].model_copy(update={"name": "twin"})}
    start = ProfileStart(wanted=[ProfileWant(name="twin"), ProfileWant(name="gone", remove=True)])
    with pytest.raises(StepError, match=r"share the PayloadIdentifier com\.example\.gone"):
        plan_changes(start, stored, DEVICE)


def test_outcomes_per_profile_from_the_answers() -> None:
    start = parse_profile_context(CONTEXT)
    plan = plan_changes(start, STORED, DEVICE)
    sent = [change for change, _ in plan_commands(plan, {n: STORED[n] for n in plan.to_install})]
    chain = [ErrorChainItem(error_code=-909, error_domain="NSOSStatusErrorDomain")]
    done = StepResult(
        step="install",
        enrollment_id="E",
        commands=[
            CommandResult(command_uuid="1", request_type="InstallProfile", status="Acknowledged"),
            CommandResult(
                command_uuid="2", request_type="InstallProfile", status="Error", error_chain=chain
            ),
            CommandResult(command_uuid="3", request_type="RemoveProfile", status="NotNow"),
        ],
        timed_out=True,
    )
    outcomes = {o.name: o for o in outcomes_of(start, plan, sent, done)}
    assert list(outcomes) == ["current", "stale", "missing", "gone", "absent"]
    assert outcomes["stale"].action is ProfileAction.INSTALLED
    assert outcomes["stale"].previous_uuid == "stale-v1"
    assert outcomes["missing"].action is ProfileAction.FAILED
    assert outcomes["missing"].error_chain == chain
    assert outcomes["missing"].detail == "the device answered Error: (NSOSStatusErrorDomain -909)"
    assert outcomes["gone"].action is ProfileAction.FAILED
    assert outcomes["gone"].status is None
    assert "did not answer before the step timeout" in outcomes["gone"].detail
    assert outcomes["current"].action is ProfileAction.ALREADY_CURRENT
    assert outcomes["absent"].action is ProfileAction.NOT_PRESENT
    assert outcomes["current"].command_uuid is None
    assert outcomes["stale"].status is CommandStatus.ACKNOWLEDGED
