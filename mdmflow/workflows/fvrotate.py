"""``io.micromdm.wf.fvrotate.v1``: rotate a Mac's FileVault recovery key and escrow the new one.

As NanoCMD: ``RotateFileVaultKey`` with the escrowed key as ``FileVaultUnlock.Password`` and
the escrow certificate as ``ReplyEncryptionCertificate``; the device answers with the new key
encrypted to that certificate, which is decrypted and replaces the stored one. The current
key is read from the sealed store by the enqueue activity, so it never enters workflow
history. The start context is ignored.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.filevault_keys import FileVaultActivities
    from mdmflow.activities.filevault_models import RotateCommandRequest
    from mdmflow.mdm.responses import RotateFileVaultKeyResponse
    from mdmflow.workflows.engine import BAD_INPUT, MDMWorkflow
    from mdmflow.workflows.escrow_steps import ACTIVITY_TIMEOUT, SUBSYSTEM_RETRY, escrow_envelope
    from mdmflow.workflows.models import StepError, WorkflowStart
    from mdmflow.workflows.results import FileVaultRotateResult
    from mdmflow.workflows.workflow_config import WorkflowConfig

FVROTATE = "io.micromdm.wf.fvrotate.v1"


@workflow.defn(name=FVROTATE, failure_exception_types=BAD_INPUT)
class FileVaultRotateWorkflow(MDMWorkflow[WorkflowStart, FileVaultRotateResult]):
    """One step ``""`` with ``RotateFileVaultKey``.

    Fails with a ``StepError`` when no key is escrowed yet, on a timeout or an answer other
    than Acknowledged, when the answer has no new key, or when the new key does not decrypt.
    """

    config = WorkflowConfig(
        name=FVROTATE, summary="Rotate the FileVault recovery key and escrow the new one"
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> FileVaultRotateResult:
        return await self.execute(start)

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> WorkflowStart:
        return start

    async def steps(self, start: WorkflowStart) -> FileVaultRotateResult:
        prepared = await workflow.execute_activity_method(
            FileVaultActivities.rotate_command,
            RotateCommandRequest(enrollment_id=start.enrollment_id),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=SUBSYSTEM_RETRY,
            summary="build RotateFileVaultKey from the escrowed key",
        )
        if prepared.command is None:
            raise StepError(prepared.problem)
        answer = await self.step("", [prepared.command])
        result = answer.answer("RotateFileVaultKey", RotateFileVaultKeyResponse).rotate_result
        envelope = result.encrypted_new_recovery_key if result else None
        if not envelope:
            raise StepError(
                "RotateFileVaultKey was acknowledged without an EncryptedNewRecoveryKey"
            )
        escrow = await escrow_envelope(start.enrollment_id, envelope, FVROTATE)
        if not escrow.escrowed:
            raise StepError(f"the new recovery key could not be escrowed: {escrow.problem}")
        return FileVaultRotateResult(enrollment_id=start.enrollment_id, escrowed_at=workflow.now())
