"""fvenable's poll decision as a pure function: the envelope only once FileVault is on and
the key was sent; every other answer is a reason to poll again (warning or just "not yet")."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mdmflow.mdm.reports import CommandStatus, ErrorChainItem
from mdmflow.workflows.fvenable_poll import FileVaultProgress, poll_outcome
from mdmflow.workflows.models import CommandResult, StepResult

ENVELOPE = b"\x30\x80cms"


def answered(
    security_info: dict[str, Any] | None = None,
    status: CommandStatus | None = CommandStatus.ACKNOWLEDGED,
    timed_out: bool = False,
    chain: list[ErrorChainItem] | None = None,
) -> StepResult:
    payload: dict[str, Any] = {} if security_info is None else {"SecurityInfo": security_info}
    return StepResult(
        step="poll",
        enrollment_id="E1",
        timed_out=timed_out,
        commands=[
            CommandResult(
                command_uuid="U1",
                request_type="SecurityInfo",
                status=status,
                payload=payload,
                error_chain=chain or [],
            )
        ],
    )


def test_enabled_with_key_gives_the_envelope() -> None:
    cms = base64.b64encode(ENVELOPE).decode()
    found = poll_outcome(answered({"FDE_Enabled": True, "FDE_PersonalRecoveryKeyCMS": cms}))
    assert found.envelope == ENVELOPE
    assert not found.problem


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        ({"FDE_Enabled": False}, "FileVault is not on yet"),
        ({}, "FileVault is not on yet"),
        ({"FDE_Enabled": True}, "no FDE_PersonalRecoveryKeyCMS was sent"),
    ],
)
def test_not_yet_is_not_a_problem(info: dict[str, Any], reason: str) -> None:
    found = poll_outcome(answered(info))
    assert found.envelope is None
    assert reason in found.reason
    assert not found.problem


def test_timeout_error_and_unreadable_answers_are_problems() -> None:
    timed_out = poll_outcome(answered(status=None, timed_out=True))
    assert timed_out.problem
    assert "did not answer SecurityInfo" in timed_out.reason
    chain = [
        ErrorChainItem.model_validate(
            {"ErrorCode": 1, "ErrorDomain": "MCMDMErrorDomain", "LocalizedDescription": "nope"}
        )
    ]
    failed = poll_outcome(answered(status=CommandStatus.ERROR, chain=chain))
    assert failed.problem
    assert "Error: nope" in failed.reason
    unreadable = poll_outcome(answered(None))
    assert unreadable.problem
    assert "does not fit SecurityInfoResponse" in unreadable.reason


def test_progress_round_trips_as_carried_state() -> None:
    progress = FileVaultProgress(profile_source="built-in", polls=37)
    assert FileVaultProgress.model_validate(progress.model_dump(mode="json")) == progress
    with pytest.raises(ValueError, match="less than or equal to 180"):
        FileVaultProgress(polls=181)
