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

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.lock_models import (
        LOCK_ACKNOWLEDGED_ACTIVITY,
        LOCK_ESCROW_ACTIVITY,
        LOCK_NEW_PIN_ACTIVITY,
        LOCK_PIN_ACTIVITY,
        LOCK_WORKFLOW,
        PIN_SECRET,
        LockAcknowledged,
        LockEscrow,
        LockNewPin,
        LockPin,
    )
    from mdmflow.mdm.commands import DeviceLock
    from mdmflow.mdm.responses import DeviceLockResponse
    from mdmflow.mdm.stored import StoredValue
    from mdmflow.workflows.engine import MDMWorkflow, mdm_workflow
    from mdmflow.workflows.models import StepError, WorkflowStart

ACTIVITY_TIMEOUT = timedelta(seconds=30)
PIN_BY_REFERENCE_PATCH = "lock-pin-by-reference"
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
)


class LockResult(BaseModel):
    """When the lock was sent and acknowledged; the PIN is in the inventory's secrets only."""

    enrollment_id: str
    sent_at: datetime
    acknowledged_at: datetime
    message_result: str | None = None


@mdm_workflow(LOCK_WORKFLOW, summary="Lock a device with an escrowed PIN")
class LockWorkflow(MDMWorkflow[WorkflowStart, LockResult]):
    """One step ``""`` with ``DeviceLock``; the start context is ignored, as in NanoCMD.

    A step timeout or an answer other than Acknowledged fails the workflow with a
    ``StepError``; the PIN stays escrowed, since the device may still have been locked.
    """

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> WorkflowStart:
        return start

    async def steps(self, start: WorkflowStart) -> LockResult:
        if workflow.patched(PIN_BY_REFERENCE_PATCH):
            sent_at = workflow.now()
            await workflow.execute_activity(
                LOCK_NEW_PIN_ACTIVITY,
                LockNewPin(enrollment_id=start.enrollment_id, sent_at=sent_at),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=STORE_RETRY,
                summary="draw a PIN and escrow it sealed",
            )
            command = DeviceLock(stored=(StoredValue(key=("PIN",), secret=PIN_SECRET),))
        else:
            sent_at, command = await self._pin_through_history(start)
        answer = await self.step("", [command])
        if answer.timed_out:
            raise StepError("the device did not answer DeviceLock before the step timeout")
        lock = answer.of_type("DeviceLock")
        if not lock.acknowledged:
            chain = "; ".join(e.localized_description for e in lock.error_chain)
            raise StepError(f"DeviceLock answered {lock.status}: {chain or 'no detail'}")
        message = lock.response(DeviceLockResponse).message_result
        acknowledged_at = workflow.now()
        await workflow.execute_activity(
            LOCK_ACKNOWLEDGED_ACTIVITY,
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
        drawn = await workflow.execute_activity(
            LOCK_PIN_ACTIVITY,
            result_type=LockPin,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary="draw a PIN",
        )
        sent_at = workflow.now()
        await workflow.execute_activity(
            LOCK_ESCROW_ACTIVITY,
            LockEscrow(enrollment_id=start.enrollment_id, pin=drawn.pin, sent_at=sent_at),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary="escrow the PIN",
        )
        return sent_at, DeviceLock(pin=drawn.pin)
