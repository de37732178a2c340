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


class EnqueueStep(BaseModel):
    """Send one step's commands to the MDM server for these enrollment IDs."""

    model_config = ConfigDict(frozen=True)
    workflow_id: str
    workflow_name: str
    step: str
    enrollment_ids: list[str] = Field(min_length=1)
    commands: list[QueuedCommand] = Field(min_length=1)


class PushRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    enrollment_ids: list[str] = Field(min_length=1)


class EngineSettings(BaseModel):
    """The worker's engine defaults, recorded in history so replays see the same values."""

    model_config = ConfigDict(frozen=True)
    step_timeout_s: int
    repush_interval_s: int


class PayloadRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    ref: str


class StoredPayload(BaseModel):
    payload: dict[str, JsonValue]


class ReportView(BaseModel):
    """A stored report payload as a workflow may hold it (see ``mdm.bounded``)."""

    payload: dict[str, JsonValue]
    truncated: bool = False


class WorkflowStarted(BaseModel):
    """Last-started record: IdleNotStartedSince compares against ``started_at``."""

    model_config = ConfigDict(frozen=True)
    enrollment_id: str
    workflow_name: str
    workflow_id: str
    started_at: datetime


class InventoryUpdate(BaseModel):
    """Merge ``values`` into the enrollment's inventory record (last write wins per key)."""

    model_config = ConfigDict(frozen=True)
    enrollment_id: str = Field(min_length=1)
    values: dict[str, JsonValue]
