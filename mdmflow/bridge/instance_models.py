"""What the instance status, listing and cancel answers hold: the /v1 API's JSON and the
``mdmflow status`` / ``mdmflow cancel`` output are these models, so both say the same."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from mdmflow.activities.fleet_models import FleetProgress
from mdmflow.workflows.models import OutstandingCommand

STATES = ("running", "completed", "failed", "cancelled", "terminated", "timed_out")
"""Device workflow states as the API names them (Temporal's ExecutionStatus, snake case)."""
SUMMARY_ORDER = (*STATES[1:], STATES[0])
"""The summary line says what has ended first and what still runs last."""


class DeviceStatus(BaseModel):
    """One device's workflow of an instance, from visibility plus the ``status`` query."""

    enrollment_id: str
    workflow_id: str
    state: str
    step: str | None = None
    outstanding: list[OutstandingCommand] | None = None
    """Running workflows only; None when the ``status`` query did not answer in time."""
    waiting_for: str | None = None
    failure: str | None = None
    """Failed (or timed out, terminated) workflows: why, as a sentence."""
    query_error: str | None = None
    """Why the ``status`` query of a running workflow gave no answer, if it did not."""


class FanOutStatus(BaseModel):
    """A fleet start's fan-out: its workflow's state and how many devices it has started."""

    workflow_id: str
    state: str
    progress: FleetProgress | None = None
    """None when its ``progress`` query did not answer (``query_error`` says why)."""
    query_error: str | None = None


class InstanceStatus(BaseModel):
    instance_id: str
    workflow: str
    started: datetime | None
    total: int
    """Device workflows Temporal's visibility has of the instance (``counts`` add up to it)."""
    counts: dict[str, int]
    devices: list[DeviceStatus]
    next_page_token: str | None = None
    fan_out: FanOutStatus | None = None
    """Present for a fleet start: the devices it has still to start are not in ``total``."""

    def summary(self) -> str:
        """One line: ``instance X of W: 3,000 devices — 2,950 completed, 12 failed, 38 running``,
        with the fan-out's progress while it runs."""
        counts = [(state, self.counts.get(state, 0)) for state in SUMMARY_ORDER]
        parts = [f"{n:,} {state.replace('_', ' ')}" for state, n in counts if n]
        noun = "device" if self.total == 1 else "devices"
        tail = f" — {', '.join(parts)}" if parts else ""
        line = f"instance {self.instance_id} of {self.workflow}: {self.total:,} {noun}{tail}"
        fan_out = self.fan_out
        if fan_out is not None and fan_out.state != "completed":
            progress = fan_out.progress.summary() if fan_out.progress else "progress unknown"
            line += f" (fleet start {fan_out.state.replace('_', ' ')}: {progress})"
        return line


class InstanceSummary(BaseModel):
    """One instance in a listing of recent instances."""

    instance_id: str
    workflow: str
    started: datetime | None


class EnrollmentWorkflow(BaseModel):
    """One workflow that ran (or runs) on an enrollment ID."""

    workflow_id: str
    workflow: str
    instance_id: str | None
    state: str
    step: str | None
    started: datetime | None
    closed: datetime | None = None


class CancelOutcome(BaseModel):
    """Counts of a cancel call; cancelling what already ended is counted, not an error."""

    cancelled: int = 0
    already_ended: int = 0
    not_found: int = 0
    fan_out_cancelled: bool = False
    """A fleet start's fan-out was running and is stopped: it starts no more devices."""
    workflow_ids: list[str] = Field(default_factory=list)
    """The workflows a cancellation was requested for."""
