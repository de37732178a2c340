"""``io.micromdm.wf.fvrotate.v1``: rotate a Mac's FileVault recovery key and escrow the new one.

As NanoCMD: ``RotateFileVaultKey`` with the escrowed key as ``FileVaultUnlock.Password`` and
the escrow certificate as ``ReplyEncryptionCertificate``; the device answers with the new key
encrypted to that certificate, which is decrypted and replaces the stored one. The current
key travels to the MDM server inside the command, and in Temporal only inside encrypted
payloads. The start context is ignored.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.filevault_models import (
        FV_ROTATE_COMMAND_ACTIVITY,
        RotateCommand,
        RotateCommandRequest,
    )
    from mdmflow.mdm.responses import RotateFileVaultKeyResponse
    from mdmflow.workflows.engine import MDMWorkflow, mdm_workflow
    from mdmflow.workflows.filevault import ACTIVITY_TIMEOUT, SUBSYSTEM_RETRY, escrow_envelope
    from mdmflow.workflows.models import StepError, WorkflowStart

FVROTATE = "io.micromdm.wf.fvrotate.v1"


class FileVaultRotateResult(BaseModel):
    """The new key is escrowed (read it from the inventory with ``secrets=1``)."""

    enrollment_id: str
    escrowed_at: datetime


@mdm_workflow(FVROTATE, summary="Rotate the FileVault recovery key and escrow the new one")
class FileVaultRotateWorkflow(MDMWorkflow[WorkflowStart, FileVaultRotateResult]):
    """One step ``""`` with ``RotateFileVaultKey``.

    Fails with a ``StepError`` when no key is escrowed yet, on a timeout or an answer other
    than Acknowledged, when the answer has no new key, or when the new key does not decrypt.
    """

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> WorkflowStart:
        return start

    async def steps(self, start: WorkflowStart) -> FileVaultRotateResult:
        prepared = await workflow.execute_activity(
            FV_ROTATE_COMMAND_ACTIVITY,
            RotateCommandRequest(enrollment_id=start.enrollment_id),
            result_type=RotateCommand,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=SUBSYSTEM_RETRY,
            summary="build RotateFileVaultKey from the escrowed key",
        )
        if prepared.command is None:
            raise StepError(prepared.problem)
        answer = await self.step("", [prepared.command])
        if answer.timed_out:
            raise StepError("the device did not answer RotateFileVaultKey before the step timeout")
        rotated = answer.of_type("RotateFileVaultKey")
        if not rotated.acknowledged:
            chain = "; ".join(e.localized_description for e in rotated.error_chain)
            raise StepError(f"RotateFileVaultKey answered {rotated.status}: {chain or 'no detail'}")
        result = rotated.response(RotateFileVaultKeyResponse).rotate_result
        envelope = result.encrypted_new_recovery_key if result else None
        if not envelope:
            raise StepError(
                "RotateFileVaultKey was acknowledged without an EncryptedNewRecoveryKey"
            )
        escrow = await escrow_envelope(start.enrollment_id, envelope, FVROTATE)
        if not escrow.escrowed:
            raise StepError(f"the new recovery key could not be escrowed: {escrow.problem}")
        return FileVaultRotateResult(enrollment_id=start.enrollment_id, escrowed_at=workflow.now())
