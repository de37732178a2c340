"""The engine's typed messages: workflow start, command report signal, step result, status.

Each is one pydantic model so it reads as JSON in the Web UI and the ``temporal`` CLI.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mdmflow.activities.models import EngineSettings
from mdmflow.mdm.checkin import Checkin
from mdmflow.mdm.plist import JsonValue
from mdmflow.mdm.reports import CommandStatus, ErrorChainItem
from mdmflow.mdm.responses import ResponseModel

COMMAND_REPORT_SIGNAL = "mdm_command_report"
STATUS_QUERY = "status"

R = TypeVar("R", bound=ResponseModel)


class StepError(Exception):
    """A step result lacks what the workflow needs (a missing command, an unparsable payload)."""


class EventType(StrEnum):
    """NanoCMD's MDM events; the names are the API's subscription ``event`` values."""

    ALL_COMMAND_RESPONSE = "AllCommandResponse"
    AUTHENTICATE = "Authenticate"
    TOKEN_UPDATE = "TokenUpdate"
    ENROLLMENT = "Enrollment"
    CHECK_OUT = "CheckOut"
    IDLE = "Idle"
    IDLE_NOT_STARTED_SINCE = "IdleNotStartedSince"


class MDMEvent(BaseModel):
    """Why a workflow was started by the bridge rather than by a person.

    ``checkin`` is the Authenticate, TokenUpdate (also for Enrollment) or CheckOut message;
    ``command_report`` is the report of an AllCommandResponse event.
    """

    model_config = ConfigDict(frozen=True)
    type: EventType
    checkin: Checkin | None = None
    token_update_tally: int | None = None
    command_report: CommandReport | None = None


class ContinuedRun(BaseModel):
    """Set by the engine only: what a workflow carries into its next run (continue-as-new)."""

    model_config = ConfigDict(frozen=True)
    steps_completed: list[str] = Field(default_factory=list)
    state: dict[str, JsonValue] = Field(default_factory=dict)


class WorkflowStart(BaseModel):
    """The input of every MDM workflow: one enrollment ID and NanoCMD's start context.

    ``temporal workflow start --type io.micromdm.wf.devinfolog.v1 --input '{"enrollment_id":"X"}'``
    is a complete start; the bridge and ``mdmflow start`` also fill the instance ID.
    """

    model_config = ConfigDict(frozen=True)
    enrollment_id: str = Field(min_length=1)
    instance_id: str = ""
    context: str = ""
    url_params: dict[str, str] = Field(default_factory=dict)
    event: MDMEvent | None = None
    continued: ContinuedRun | None = None
    """None on a real start; the carried state when the engine continued the workflow."""
    engine: EngineSettings | None = None
    """The starter's engine defaults; omitted (``temporal workflow start``): NanoCMD's."""


class SealedContext(BaseModel):
    """A start context with its secrets moved out: the starter seals ``secrets`` for each
    device (by name) and starts the workflow with ``context``, which only names them."""

    model_config = ConfigDict(frozen=True)
    context: str
    secrets: dict[str, str] = Field(repr=False)


class CommandReport(BaseModel):
    """Signal: one device report for a command this workflow enqueued (routed by UUID)."""

    model_config = ConfigDict(frozen=True)
    command_uuid: str
    enrollment_id: str
    status: CommandStatus
    request_type: str = ""
    error_chain: list[ErrorChainItem] = Field(default_factory=list)
    """The whole chain, or its first entries, shortened, when ``error_chain_ref`` is set."""
    error_chain_ref: str | None = None
    """The whole error chain in the app database, when it was too large for a signal."""
    payload: dict[str, JsonValue] | None = None
    payload_ref: str | None = None
    url_params: dict[str, str] = Field(default_factory=dict)


class CommandResult(BaseModel):
    """The outcome of one command of a step; ``status`` is None when the device never answered."""

    model_config = ConfigDict(frozen=True)
    command_uuid: str
    request_type: str
    status: CommandStatus | None = None
    error_chain: list[ErrorChainItem] = Field(default_factory=list)
    error_chain_ref: str | None = None
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    payload_ref: str | None = None
    """The whole answer in the app database, when it was too large to travel in a signal."""
    payload_truncated: bool = False
    """``payload`` is a bounded view of a larger answer; activities can read ``payload_ref``."""

    @property
    def acknowledged(self) -> bool:
        return self.status is CommandStatus.ACKNOWLEDGED

    def problem(self) -> str:
        """The device's error chain as one line, or that it gave none."""
        chain = "; ".join(e.localized_description for e in self.error_chain)
        return chain or "no detail"

    def response(self, model: type[R]) -> R:
        """The payload as a typed response model; :class:`StepError` if it does not fit."""
        try:
            return model.model_validate(self.payload)
        except ValueError as exc:
            raise StepError(
                f"{self.request_type} report {self.command_uuid} does not fit "
                f"{model.__name__}: {exc}"
            ) from None


class StepResult(BaseModel):
    """What a step hands back to its workflow, for one enrollment ID."""

    model_config = ConfigDict(frozen=True)
    step: str
    enrollment_id: str
    commands: list[CommandResult]
    url_params: dict[str, str] = Field(default_factory=dict)
    timed_out: bool = False

    def of_type(self, request_type: str) -> CommandResult:
        """The single command of that request type in this step."""
        found = [c for c in self.commands if c.request_type == request_type]
        if len(found) != 1:
            raise StepError(f"step {self.step!r} has {len(found)} {request_type} commands")
        return found[0]

    def answer(self, request_type: str, model: type[R]) -> R:
        """The device's acknowledged answer to the step's ``request_type`` command, typed.

        A :class:`StepError` that says why otherwise, in the words every workflow uses: the
        device did not answer before the step timeout, or answered something else than
        Acknowledged (with its error chain), or an answer that does not fit ``model``.
        """
        return self.acknowledged(request_type).response(model)

    def acknowledged(self, request_type: str) -> CommandResult:
        """The step's ``request_type`` command, once the device acknowledged it; else the
        :class:`StepError` :meth:`answer` raises."""
        command = self.of_type(request_type)
        if command.status is None or not command.status.is_final:
            raise StepError(f"the device did not answer {request_type} before the step timeout")
        if not command.acknowledged:
            raise StepError(f"{request_type} answered {command.status}: {command.problem()}")
        return command


class OutstandingCommand(BaseModel):
    command_uuid: str
    request_type: str
    last_status: CommandStatus | None = None
    resent_as: list[str] = Field(default_factory=list)
    """Fresh UUIDs a read-only query was asked again under after a re-push interval."""
    answer_may_be_lost: bool = False
    """A command that changes the device, unanswered after a re-push interval: its answer may
    have been lost in transit; it is never re-sent by mdmflow and ends at the step timeout."""


class WorkflowStatus(BaseModel):
    """Answer of the ``status`` query; the Web UI's current details say the same in markdown."""

    workflow: str
    enrollment_id: str
    instance_id: str
    step: str | None = None
    step_started_at: datetime | None = None
    outstanding: list[OutstandingCommand] = Field(default_factory=list)
    steps_completed: list[str] = Field(default_factory=list)
    waiting_for: str | None = None
    """What the workflow waits for, in its own words (e.g. FileVault not on yet, poll 3 of
    180); None while the step's commands say it all."""
