"""``io.micromdm.wf.certprof.v1``: install a certificate profile when the device lacks the
certificate, or renew it before it expires.

Typical use: a SCEP profile whose identity must stay valid, started periodically (an
IdleNotStartedSince subscription). The JSON context names the profile, the filter that finds
"its" certificate in the device's CertificateList, the replacement criteria, and text
replacements (``%CN%``, ``%CHALLENGE%``…) applied to the profile before it is sent. Those
values can be secrets: they never appear in errors or logs.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # cryptography's native code imports these while it parses a certificate; they must
    # already be pass-through modules then, or the sandbox would load second copies.
    import _cffi_backend  # type: ignore[import-untyped]  # noqa: F401
    import cryptography.hazmat.bindings._rust
    import cryptography.x509.name  # noqa: F401

    from mdmflow.activities.content_models import StartRequirements
    from mdmflow.mdm.commands import CertificateList, InstallProfile
    from mdmflow.mdm.responses import CertificateListResponse
    from mdmflow.mdm.stored import TextReplacement
    from mdmflow.workflows.certprof_decide import (
        CERTPROF,
        CertProfResult,
        CertProfStart,
        decide,
        parse_certprof_context,
    )
    from mdmflow.workflows.content import load_profiles
    from mdmflow.workflows.engine import BAD_INPUT, MDMWorkflow
    from mdmflow.workflows.models import SealedContext, StepError, WorkflowStart
    from mdmflow.workflows.outcomes import outcome
    from mdmflow.workflows.workflow_config import WorkflowConfig


@workflow.defn(name=CERTPROF, failure_exception_types=BAD_INPUT)
class CertProfWorkflow(MDMWorkflow[CertProfStart, CertProfResult]):
    """Steps ``list`` (CertificateList) and, when needed, ``profile`` (InstallProfile).

    More than one matching certificate, or an InstallProfile the device refuses, fails the
    workflow with the reason; keeping a good certificate completes it with the decision.
    """

    config = WorkflowConfig(
        name=CERTPROF, summary="Install or renew a certificate profile", first_step="list"
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> CertProfResult:
        return await self.execute(start)

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> CertProfStart:
        return parse_certprof_context(start.context)

    @classmethod
    def requirements(cls, start: CertProfStart) -> StartRequirements:
        edited = [start.profile] if start.text_replacements or start.sealed_replacements else []
        return StartRequirements(profiles=[start.profile], unsigned_profiles=edited)

    @classmethod
    def seal_context(cls, start: CertProfStart, instance_id: str) -> SealedContext | None:
        """Text replacements often hold a SCEP challenge: the starter seals their values for
        each device and starts with a context that only names them."""
        if not start.text_replacements:
            return None
        moved, secrets = start.sealed(instance_id)
        return SealedContext(context=moved.model_dump_json(exclude_defaults=True), secrets=secrets)

    async def steps(self, start: CertProfStart) -> CertProfResult:
        listed = await self.step("list", [CertificateList(managed_only=not start.no_managed_only)])
        answer = listed.answer("CertificateList", CertificateListResponse)
        certificates = answer.certificate_list
        decision = decide(start, certificates, workflow.now())
        result = CertProfResult(
            enrollment_id=self.enrollment_id, profile=start.profile, decision=decision
        )
        workflow.logger.info(
            f"certprof: {decision.verdict}, {decision.reason}",
            extra={"enrollment_id": self.enrollment_id, "profile": start.profile},
        )
        if not decision.install:
            return result
        await load_profiles([start.profile])  # still stored; the enqueue reads its bytes
        replacements = [
            TextReplacement(old=old, new=new) for old, new in start.text_replacements.items() if old
        ] + [
            TextReplacement(old=old, new_secret=name)
            for old, name in start.sealed_replacements.items()
        ]
        command = InstallProfile.from_store(start.profile, replacements)
        done = await self.step("profile", [command])
        sent = outcome(done.commands[0], start.profile)
        if not sent.acknowledged:
            raise StepError(f"InstallProfile of {start.profile}: {sent.problem()}")
        return result.model_copy(update={"install": sent})
