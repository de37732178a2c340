"""``io.micromdm.wf.fvenable.v1``: turn FileVault on and escrow the personal recovery key.

Step ``install`` sends the enable profile: the one stored under this workflow's name, else
the built-in template (NanoCMD's fallback fails when nothing is stored; this one works), with
the deployment's escrow certificate inserted. Then step ``poll`` asks ``SecurityInfo`` every
two minutes, up to 180 times, until FileVault is on and the device sent the recovery key
encrypted to that certificate; the key is then decrypted and stored sealed.

A poll that finds no key (FileVault waits for the next login), a damaged envelope or a
device that did not answer is logged with the reason and the polling goes on. Every
``POLLS_PER_RUN`` polls the workflow continues as new, carrying :class:`FileVaultProgress`,
so six hours of polling never grow one history past a few hundred events. The start context
is ignored, as in NanoCMD.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.filevault_models import (
        FV_ENABLE_PROFILE_ACTIVITY,
        EnableProfile,
        EnableProfileRequest,
        ProfileSource,
    )
    from mdmflow.mdm.commands import InstallProfile, SecurityInfo
    from mdmflow.mdm.responses import SecurityInfoResponse
    from mdmflow.workflows.engine import MDMWorkflow, mdm_workflow
    from mdmflow.workflows.filevault import ACTIVITY_TIMEOUT, SUBSYSTEM_RETRY, escrow_envelope
    from mdmflow.workflows.models import StepError, StepResult, WorkflowStart

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
    if answer.timed_out:
        return PollOutcome(
            reason="the device did not answer SecurityInfo before the step timeout", problem=True
        )
    result = answer.of_type("SecurityInfo")
    if not result.acknowledged:
        chain = "; ".join(e.localized_description for e in result.error_chain)
        return PollOutcome(
            reason=f"SecurityInfo answered {result.status}: {chain or 'no detail'}", problem=True
        )
    try:
        info = result.response(SecurityInfoResponse).security_info
    except StepError as exc:
        return PollOutcome(reason=str(exc), problem=True)
    if info.fde_enabled is not True:
        return PollOutcome(reason="FileVault is not on yet")
    if not info.fde_personal_recovery_key_cms:
        return PollOutcome(reason="FileVault is on but no FDE_PersonalRecoveryKeyCMS was sent")
    return PollOutcome(envelope=info.fde_personal_recovery_key_cms)


@mdm_workflow(FVENABLE, summary="Enable FileVault and escrow the recovery key")
class FileVaultEnableWorkflow(MDMWorkflow[FileVaultProgress, FileVaultEnableResult]):
    """Step ``install`` (InstallProfile), then up to 180 ``poll`` steps (SecurityInfo, +2 min).

    Fails with a ``StepError`` when the profile cannot be built or is not acknowledged, and
    when the last poll still found no key.
    """

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> FileVaultProgress:
        if start.continued is None:
            return FileVaultProgress()
        return FileVaultProgress.model_validate(start.continued.state)

    async def steps(self, start: FileVaultProgress) -> FileVaultEnableResult:
        progress = start
        source = progress.profile_source or await self._install_profile()
        progress = progress.model_copy(update={"profile_source": source})
        polled_this_run = 0
        while progress.polls < MAX_POLLS:
            if polled_this_run >= POLLS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await self.continue_as_new(progress)
            answer = await self.step(
                "poll", [SecurityInfo()], not_until=workflow.now() + POLL_INTERVAL
            )
            progress = progress.model_copy(update={"polls": progress.polls + 1})
            polled_this_run += 1
            found = poll_outcome(answer)
            if found.envelope is not None:
                escrow = await escrow_envelope(self.enrollment_id, found.envelope, FVENABLE)
                if escrow.escrowed:
                    return FileVaultEnableResult(
                        enrollment_id=self.enrollment_id,
                        profile_source=source,
                        polls=progress.polls,
                        escrowed_at=workflow.now(),
                    )
                found = PollOutcome(
                    reason=f"the recovery key envelope does not open: {escrow.problem}",
                    problem=True,
                )
            log = workflow.logger.warning if found.problem else workflow.logger.info
            log(
                f"poll {progress.polls} of {MAX_POLLS}: no recovery key escrowed: {found.reason}",
                extra={"enrollment_id": self.enrollment_id},
            )
        raise StepError(
            f"FileVault was not on with a recovery key after {MAX_POLLS} SecurityInfo polls"
        )

    async def _install_profile(self) -> ProfileSource:
        profile: EnableProfile = await workflow.execute_activity(
            FV_ENABLE_PROFILE_ACTIVITY,
            EnableProfileRequest(profile_name=FVENABLE),
            result_type=EnableProfile,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=SUBSYSTEM_RETRY,
            summary="build the enable profile with the escrow certificate",
        )
        if profile.problem:
            raise StepError(profile.problem)
        answer = await self.step("install", [InstallProfile(payload=profile.payload)])
        if answer.timed_out:
            raise StepError("the device did not answer InstallProfile before the step timeout")
        installed = answer.of_type("InstallProfile")
        if not installed.acknowledged:
            chain = "; ".join(e.localized_description for e in installed.error_chain)
            raise StepError(f"InstallProfile answered {installed.status}: {chain or 'no detail'}")
        return profile.source
