"""``io.micromdm.wf.profile.v1``: make named profiles current on a device, remove others.

Context ``a,b,-c``: profiles a and b (from the profile store) must be installed in their
stored version, c must be gone. Every named profile must be in the store at start. One
``ProfileList`` (managed profiles only) shows what the device has; one step then sends the
``InstallProfile``s and ``RemoveProfile``s needed. The result says, per profile: installed,
already current, removed, not present, or failed with the device's error chain.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.content_models import StartRequirements
    from mdmflow.mdm.commands import ProfileList
    from mdmflow.mdm.responses import ProfileListResponse
    from mdmflow.workflows.content import load_profiles
    from mdmflow.workflows.engine import BAD_INPUT, MDMWorkflow
    from mdmflow.workflows.models import WorkflowStart
    from mdmflow.workflows.profile_plan import (
        PROFILE,
        ProfileResult,
        ProfileStart,
        outcomes_of,
        parse_profile_context,
        plan_changes,
        plan_commands,
    )
    from mdmflow.workflows.workflow_config import WorkflowConfig


@workflow.defn(name=PROFILE, failure_exception_types=BAD_INPUT)
class ProfileWorkflow(MDMWorkflow[ProfileStart, ProfileResult]):
    """Steps ``list`` (ProfileList, managed only) and, if anything differs, ``install``."""

    config = WorkflowConfig(
        name=PROFILE, summary="Install and remove configuration profiles", first_step="list"
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> ProfileResult:
        return await self.execute(start)

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> ProfileStart:
        return parse_profile_context(start.context)

    @classmethod
    def requirements(cls, start: ProfileStart) -> StartRequirements:
        return StartRequirements(profiles=start.names)

    async def steps(self, start: ProfileStart) -> ProfileResult:
        listed = await self.step("list", [ProfileList(managed_only=True)])
        installed = listed.answer("ProfileList", ProfileListResponse).profile_list
        stored = await load_profiles(start.names)
        plan = plan_changes(start, stored, installed)
        if not plan.changes:
            workflow.logger.info(
                "no profiles to install or remove after profile list",
                extra={"enrollment_id": self.enrollment_id},
            )
            return ProfileResult.of(self.enrollment_id, outcomes_of(start, plan, [], None))
        payloads = await load_profiles(plan.to_install) if plan.to_install else {}
        commands = plan_commands(plan, payloads)
        done = await self.step("install", [command for _, command in commands])
        sent = [change for change, _ in commands]
        result = ProfileResult.of(self.enrollment_id, outcomes_of(start, plan, sent, done))
        counts = {f"count_{action}": n for action, n in result.counts.items()}
        workflow.logger.info("profiles done", extra={"enrollment_id": self.enrollment_id, **counts})
        return result
