"""``io.micromdm.wf.inventory.v1``: keep an enrollment's inventory record current.

One step sends ``DeviceInformation`` and ``SecurityInfo``. When both are answered, this workflow
stores the DeviceInformation values. The SecurityInfo values are stored by the event handler
``io.micromdm.wf.inventory.v1.events``, as in NanoCMD: it receives every SecurityInfo report of
*any* workflow (FileVault polls included) as an AllCommandResponse event, even before the step
completes. The start context is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.models import (
        INVENTORY_MERGE_ACTIVITY,
        LOAD_PAYLOAD_ACTIVITY,
        REPORT_VIEW_ACTIVITY,
        InventoryUpdate,
        PayloadRef,
        ReportView,
        StoredPayload,
    )
    from mdmflow.mdm.commands import DeviceInformation, SecurityInfo
    from mdmflow.mdm.plist import JsonValue
    from mdmflow.mdm.reports import CommandStatus
    from mdmflow.mdm.responses import (
        DeviceInformationResponse,
        SecurityInfoDetails,
        SecurityInfoResponse,
    )
    from mdmflow.workflows.engine import REPORT_VIEW_PATCH, MDMWorkflow, mdm_workflow
    from mdmflow.workflows.event_handlers import EventDelivery, MDMEventHandler
    from mdmflow.workflows.models import CommandReport, StepError, WorkflowStart

INVENTORY = "io.micromdm.wf.inventory.v1"
INVENTORY_EVENTS = f"{INVENTORY}.events"

DEVICE_INFORMATION_KEYS: dict[str, str] = {
    "SerialNumber": "serial_number",
    "Model": "model",
    "ModelName": "model_name",
    "DeviceName": "device_name",
    "BuildVersion": "build_version",
    "OSVersion": "os_version",
    "EthernetMAC": "ethernet_mac",
    "IsSupervised": "supervised",
    "IsAppleSilicon": "apple_silicon",
    "HasBattery": "has_battery",
    "SupportsLOMDevice": "supports_lom",
    "IsMultiUser": "is_multiuser",
}
"""DeviceInformation query → NanoCMD's inventory key."""

QUERIES = [
    "Model",
    "SerialNumber",
    "ModelName",
    "DeviceName",
    "BuildVersion",
    "OSVersion",
    "EthernetMAC",
    "IsAppleSilicon",
    "HasBattery",
    "IsMultiUser",
    "SupportsLOMDevice",
    "IsSupervised",
]
"""NanoCMD's queries in its order, with two deliberate differences.

NanoCMD asks for ``Model`` twice; it is asked once here. NanoCMD stores ``supervised`` from
``IsSupervised`` but never queries it, so that key never gets a value; here it is queried.
"""

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
)


class InventoryValues(BaseModel):
    """What one inventory write stores: some values plus where and when they came from."""

    model_config = ConfigDict(frozen=True)
    last_source: str
    modified: datetime

    def stored(self) -> dict[str, JsonValue]:
        """The keys and values merged into the inventory record (absent values left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class DeviceInventory(InventoryValues):
    """The DeviceInformation values the device reported, under NanoCMD's inventory keys."""

    serial_number: str | None = None
    model: str | None = None
    model_name: str | None = None
    device_name: str | None = None
    build_version: str | None = None
    os_version: str | None = None
    ethernet_mac: str | None = None
    supervised: bool | None = None
    apple_silicon: bool | None = None
    has_battery: bool | None = None
    supports_lom: bool | None = None
    is_multiuser: bool | None = None


class SecurityInventory(InventoryValues):
    """The SecurityInfo values the device reported, under NanoCMD's inventory keys."""

    sip_enabled: bool | None = None
    fde_enabled: bool | None = None


class InventoryResult(BaseModel):
    """The inventory workflow's result; ``stored`` is None when the device reported none of
    the values (then nothing was written)."""

    enrollment_id: str
    stored: DeviceInventory | None = None


class InventoryEventResult(BaseModel):
    """The event handler's result for one SecurityInfo report; ``stored`` as above."""

    enrollment_id: str
    command_uuid: str
    status: CommandStatus
    stored: SecurityInventory | None = None


