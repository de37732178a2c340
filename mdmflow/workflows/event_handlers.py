"""Workflow-configured events (NanoCMD ``Config.Events`` and ``AllCommandResponseRequestTypes``).

NanoCMD calls a workflow object's ``Event`` method in the webhook request. Here each delivery
is a short Temporal workflow of its own type, ``<workflow>.events``, started by the bridge: it
shows in the Web UI, is retried by Temporal, and survives a crash of any process.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.workflows.models import EventType, MDMEvent
    from mdmflow.workflows.workflow_config import WorkflowConfig


class EventDelivery(BaseModel):
    """Input of an event-handler workflow: one event for one enrollment."""

    model_config = ConfigDict(frozen=True)
    enrollment_id: str = Field(min_length=1)
    event: MDMEvent
    url_params: dict[str, str] = Field(default_factory=dict)


class MDMEventHandler:
    """Base of event-handler workflows; subclasses say in ``config`` which events they take
    and define ``run``."""

    config: ClassVar[WorkflowConfig]

    @classmethod
    def wants(cls, event: MDMEvent) -> bool:
        if event.type is EventType.ALL_COMMAND_RESPONSE:
            report = event.command_report
            return report is not None and report.request_type in cls.config.command_response_types
        return event.type in cls.config.events
