"""Workflow-side calls of the content activities (profiles and command plans).

A profile or plan that is missing cannot appear by retrying, so those activities fail
non-retryably; here that failure becomes the workflow's own failure with the activity's
sentence (not "activity task failed"), so the Web UI says what to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.content import ContentActivities
    from mdmflow.activities.content_models import (
        CmdPlanRequirement,
        LoadedCmdPlan,
        ProfileNames,
        ProfilePayload,
    )

LOAD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
)
LOAD_TIMEOUT = timedelta(seconds=30)


async def load_profiles(names: Sequence[str]) -> dict[str, ProfilePayload]:
    """The named profiles' identities as stored now (their bytes stay in the app database:
    ``InstallProfile.from_store`` has the enqueue activity read them)."""
    try:
        loaded = await workflow.execute_activity_method(
            ContentActivities.load_profiles,
            ProfileNames(names=list(names)),
            start_to_close_timeout=LOAD_TIMEOUT,
            retry_policy=LOAD_RETRY,
            summary=f"load profiles {', '.join(names)}",
        )
    except ActivityError as err:
        raise _as_failure(err) from None
    return loaded.profiles


async def load_cmdplan(need: CmdPlanRequirement) -> LoadedCmdPlan:
    """The command plan with its profiles' identities, checked as at the start."""
    try:
        plan = await workflow.execute_activity_method(
            ContentActivities.load_cmdplan,
            need,
            start_to_close_timeout=LOAD_TIMEOUT,
            retry_policy=LOAD_RETRY,
            summary=f"load cmdplan {need.name}",
        )
    except ActivityError as err:
        raise _as_failure(err) from None
    return plan


def _as_failure(err: ActivityError) -> BaseException:
    cause = err.cause
    if is_cancelled_exception(err) or not isinstance(cause, ApplicationError):
        return err
    if not cause.non_retryable:
        return err
    return ApplicationError(cause.message, type=cause.type, non_retryable=True)