def inventory_values(query_responses: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """NanoCMD's inventory keys for the DeviceInformation values present (not None)."""
    return {
        key: query_responses[query]
        for query, key in DEVICE_INFORMATION_KEYS.items()
        if query_responses.get(query) is not None
    }


def security_values(info: SecurityInfoDetails) -> dict[str, JsonValue]:
    """``sip_enabled`` and ``fde_enabled``, each only when the device reported it."""
    values: dict[str, JsonValue] = {
        "sip_enabled": info.system_integrity_protection_enabled,
        "fde_enabled": info.fde_enabled,
    }
    return {key: value for key, value in values.items() if value is not None}


def device_inventory(
    query_responses: Mapping[str, JsonValue], now: datetime
) -> DeviceInventory | None:
    """What to store for a DeviceInformation answer; None if it holds none of the values.

    :class:`StepError` if a value has the wrong type (a string where Apple documents a boolean).
    """
    values = inventory_values(query_responses)
    if not values:
        return None
    try:
        return DeviceInventory.model_validate(
            {**values, "last_source": "DeviceInformation", "modified": now}
        )
    except ValidationError as exc:
        raise StepError(f"DeviceInformation values do not fit the inventory: {exc}") from None


def security_inventory(info: SecurityInfoDetails, now: datetime) -> SecurityInventory | None:
    """What to store for a SecurityInfo answer; None if it holds neither value (iOS)."""
    values = security_values(info)
    if not values:
        return None
    return SecurityInventory.model_validate(
        {**values, "last_source": "SecurityInfo", "modified": now}
    )


async def merge_inventory(enrollment_id: str, values: InventoryValues) -> None:
    await workflow.execute_activity(
        INVENTORY_MERGE_ACTIVITY,
        InventoryUpdate(enrollment_id=enrollment_id, values=values.stored()),
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=STORE_RETRY,
        summary=f"store {values.last_source} values in the inventory",
    )


@mdm_workflow(INVENTORY, summary="Store a device's DeviceInformation and SecurityInfo values")
class InventoryWorkflow(MDMWorkflow[WorkflowStart, InventoryResult]):
    """One step ``""`` with DeviceInformation and SecurityInfo; stores DeviceInformation values.

    A step timeout or a DeviceInformation that is not Acknowledged fails the workflow with a
    ``StepError``. The SecurityInfo answer is left to :class:`InventoryEventsWorkflow`.
    """

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
        info = answer.of_type("DeviceInformation")
        if not info.acknowledged:
            chain = "; ".join(e.localized_description for e in info.error_chain)
            raise StepError(f"DeviceInformation answered {info.status}: {chain or 'no detail'}")
        values = info.response(DeviceInformationResponse).query_responses
        stored = device_inventory(values, workflow.now())
        if stored is None:
            workflow.logger.info(
                "DeviceInformation held none of the inventory values; nothing stored",
                extra={"enrollment_id": start.enrollment_id},
            )
        else:
            await merge_inventory(start.enrollment_id, stored)
        return InventoryResult(enrollment_id=start.enrollment_id, stored=stored)


@workflow.defn(name=INVENTORY_EVENTS, failure_exception_types=[ValidationError])
class InventoryEventsWorkflow(MDMEventHandler):
    """Store ``sip_enabled`` and ``fde_enabled`` from a SecurityInfo report of any workflow.

    Started by the bridge once per SecurityInfo report (AllCommandResponse). NotNow stores
    nothing; Error and CommandFormatError are logged and store nothing. A payload stored aside
    by the bridge (``payload_ref``) is loaded first.
    """

    name = INVENTORY_EVENTS
    command_response_types = frozenset({"SecurityInfo"})

    @workflow.run
    async def run(self, delivery: EventDelivery) -> InventoryEventResult:
        report = delivery.event.command_report
        if report is None or report.request_type not in self.command_response_types:
            got = report.request_type if report else delivery.event.type.value
            raise ApplicationError(
                f"{INVENTORY_EVENTS} takes SecurityInfo command responses, not {got or 'this'}",
                type="UnexpectedEvent",
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


async def _payload(report: CommandReport) -> dict[str, JsonValue]:
    if report.payload is not None or report.payload_ref is None:
        return report.payload or {}
    if workflow.patched(REPORT_VIEW_PATCH):
        view: ReportView = await workflow.execute_activity(
            REPORT_VIEW_ACTIVITY,
            PayloadRef(ref=report.payload_ref),
            result_type=ReportView,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY,
            summary="the SecurityInfo answer stored aside, as a bounded view",
        )
        return view.payload
    stored: StoredPayload = await workflow.execute_activity(
        LOAD_PAYLOAD_ACTIVITY,
        PayloadRef(ref=report.payload_ref),
        result_type=StoredPayload,
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
            type="InvalidReport",
            non_retryable=True,
        ) from None
