"""``io.micromdm.wf.inventory.v1``: keep an enrollment's inventory record current.

One step sends ``DeviceInformation`` and ``SecurityInfo``. When both are answered, this workflow
stores the DeviceInformation values. The SecurityInfo values are stored by the event handler
``io.micromdm.wf.inventory.v1.events``, as in NanoCMD: it receives every SecurityInfo report of
*any* workflow (FileVault polls included) as an AllCommandResponse event, even before the step
completes. The start context is ignored.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.inventory import InventoryActivities
    from mdmflow.activities.mdm import MDMActivities
    from mdmflow.activities.models import InventoryUpdate, PayloadRef
    from mdmflow.failures import INVALID_REPORT, UNEXPECTED_EVENT
    from mdmflow.mdm.commands import DeviceInformation, SecurityInfo
    from mdmflow.mdm.plist import JsonValue
    from mdmflow.mdm.reports import CommandStatus
    from mdmflow.mdm.responses import (
        DeviceInformationResponse,
        SecurityInfoDetails,
        SecurityInfoResponse,
    )
    from mdmflow.workflows.engine import BAD_INPUT, REPORT_VIEW_PATCH, MDMWorkflow
    from mdmflow.workflows.event_handlers import EventDelivery, MDMEventHandler
    from mdmflow.workflows.inventory_values import (
        INVENTORY,
        INVENTORY_EVENTS,
        QUERIES,
        InventoryEventResult,
        InventoryResult,
        InventoryValues,
        device_inventory,
        security_inventory,
    )
    from mdmflow.workflows.models import CommandReport, StepError, WorkflowStart
    from mdmflow.workflows.workflow_config import WorkflowConfig

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
)


@workflow.defn(name=INVENTORY, failure_exception_types=BAD_INPUT)
class InventoryWorkflow(MDMWorkflow[WorkflowStart, InventoryResult]):
    """One step ``""`` with DeviceInformation and SecurityInfo; stores DeviceInformation values.

    A step timeout or a DeviceInformation that is not Acknowledged fails the workflow with a
    ``StepError``. The SecurityInfo answer is left to :class:`InventoryEventsWorkflow`.
    """

    config = WorkflowConfig(
        name=INVENTORY,
        summary="Store a device's DeviceInformation and SecurityInfo values",
        first_step="DeviceInformation + SecurityInfo",
        command_response_types=frozenset({"SecurityInfo"}),
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> InventoryResult:
        return await self.execute(start)

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> WorkflowStart:
        return start

    async def steps(self, start: WorkflowStart) -> InventoryResult:
        answer = await self.step("", [DeviceInformation(queries=QUERIES), SecurityInfo()])
        if answer.timed_out:
            missing = [
                c.request_type for c in answer.commands if c.status is None or not c.status.is_final
            ]
            raise StepError(
                f"the device did not answer {' and '.join(missing)} before the step timeout"
            )
        values = answer.answer("DeviceInformation", DeviceInformationResponse).query_responses
        stored = device_inventory(values, workflow.now())
        if stored is None:
            workflow.logger.info(
                "DeviceInformation held none of the inventory values; nothing stored",
                extra={"enrollment_id": start.enrollment_id},
            )
        else:
            await merge_inventory(start.enrollment_id, stored)
        return InventoryResult(enrollment_id=start.enrollment_id, stored=stored)


@workflow.defn(name=INVENTORY_EVENTS, failure_exception_types=BAD_INPUT)
class InventoryEventsWorkflow(MDMEventHandler):
    """Store ``sip_enabled`` and ``fde_enabled`` from a SecurityInfo report of any workflow.

    Started by the bridge once per SecurityInfo report (AllCommandResponse). NotNow stores
    nothing; Error and CommandFormatError are logged and store nothing. A payload stored aside
    by the bridge (``payload_ref``) is read as a bounded view first.
    """

    config = WorkflowConfig(
        name=INVENTORY_EVENTS,
        summary="Store the SecurityInfo values of any workflow's report",
        command_response_types=InventoryWorkflow.config.command_response_types,
    )

    @workflow.run
    async def run(self, delivery: EventDelivery) -> InventoryEventResult:
        report = delivery.event.command_report
        if report is None or report.request_type not in self.config.command_response_types:
            got = report.request_type if report else delivery.event.type.value
            raise ApplicationError(
                f"{INVENTORY_EVENTS} takes SecurityInfo command responses, not {got or 'this'}",
                type=UNEXPECTED_EVENT,
                non_retryable=True,
            )
        result = InventoryEventResult(
            enrollment_id=delivery.enrollment_id,
            command_uuid=report.command_uuid,
            status=report.status,
        )
        if report.status is not CommandStatus.ACKNOWLEDGED:
            if report.status.is_final:
                chain = "; ".join(e.localized_description for e in report.error_chain)
                workflow.logger.warning(
                    f"SecurityInfo answered {report.status}: {chain or 'no detail'}; "
                    "nothing stored",
                    extra={
                        "enrollment_id": delivery.enrollment_id,
                        "command_uuid": report.command_uuid,
                    },
                )
            return result
        details = _security_info(report, await _payload(report))
        stored = security_inventory(details, workflow.now())
        if stored is not None:
            await merge_inventory(delivery.enrollment_id, stored)
        return result.model_copy(update={"stored": stored})


async def merge_inventory(enrollment_id: str, values: InventoryValues) -> None:
    await workflow.execute_activity_method(
        InventoryActivities.merge,
        InventoryUpdate(enrollment_id=enrollment_id, values=values.stored()),
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=STORE_RETRY,
        summary=f"store {values.last_source} values in the inventory",
    )


async def _payload(report: CommandReport) -> dict[str, JsonValue]:
    if report.payload is not None or report.payload_ref is None:
        return report.payload or {}
    if workflow.patched(REPORT_VIEW_PATCH):
        view = await workflow.execute_activity_method(
            MDMActivities.report_view,
            PayloadRef(ref=report.payload_ref),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY,
            summary="the SecurityInfo answer stored aside, as a bounded view",
        )
        return view.payload
    stored = await workflow.execute_activity_method(
        MDMActivities.load_report_payload,
        PayloadRef(ref=report.payload_ref),
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=STORE_RETRY,
        summary="load the SecurityInfo payload stored aside",
    )
    return stored.payload


def _security_info(report: CommandReport, payload: dict[str, JsonValue]) -> SecurityInfoDetails:
    try:
        return SecurityInfoResponse.model_validate(payload).security_info
    except ValidationError as exc:
        raise ApplicationError(
            f"SecurityInfo report {report.command_uuid} does not fit SecurityInfoResponse: {exc}",
            type=INVALID_REPORT,
            non_retryable=True,
        ) from None
