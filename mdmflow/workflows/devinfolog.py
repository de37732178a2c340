"""``io.micromdm.wf.devinfolog.v1``: ask a device for its basic facts and log them.

NanoCMD logs one line; here the reported values are also the workflow's result, so they can
be read in the Web UI or with ``temporal workflow result``.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.mdm.commands import DeviceInformation
    from mdmflow.mdm.plist import JsonValue
    from mdmflow.mdm.responses import DeviceInformationResponse
    from mdmflow.workflows.engine import MDMWorkflow, mdm_workflow
    from mdmflow.workflows.models import StepError, WorkflowStart

QUERIES = ["UDID", "SerialNumber", "Model", "ModelName", "DeviceName", "OSVersion", "BuildVersion"]


class DeviceInfoLog(BaseModel):
    """The DeviceInformation values the device reported (queries it does not know are absent)."""

    enrollment_id: str
    values: dict[str, JsonValue]


@mdm_workflow("io.micromdm.wf.devinfolog.v1", summary="Log a device's DeviceInformation")
class DevInfoLogWorkflow(MDMWorkflow[WorkflowStart, DeviceInfoLog]):
    """One ``DeviceInformation`` step; the start context is ignored, as in NanoCMD."""

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> WorkflowStart:
        return start

    async def steps(self, start: WorkflowStart) -> DeviceInfoLog:
        answer = await self.step("", [DeviceInformation(queries=QUERIES)])
        if answer.timed_out:
            raise StepError("the device did not answer DeviceInformation before the step timeout")
        info = answer.of_type("DeviceInformation")
        if not info.acknowledged:
            chain = "; ".join(e.localized_description for e in info.error_chain)
            raise StepError(f"DeviceInformation answered {info.status}: {chain or 'no detail'}")
        values = info.response(DeviceInformationResponse).query_responses
        workflow.logger.info(
            ", ".join(f"{q}={values.get(q, '')}" for q in QUERIES),
            extra={"enrollment_id": start.enrollment_id},
        )
        return DeviceInfoLog(enrollment_id=start.enrollment_id, values=values)
