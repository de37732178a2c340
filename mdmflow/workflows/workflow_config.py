"""One config per workflow, as NanoCMD's ``workflow.Config``: what the engine and the starters
need to know about a workflow type, in one place a reader finds at the top of its class."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from mdmflow.workflows.models import EventType

WORKFLOW_TASK_TIMEOUT = timedelta(seconds=5)
"""Every start's workflow task timeout (Temporal's default is 10 s): how long Temporal waits for
a worker that took a workflow task and died before handing the task to another. Loaded, our
workflow tasks took under 2 s (bench: a at 1,000 devices, c at 2,000; none over 5 s at
10,000); the fault suite's held task resumed after 10.1 s with the default, 5.1 s with this.
A continued run keeps it; a child workflow and an event handler do not inherit it, so their
starts set it too."""


@dataclass(frozen=True)
class WorkflowConfig:
    name: str
    """The Temporal workflow type: NanoCMD's workflow name (``io.micromdm.wf.…``)."""
    summary: str
    """One line for the Web UI's summary and the API."""
    exclusive: bool = True
    """One running instance per enrollment (NanoCMD's Exclusive); False gives
    MultipleSimultaneous, with the instance ID in the workflow ID."""
    step_timeout: timedelta | None = None
    """This workflow's default step timeout, between a step's own and the engine's."""
    events: frozenset[EventType] = field(default_factory=frozenset)
    """Events the workflow takes (an event handler's), as NanoCMD's ``Config.Events``."""
    command_response_types: frozenset[str] = field(default_factory=frozenset)
    """Request types whose every report the workflow takes, whichever workflow sent the
    command (NanoCMD's ``AllCommandResponseRequestTypes``)."""
    first_step: str = ""
    """The ``MdmStep`` a fresh run's first step shows (its name, or the request types of an
    unnamed step), where it does not depend on the start: the starter sets it with the other
    search attributes, sparing every run an upsert (a history event and a visibility write).
    Empty: the workflow upserts it. A wrong value costs only that saving."""

    def workflow_id(self, enrollment_id: str, instance_id: str) -> str:
        return device_workflow_id(self.name, self.exclusive, enrollment_id, instance_id)


def device_workflow_id(name: str, exclusive: bool, enrollment_id: str, instance_id: str) -> str:
    """NanoCMD exclusivity as a workflow ID: one running instance per (name, enrollment)."""
    if exclusive:
        return f"{name}/{enrollment_id}"
    return f"{name}/{enrollment_id}/{instance_id}"


def device_details(instance_id: str, context: str) -> str:
    """The Web UI's static details of a device workflow: which start it belongs to."""
    return f"Instance `{instance_id}`; context `{context or '-'}`"
