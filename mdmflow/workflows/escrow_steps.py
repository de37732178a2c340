"""What fvenable and fvrotate share: escrowing a recovery-key envelope through the activity."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.filevault_keys import FileVaultActivities
    from mdmflow.activities.filevault_models import EscrowOutcome, EscrowRequest

ACTIVITY_TIMEOUT = timedelta(seconds=30)
SUBSYSTEM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
)


async def escrow_envelope(enrollment_id: str, envelope: bytes, workflow_name: str) -> EscrowOutcome:
    """Decrypt and store the key in ``envelope``; the outcome says why not if it failed."""
    return await workflow.execute_activity_method(
        FileVaultActivities.escrow_recovery_key,
        EscrowRequest(
            enrollment_id=enrollment_id,
            envelope=envelope,
            workflow_name=workflow_name,
            escrowed_at=workflow.now(),
        ),
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=SUBSYSTEM_RETRY,
        summary="decrypt and escrow the recovery key",
    )
