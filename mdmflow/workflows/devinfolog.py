"""``io.micromdm.wf.devinfolog.v1``: ask a device for its basic facts and log them.

NanoCMD logs one line; here the reported values are also the workflow's result, so they can
be read in the Web UI or with ``temporal workflow result``.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.mdm.commands import DeviceInformation
    from mdmflow.mdm.responses import DeviceInformationResponse
    from mdmflow.workflows.engine import BAD_INPUT, MDMWorkflow
    from mdmflow.workflows.models import WorkflowStart
    from mdmflow.workflows.results import DeviceInfoLog
    from mdmflow.workflows.workflow_config import WorkflowConfig

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
QUERIES = ["UDID", "SerialNumber", "Model", "ModelName", "DeviceName", "OSVersion", "BuildVersion"]


@workflow.defn(name=DEVINFOLOG, failure_exception_types=BAD_INPUT)
class DevInfoLogWorkflow(MDMWorkflow[WorkflowStart, DeviceInfoLog]):
    """One ``DeviceInformation`` step; the start context is ignored, as in NanoCMD."""

    config = WorkflowConfig(
        name=DEVINFOLOG,
        summary="Log a device's DeviceInformation",
        first_step="DeviceInformation",
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> DeviceInfoLog:
        return await self.execute(start)

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> WorkflowStart:
        return start

    async def steps(self, start: WorkflowStart) -> DeviceInfoLog:
        answer = await self.step("", [DeviceInformation(queries=QUERIES)])
        info = answer.answer("DeviceInformation", DeviceInformationResponse)
        values = info.query_responses
        workflow.logger.info(
            ", ".join(f"{q}={values.get(q, '')}" for q in QUERIES),
            extra={"enrollment_id": start.enrollment_id},
        )
        return DeviceInfoLog(enrollment_id=start.enrollment_id, values=values)
