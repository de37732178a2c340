"""Inputs, progress and names of a fleet start (workflows import them pass-through).

A fleet start is one instance of an MDM workflow on many enrollment IDs, run by a Temporal
workflow whose activity starts one device workflow per ID. The IDs wait in the app database in
pages; the fan-out starts a few pages per run, two at a time, and continues as new, so its
history stays bounded however many devices there are.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mdmflow.activities.models import EngineSettings

FLEET_START_WORKFLOW = "mdmflow.fleetstart.v1"
FLEET_PAGE_ACTIVITY = "fleet_start_page"
"""Reads a page for the fan-out's first design, which started each device as a child; kept
registered for fan-outs begun before the page activity."""
FLEET_START_PAGE_ACTIVITY = "fleet_start_page_devices"
FLEET_FORGET_ACTIVITY = "fleet_start_forget"

FLEET_PAGE_SIZE = 500
"""IDs per page and per fan-out run: the page activity's heartbeat carries how far it got, so a
retry after a crash checks at most a page of IDs before it starts them."""
FLEET_PAGES_PER_RUN = 40
"""Pages per fan-out run before it continues as new: about 7 history events a page, under 300
a run. Each continue-as-new stalls the starts for 0.6-0.8 s (measured in a 6,000-ID fan-out
timeline), so a run holds 20,000 IDs: most fleets start in one run."""
ALREADY_RUNNING_SAMPLE = 100
"""How many already-running IDs the progress names; it counts all of them."""


def fleet_task_queue(task_queue: str) -> str:
    """The fan-outs' own task queue, beside the device workflows' ``task_queue``: a fan-out's
    tasks (its page activity, each continue-as-new) must not wait in line behind the
    thousands of device tasks it has just created (measured: 0.20x the client start rate
    sharing the queue)."""
    return f"{task_queue}-fleet"


def fleet_workflow_id(instance_id: str) -> str:
    """The fan-out's workflow ID: one per instance, so a second start of it is refused."""
    return f"{FLEET_START_WORKFLOW}/{instance_id}"


class FleetPage(BaseModel):
    """Read one page of a fleet start's IDs from the app database."""

    model_config = ConfigDict(frozen=True)
    instance_id: str = Field(min_length=1)
    page: int = Field(ge=0)


class FleetPageOutcome(BaseModel):
    """What one page's activity did: its result, and the detail of its heartbeats (a retry
    resumes after the first ``handled`` IDs of the page)."""

    handled: int = 0
    started: int = 0
    already_running: int = 0
    already_running_ids: list[str] = Field(default_factory=list)


class FleetProgress(BaseModel):
    """How far a fleet start is; carried from run to run and answered by its ``progress`` query."""

    workflow: str
    """The device workflow's type, so a status can name it before any device started."""
    total: int = Field(ge=0)
    started: int = 0
    already_running: int = 0
    already_running_ids: list[str] = Field(default_factory=list)
    """The first :data:`ALREADY_RUNNING_SAMPLE` of them, in the order they were found."""
    pages_done: int = 0
    done: bool = False

    @property
    def handled(self) -> int:
        return self.started + self.already_running

    def add(self, page: FleetPageOutcome) -> None:
        """Count one page's starts in."""
        self.started += page.started
        self.already_running += page.already_running
        room = ALREADY_RUNNING_SAMPLE - len(self.already_running_ids)
        self.already_running_ids.extend(page.already_running_ids[: max(room, 0)])

    def summary(self) -> str:
        """One line for the Web UI and ``mdmflow status``."""
        line = f"Started {self.started:,} of {self.total:,} devices"
        if self.already_running:
            line += f"; {self.already_running:,} already running this workflow"
        return line + (" (done)" if self.done else "")


class FleetStartInput(BaseModel):
    """What every device of the instance starts with, and where the fan-out is."""

    model_config = ConfigDict(frozen=True)
    instance_id: str = Field(min_length=1)
    workflow: str = Field(min_length=1)
    """The device workflow's type (NanoCMD name)."""
    exclusive: bool
    device_summary: str
    first_step: str = ""
    """The device workflow's ``WorkflowConfig.first_step``, set with its search attributes."""
    context: str = ""
    """The start context, its secrets already sealed in the app database."""
    engine: EngineSettings | None = None
    pages: int = Field(ge=1)
    rate: float = Field(default=0.0, ge=0)
    """Device starts per second; 0 starts each page as fast as Temporal takes them."""
    progress: FleetProgress
    pages_per_run: int = Field(default=1, ge=1)
    """Pages each run starts before it continues as new (1 in fan-outs begun before runs
    took several)."""
    task_queue: str | None = None
    """The device workflows' task queue; ``None`` for fan-outs begun before they had a queue
    of their own, whose devices go on the fan-out's."""


class FleetPageStart(BaseModel):
    """Start the device workflows of one page of a fleet start."""

    model_config = ConfigDict(frozen=True)
    fleet: FleetStartInput
    page: int = Field(ge=0)
    rate_share: int = Field(default=1, ge=1)
    """How many pages start at once, sharing the fleet's start rate: this page keeps
    ``fleet.rate / rate_share``."""

    @property
    def rate(self) -> float:
        """This page's starts per second; 0 for as fast as Temporal takes them."""
        return self.fleet.rate / self.rate_share
