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

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.filevault_keys import FileVaultActivities
    from mdmflow.activities.filevault_models import EnableProfileRequest, ProfileSource
    from mdmflow.mdm.commands import InstallProfile, SecurityInfo
    from mdmflow.workflows.engine import BAD_INPUT, MDMWorkflow
    from mdmflow.workflows.escrow_steps import ACTIVITY_TIMEOUT, SUBSYSTEM_RETRY, escrow_envelope
    from mdmflow.workflows.fvenable_poll import (
        FVENABLE,
        MAX_POLLS,
        POLL_INTERVAL,
        POLLS_PER_RUN,
        FileVaultEnableResult,
        FileVaultProgress,
        PollOutcome,
        poll_outcome,
    )
    from mdmflow.workflows.models import StepError, WorkflowStart
    from mdmflow.workflows.workflow_config import WorkflowConfig


@workflow.defn(name=FVENABLE, failure_exception_types=BAD_INPUT)
class FileVaultEnableWorkflow(MDMWorkflow[FileVaultProgress, FileVaultEnableResult]):
    """Step ``install`` (InstallProfile), then up to 180 ``poll`` steps (SecurityInfo, +2 min).

    Fails with a ``StepError`` when the profile cannot be built or is not acknowledged, and
    when the last poll still found no key.
    """

    config = WorkflowConfig(
        name=FVENABLE,
        summary="Enable FileVault and escrow the recovery key",
        first_step="install",
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> FileVaultEnableResult:
        return await self.execute(start)

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
        if progress.last_reason is not None:
            self.waiting_for(_waiting(progress.last_reason, progress.polls))
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
            progress = progress.model_copy(update={"last_reason": found.reason})
            self.waiting_for(_waiting(found.reason, progress.polls))
        raise StepError(
            f"FileVault was not on with a recovery key after {MAX_POLLS} SecurityInfo polls"
        )

    async def _install_profile(self) -> ProfileSource:
        profile = await workflow.execute_activity_method(
            FileVaultActivities.enable_profile,
            EnableProfileRequest(profile_name=FVENABLE),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=SUBSYSTEM_RETRY,
            summary="build the enable profile with the escrow certificate",
        )
        if profile.problem:
            raise StepError(profile.problem)
        answer = await self.step("install", [InstallProfile(payload=profile.payload)])
        answer.acknowledged("InstallProfile")
        return profile.source


def _waiting(reason: str, polls: int) -> str:
    """What the workflow waits for, in the Web UI and the status query."""
    minutes = POLL_INTERVAL.total_seconds() / 60
    return f"{reason} (poll {polls} of {MAX_POLLS}; the next in {minutes:.0f} minutes)"
