"""``io.micromdm.wf.lock.v1``: lock a Mac with a Find My PIN that IT can look up later.

As NanoCMD: the PIN and the time it was sent are stored *before* the DeviceLock goes out, so
a locked device always has its PIN escrowed; the acknowledgement time and MessageResult are
stored when the device answers. Unlike NanoCMD the PIN comes from a cryptographic source
(drawn in an activity) and is stored sealed; the enqueue activity reads it from there, so it
never appears in workflow history (not even encrypted), the result, a log line, an error or
a search attribute.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.lock import LockActivities
    from mdmflow.activities.lock_models import (
        LOCK_WORKFLOW,
        PIN_SECRET,
        LockAcknowledged,
        LockEscrow,
        LockNewPin,
    )
    from mdmflow.mdm.commands import DeviceLock
    from mdmflow.mdm.responses import DeviceLockResponse
    from mdmflow.mdm.stored import StoredValue
    from mdmflow.workflows.engine import BAD_INPUT, MDMWorkflow
    from mdmflow.workflows.models import WorkflowStart
    from mdmflow.workflows.results import LockResult
    from mdmflow.workflows.workflow_config import WorkflowConfig

ACTIVITY_TIMEOUT = timedelta(seconds=30)
PIN_BY_REFERENCE_PATCH = "lock-pin-by-reference"
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
)


@workflow.defn(name=LOCK_WORKFLOW, failure_exception_types=BAD_INPUT)
class LockWorkflow(MDMWorkflow[WorkflowStart, LockResult]):
    """One step ``""`` with ``DeviceLock``; the start context is ignored, as in NanoCMD.

    A step timeout or an answer other than Acknowledged fails the workflow with a
    ``StepError``; the PIN stays escrowed, since the device may still have been locked.
    """

    config = WorkflowConfig(
        name=LOCK_WORKFLOW, summary="Lock a device with an escrowed PIN", first_step="DeviceLock"
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> LockResult:
        return await self.execute(start)

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> WorkflowStart:
        return start

    async def steps(self, start: WorkflowStart) -> LockResult:
        if self.patched_before_engine(start, PIN_BY_REFERENCE_PATCH):
            sent_at = workflow.now()
            await workflow.execute_activity_method(
                LockActivities.escrow_new_pin,
                LockNewPin(enrollment_id=start.enrollment_id, sent_at=sent_at),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=STORE_RETRY,
                summary="draw a PIN and escrow it sealed",
            )
            command = DeviceLock(stored=(StoredValue(key=("PIN",), secret=PIN_SECRET),))
        else:
            sent_at, command = await self._pin_through_history(start)
        answer = await self.step("", [command])
        message = answer.answer("DeviceLock", DeviceLockResponse).message_result
        acknowledged_at = workflow.now()
        await workflow.execute_activity_method(
            LockActivities.record_acknowledged,
            LockAcknowledged(
                enrollment_id=start.enrollment_id,
                acknowledged_at=acknowledged_at,
                message_result=message,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary="record the acknowledgement",
        )
        return LockResult(
            enrollment_id=start.enrollment_id,
            sent_at=sent_at,
            acknowledged_at=acknowledged_at,
            message_result=message,
        )

    async def _pin_through_history(self, start: WorkflowStart) -> tuple[datetime, DeviceLock]:
        """How locks started before the PIN stayed in the sealed store ran (their replays)."""
        drawn = await workflow.execute_activity_method(
            LockActivities.draw_pin,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary="draw a PIN",
        )
        sent_at = workflow.now()
        await workflow.execute_activity_method(
            LockActivities.escrow_pin,
            LockEscrow(enrollment_id=start.enrollment_id, pin=drawn.pin, sent_at=sent_at),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary="escrow the PIN",
        )
        return sent_at, DeviceLock(pin=drawn.pin)
