"""Inputs and results of the activities; workflows import these through the sandbox pass-through."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from mdmflow.mdm.commands import AnyCommand
from mdmflow.mdm.plist import JsonValue

ENQUEUE_ACTIVITY = "mdm_enqueue_step"
PUSH_ACTIVITY = "mdm_push"
ENGINE_SETTINGS_ACTIVITY = "mdm_engine_settings"
LOAD_PAYLOAD_ACTIVITY = "mdm_load_report_payload"
RECORD_START_ACTIVITY = "mdm_record_workflow_start"
REPORT_VIEW_ACTIVITY = "mdm_report_view"
INVENTORY_MERGE_ACTIVITY = "mdm_inventory_merge"


class QueuedCommand(BaseModel):
    model_config = ConfigDict(frozen=True)
    command_uuid: str
    command: AnyCommand


class WorkflowStarted(BaseModel):
    """Last-started record: IdleNotStartedSince compares against ``started_at``."""

    model_config = ConfigDict(frozen=True)
    enrollment_id: str
    workflow_name: str
    workflow_id: str
    started_at: datetime


class EnqueueStep(BaseModel):
    """Send one step's commands to the MDM server for these enrollment IDs."""

    model_config = ConfigDict(frozen=True)
    workflow_id: str
    workflow_name: str
    step: str
    enrollment_ids: list[str] = Field(min_length=1)
    commands: list[QueuedCommand] = Field(min_length=1)
    started: WorkflowStarted | None = None
    """The workflow's last-started record, written with the first step's routes (the
    activity runs anyway, so the workflow's first task needs no call of its own)."""


class PushRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    enrollment_ids: list[str] = Field(min_length=1)


DEFAULT_STEP_TIMEOUT_S = 259_200
"""NanoCMD's default step timeout: 3 days."""
DEFAULT_REPUSH_INTERVAL_S = 86_400
"""NanoCMD's re-push interval: a day."""


class EngineSettings(BaseModel):
    """The engine's defaults for one workflow start (``MDMFLOW_STEP_TIMEOUT`` and
    ``MDMFLOW_REPUSH_INTERVAL`` of the starter), carried in the start input so the workflow
    needs no call to learn them; a start without them gets NanoCMD's defaults."""

    model_config = ConfigDict(frozen=True)
    step_timeout_s: int = Field(default=DEFAULT_STEP_TIMEOUT_S, gt=0)
    repush_interval_s: int = Field(default=DEFAULT_REPUSH_INTERVAL_S, gt=0)
    local_enqueue: bool = False
    """Enqueue each step as a local activity, inside the workflow task that decides the step.
    Every start by this version sets it (:meth:`for_new_start`); False, its value when absent,
    is how runs started by earlier code say they enqueue with a regular activity, which
    their histories hold and their replays must repeat."""
    step_upsert_on_change: bool = False
    """Upsert ``MdmStep`` only when the step's name changes: a polling workflow (fvenable asks
    ``poll`` up to 180 times) otherwise writes the same value to visibility and its history on
    every poll. Set by every start of this version; False, its value when absent, is how runs
    started by earlier code say they upserted every step, as their histories hold."""
    step_alarm: bool = False
    """Wake waiting steps with one timer kept across steps (``workflow.step_alarm``), not a
    timer started and cancelled per step. Set by every start of this version; False, its value
    when absent, is how runs started by earlier code say they timed each step's wait."""
    routes_in_uuids: bool = False
    """Mint command UUIDs that carry their route (``workflows.carried_route``), so no route is
    recorded or read in the app database. Set by every start of this version; False, its value
    when absent, is how runs started by earlier code say they minted bare UUIDs, as their
    histories hold (the bridge still routes those by their recorded routes)."""

    @classmethod
    def for_new_start(
        cls,
        step_timeout_s: int = DEFAULT_STEP_TIMEOUT_S,
        repush_interval_s: int = DEFAULT_REPUSH_INTERVAL_S,
    ) -> EngineSettings:
        """What a start made now carries: the given defaults and this version's engine."""
        return cls(
            step_timeout_s=step_timeout_s,
            repush_interval_s=repush_interval_s,
            local_enqueue=True,
            step_upsert_on_change=True,
            step_alarm=True,
            routes_in_uuids=True,
        )


class PayloadRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    ref: str


class StoredPayload(BaseModel):
    payload: dict[str, JsonValue]


class ReportView(BaseModel):
    """A stored report payload as a workflow may hold it (see ``mdm.bounded``)."""

    payload: dict[str, JsonValue]
    truncated: bool = False


class InventoryUpdate(BaseModel):
    """Merge ``values`` into the enrollment's inventory record (last write wins per key)."""

    model_config = ConfigDict(frozen=True)
    enrollment_id: str = Field(min_length=1)
    values: dict[str, JsonValue]
