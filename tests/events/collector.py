"""Test-only workflows: an event handler that forwards every delivery to a collector workflow,
so a test can await exactly the deliveries the bridge made (no polling of visibility)."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.workflows.event_handlers import EventDelivery, MDMEventHandler
    from mdmflow.workflows.models import EventType
    from mdmflow.workflows.workflow_config import WorkflowConfig


def collector_id(enrollment_id: str) -> str:
    return f"test.collector/{enrollment_id}"


class Collected(BaseModel):
    deliveries: list[EventDelivery]


@workflow.defn(name="test.collector")
class CollectorWorkflow:
    """Waits for ``expected`` deliveries and returns them in arrival order."""

    def __init__(self) -> None:
        self._seen: list[EventDelivery] = []

    @workflow.run
    async def run(self, expected: int) -> Collected:
        await workflow.wait_condition(lambda: len(self._seen) >= expected)
        return Collected(deliveries=self._seen)

    @workflow.signal
    def delivered(self, delivery: EventDelivery) -> None:
        self._seen.append(delivery)


async def forward(delivery: EventDelivery) -> None:
    collector = workflow.get_external_workflow_handle(collector_id(delivery.enrollment_id))
    await collector.signal(CollectorWorkflow.delivered, delivery)


@workflow.defn(name="test.events.checkins")
class CheckinHandler(MDMEventHandler):
    """Declares check-in events and Idle, as a NanoCMD ``Config.Events`` would."""

    config = WorkflowConfig(
        name="test.events.checkins",
        summary="Forward check-in events to the collector",
        events=frozenset(
            {EventType.TOKEN_UPDATE, EventType.ENROLLMENT, EventType.CHECK_OUT, EventType.IDLE}
        ),
    )

    @workflow.run
    async def run(self, delivery: EventDelivery) -> None:
        await forward(delivery)


@workflow.defn(name="test.events.responses")
class ResponseHandler(MDMEventHandler):
    """Declares DeviceInformation, as NanoCMD's ``AllCommandResponseRequestTypes`` would."""

    config = WorkflowConfig(
        name="test.events.responses",
        summary="Forward DeviceInformation reports to the collector",
        command_response_types=frozenset({"DeviceInformation"}),
    )

    @workflow.run
    async def run(self, delivery: EventDelivery) -> None:
        await forward(delivery)
