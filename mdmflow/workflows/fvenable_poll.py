"""fvenable's polling as pure code: what one SecurityInfo poll found, and the progress
carried from run to run; unit-tested without Temporal and built once per worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from mdmflow.activities.filevault_models import ProfileSource
from mdmflow.mdm.responses import SecurityInfoResponse
from mdmflow.workflows.models import StepError, StepResult

FVENABLE = "io.micromdm.wf.fvenable.v1"
POLL_INTERVAL = timedelta(minutes=2)
MAX_POLLS = 180
POLLS_PER_RUN = 10
"""Polls per run before continuing as new: about 150 history events per run."""


class FileVaultProgress(BaseModel):
    """Where a run of fvenable starts; carried from run to run by continue-as-new."""

    model_config = ConfigDict(frozen=True)
    profile_source: ProfileSource | None = None
    """None until the profile is installed; then where it came from."""
    polls: int = Field(default=0, ge=0, le=MAX_POLLS)
    last_reason: str | None = None
    """Why the last poll found no key, so a continued run says it before its first poll."""


class FileVaultEnableResult(BaseModel):
    """The key is escrowed (read it from the inventory with ``secrets=1``)."""

    enrollment_id: str
    profile_source: ProfileSource
    polls: int
    escrowed_at: datetime


class PollOutcome(BaseModel):
    """What one SecurityInfo poll found: the key envelope, or why there is none yet."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")
    envelope: bytes | None = None
    reason: str = ""
    problem: bool = False
    """True when something is wrong (logged as a warning), not merely "not yet"."""


def poll_outcome(answer: StepResult) -> PollOutcome:
    """Decide on one poll: the envelope once FileVault is on and the key is present."""
    try:
        info = answer.answer("SecurityInfo", SecurityInfoResponse).security_info
    except StepError as exc:
        return PollOutcome(reason=str(exc), problem=True)
    if info.fde_enabled is not True:
        return PollOutcome(reason="FileVault is not on yet")
    if not info.fde_personal_recovery_key_cms:
        return PollOutcome(reason="FileVault is on but no FDE_PersonalRecoveryKeyCMS was sent")
    return PollOutcome(envelope=info.fde_personal_recovery_key_cms)
