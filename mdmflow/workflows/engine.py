"""The step engine: what NanoCMD's engine did, as a base class for Temporal workflows.

A workflow subclasses :class:`MDMWorkflow`, says which commands each step sends with
``await self.step(...)`` and decides on the answers. The base owns the rest: command UUIDs,
the enqueue activity, routing of report signals, NotNow, step timeouts, re-pushes, NotUntil
delays, search attributes, Web UI details and the ``status`` query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, NoReturn, TypeVar, get_type_hints

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from mdmflow.activities.content_models import (
        CHECK_REQUIREMENTS_ACTIVITY,
        INVALID_CONTEXT,
        StartRequirements,
    )
    from mdmflow.activities.models import (
        ENGINE_SETTINGS_ACTIVITY,
        ENQUEUE_ACTIVITY,
        LOAD_PAYLOAD_ACTIVITY,
        PUSH_ACTIVITY,
        RECORD_START_ACTIVITY,
        REPORT_VIEW_ACTIVITY,
        EngineSettings,
        EnqueueStep,
        PayloadRef,
        PushRequest,
        QueuedCommand,
        ReportView,
        StoredPayload,
        WorkflowStarted,
    )
    from mdmflow.mdm.commands import MDMCommand
    from mdmflow.mdm.reports import CommandStatus
    from mdmflow.workflows import search
    from mdmflow.workflows.errors import ContextError
    from mdmflow.workflows.models import (
        COMMAND_REPORT_SIGNAL,
        STATUS_QUERY,
        CommandReport,
        CommandResult,
        ContinuedRun,
        OutstandingCommand,
        SealedContext,
        StepError,
        StepResult,
        WorkflowStart,
        WorkflowStatus,
    )

StartT = TypeVar("StartT")
ResultT = TypeVar("ResultT")
W = TypeVar("W", bound="type[MDMWorkflow[Any, Any]]")

MDM_REJECTED = "MDMRejected"
STORED_VALUE_MISSING = "StoredValueMissing"
STEP_CANNOT_BE_SENT = frozenset({MDM_REJECTED, STORED_VALUE_MISSING})
"""Enqueue failures no retry or wait can fix: the workflow fails with the reason."""
ENQUEUE_ATTEMPT_TIMEOUT = timedelta(seconds=60)
MDM_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
"""The MDM activities heartbeat every second; a worker killed mid-call is noticed in 5 s."""
REASK_PATCH = "reask-lost-queries"
REPORT_VIEW_PATCH = "bounded-report-view"
ENQUEUE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=[MDM_REJECTED, STORED_VALUE_MISSING],
)
REQUIREMENTS_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    non_retryable_error_types=[INVALID_CONTEXT],
)
PUSH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=[MDM_REJECTED],
)


@dataclass
class _Tracked:
    """One command of the current step, as the engine tracks it between signals."""

    command: MDMCommand
    last_status: CommandStatus | None = None
    final: CommandReport | None = None
    resent_as: list[str] = field(default_factory=list)
    """Fresh UUIDs this read-only query was asked again under; an answer to any counts."""
    answer_may_be_lost: bool = False
    """A command that changes the device, unanswered at a re-push: never re-sent by us."""

    @property
    def request_type(self) -> str:
        return self.command.request_type


class MDMWorkflow(Generic[StartT, ResultT]):
    """Base of every MDM workflow: one Temporal workflow per enrollment ID.

    Subclasses set ``name`` through :func:`mdm_workflow`, may set ``step_timeout`` (a workflow
    default between a step's own timeout and ``MDMFLOW_STEP_TIMEOUT``) and ``exclusive``
    (False gives NanoCMD's MultipleSimultaneous: the instance ID joins the workflow ID).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    exclusive: ClassVar[bool] = True
    step_timeout: ClassVar[timedelta | None] = None

    def __init__(self) -> None:
        self._tracked: dict[str, _Tracked] = {}
        self._aliases: dict[str, str] = {}
        self._completing_params: dict[str, str] = {}
        self._start: WorkflowStart | None = None
        self._instance_id = ""
        self._engine: EngineSettings | None = None
        self._step: str | None = None
        self._step_started: datetime | None = None
        self._steps_done: list[str] = []

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> StartT:
        """Turn the start context into this workflow's typed start; raise ContextError if bad."""
        raise NotImplementedError

    @classmethod
    def requirements(cls, start: StartT) -> StartRequirements:
        """What the app database must hold for this start (profiles, a command plan).

        Pure, so both the starters (before starting) and the engine (first thing in the
        workflow) can check the same list; the default needs nothing.
        """
        return StartRequirements()

    @classmethod
    def seal_context(cls, start: StartT, instance_id: str) -> SealedContext | None:
        """The start context with its secrets moved to the sealed store, for the starters;
        None when it holds none (the default). Secrets never enter workflow history."""
        return None

    async def steps(self, start: StartT) -> ResultT:
        """The workflow's sequence of steps and decisions."""
        raise NotImplementedError

    @classmethod
    def workflow_id(cls, enrollment_id: str, instance_id: str) -> str:
        """NanoCMD exclusivity as a workflow ID: one running instance per (name, enrollment)."""
        if cls.exclusive:
            return f"{cls.name}/{enrollment_id}"
        return f"{cls.name}/{enrollment_id}/{instance_id}"

    @property
    def enrollment_id(self) -> str:
        assert self._start is not None
        return self._start.enrollment_id

    @property
    def start_input(self) -> WorkflowStart:
        assert self._start is not None
        return self._start

    @workflow.signal(name=COMMAND_REPORT_SIGNAL)
    def _on_command_report(self, report: CommandReport) -> None:
        tracked = self._tracked.get(self._aliases.get(report.command_uuid, report.command_uuid))
        if tracked is None or tracked.final is not None:
            workflow.logger.info(
                "ignoring report for a command this step does not wait for",
                extra={"command_uuid": report.command_uuid, "status": report.status.value},
            )
            return
        tracked.last_status = report.status
        if report.status.is_final:
            tracked.final = report
            self._completing_params = dict(report.url_params)
        self._show_details()

    @workflow.query(name=STATUS_QUERY)
    def _status(self) -> WorkflowStatus:
        return WorkflowStatus(
            workflow=self.name,
            enrollment_id=self._start.enrollment_id if self._start else "",
            instance_id=self._instance_id,
            step=self._step,
            step_started_at=self._step_started,
            outstanding=[
                OutstandingCommand(
                    command_uuid=uuid,
                    request_type=t.request_type,
                    last_status=t.last_status,
                    resent_as=list(t.resent_as),
                    answer_may_be_lost=t.answer_may_be_lost,
                )
                for uuid, t in self._tracked.items()
                if t.final is None
            ],
            steps_completed=list(self._steps_done),
        )

    async def _execute(self, start: WorkflowStart) -> ResultT:
        self._start = start
        self._instance_id = start.instance_id or workflow.info().first_execution_run_id
        if start.continued is not None:
            self._steps_done = list(start.continued.steps_completed)
        workflow.upsert_search_attributes(
            [
                search.ENROLLMENT_ID.value_set(start.enrollment_id),
                search.WORKFLOW_NAME.value_set(self.name),
                search.INSTANCE_ID.value_set(self._instance_id),
            ]
        )
        try:
            typed_start = type(self).parse_start(start)
        except (ContextError, ValidationError) as exc:
            raise ApplicationError(
                f"invalid start context for {self.name}: {exc}",
                type=INVALID_CONTEXT,
                non_retryable=True,
            ) from None
        self._engine = await workflow.execute_local_activity(
            ENGINE_SETTINGS_ACTIVITY,
            result_type=EngineSettings,
            start_to_close_timeout=timedelta(seconds=10),
        )
        needs = type(self).requirements(typed_start)
        if needs.any:
            await self._check_requirements(needs)
        # A continued run is the same workflow start: IdleNotStartedSince keeps the first time.
        if start.continued is None and workflow.patched("record-last-start"):
            info = workflow.info()
            await workflow.execute_local_activity(
                RECORD_START_ACTIVITY,
                WorkflowStarted(
                    enrollment_id=start.enrollment_id,
                    workflow_name=self.name,
                    workflow_id=info.workflow_id,
                    started_at=info.workflow_start_time,
                ),
                start_to_close_timeout=timedelta(seconds=30),
            )
        try:
            result = await self.steps(typed_start)
        except StepError as exc:
            raise ApplicationError(str(exc), type="StepError", non_retryable=True) from None
        workflow.upsert_search_attributes([search.STEP.value_unset()])
        workflow.set_current_details(f"**Done** after steps: {', '.join(self._steps_done)}")
        return result

    async def _check_requirements(self, needs: StartRequirements) -> None:
        """Fail at once, without retrying, when the start needs what the database lacks.

        The starters checked the same before starting; this catches starts that bypass them
        (``temporal workflow start``) and anything deleted in between.
        """
        try:
            await workflow.execute_local_activity(
                CHECK_REQUIREMENTS_ACTIVITY,
                needs,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=REQUIREMENTS_RETRY,
            )
        except (ActivityError, ApplicationError) as err:
            # a local activity's failure may arrive unwrapped, as the ApplicationError itself
            cause = err.cause if isinstance(err, ActivityError) else err
            if isinstance(cause, ApplicationError) and cause.type == INVALID_CONTEXT:
                raise ApplicationError(
                    f"invalid start context for {self.name}: {cause.message}",
                    type=INVALID_CONTEXT,
                    non_retryable=True,
                ) from None
            raise

    async def continue_as_new(self, state: BaseModel) -> NoReturn:
        """End this run and go on in a fresh one whose ``parse_start`` sees ``state``.

        For polling loops: the history starts empty again. The workflow ID (so routing),
        instance ID, search attributes and the completed steps of the ``status`` query carry
        over; ``state`` is the workflow's own progress, as JSON in the next run's input.
        """
        await workflow.wait_condition(workflow.all_handlers_finished)
        carried = ContinuedRun(
            steps_completed=list(self._steps_done), state=state.model_dump(mode="json")
        )
        workflow.continue_as_new(
            self.start_input.model_copy(
                update={"instance_id": self._instance_id, "continued": carried}
            )
        )

    async def step(
        self,
        name: str,
        commands: Sequence[MDMCommand],
        *,
        timeout: timedelta | None = None,
        not_until: datetime | None = None,
    ) -> StepResult:
        """Send ``commands`` as one step and wait until each has a final answer or time is up.

        Timeout precedence is the step's ``timeout``, then the workflow's ``step_timeout``,
        then ``MDMFLOW_STEP_TIMEOUT``; it counts from the enqueue, as in NanoCMD. On timeout
        the result carries whatever arrived (``timed_out=True``) and the workflow decides.
        """
        if not commands:
            raise ValueError(f"step {name!r} has no commands")
        engine = self._engine
        assert engine is not None, "step() called outside steps()"
        if not_until is not None:
            delay = not_until - workflow.now()
            if delay > timedelta(0):
                self._enter_step(name, waiting_until=not_until)
                await workflow.sleep(delay, summary=f"{name}: NotUntil {not_until.isoformat()}")
        limit = timeout or self.step_timeout or timedelta(seconds=engine.step_timeout_s)
        queued = [QueuedCommand(command_uuid=str(workflow.uuid4()), command=c) for c in commands]
        self._tracked = {q.command_uuid: _Tracked(q.command) for q in queued}
        self._aliases = {}
        self._completing_params = {}
        self._enter_step(name)
        deadline = workflow.now() + limit
        enqueued = await self._enqueue(name, queued, limit)
        timed_out = not enqueued or not await self._wait_for_answers(name, deadline, engine)
        result = StepResult(
            step=name,
            enrollment_id=self.enrollment_id,
            commands=[await self._result_of(q) for q in queued],
            url_params=self._completing_params,
            timed_out=timed_out,
        )
        self._tracked, self._aliases = {}, {}
        self._step, self._step_started = None, None
        self._steps_done.append(name)
        return result

    def _enter_step(self, name: str, waiting_until: datetime | None = None) -> None:
        self._step = name
        self._step_started = workflow.now()
        workflow.upsert_search_attributes([search.STEP.value_set(name)])
        self._show_details(waiting_until)

    async def _enqueue(
        self, name: str, queued: list[QueuedCommand], limit: timedelta, verb: str = "enqueue"
    ) -> bool:
        """Run the enqueue activity; False when the MDM server stayed down for the whole step."""
        request = EnqueueStep(
            workflow_id=workflow.info().workflow_id,
            workflow_name=self.name,
            step=name,
            enrollment_ids=[self.enrollment_id],
            commands=queued,
        )
        try:
            await workflow.execute_activity(
                ENQUEUE_ACTIVITY,
                request,
                start_to_close_timeout=ENQUEUE_ATTEMPT_TIMEOUT,
                schedule_to_close_timeout=limit,
                heartbeat_timeout=MDM_HEARTBEAT_TIMEOUT,
                retry_policy=ENQUEUE_RETRY,
                summary=f"{name}: {verb} {', '.join(q.command.request_type for q in queued)}",
            )
        except ActivityError as err:
            if is_cancelled_exception(err):
                raise
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type in STEP_CANNOT_BE_SENT:
                raise ApplicationError(
                    f"step {name!r}: {cause.message}", type=cause.type, non_retryable=True
                ) from None
            workflow.logger.warning(
                "MDM server unavailable for the whole step timeout",
                extra={"step": name, "reason": str(cause or err)},
            )
            return False
        return True

    async def _wait_for_answers(
        self, name: str, deadline: datetime, engine: EngineSettings
    ) -> bool:
        """Wait for every command to be final, re-pushing on the interval; False on timeout."""
        repush = timedelta(seconds=engine.repush_interval_s)
        while True:
            remaining = deadline - workflow.now()
            if remaining <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(
                    self._all_final,
                    timeout=min(remaining, repush),
                    timeout_summary=f"{name}: re-push or step timeout",
                )
                return True
            except TimeoutError:
                if workflow.now() >= deadline:
                    return False
                if workflow.patched(REASK_PATCH):
                    await self._reask_or_repush(name, deadline)
                else:
                    await self._repush(name)

    async def _reask_or_repush(self, name: str, deadline: datetime) -> None:
        """Ask read-only queries that got no answer at all again under fresh UUIDs (the answer
        may have been lost before it reached any bridge); never re-send a command that changes
        the device, only mark it. A NotNow is an answer: the device holds the command and
        answers later. The enqueue of re-asked queries pushes; otherwise a plain re-push."""
        again: list[QueuedCommand] = []
        for original, tracked in self._tracked.items():
            if tracked.final is not None or tracked.last_status is not None:
                continue  # answered, or NotNow: the device has it and will answer later
            if not tracked.command.read_only:
                tracked.answer_may_be_lost = True
                continue
            fresh = QueuedCommand(command_uuid=str(workflow.uuid4()), command=tracked.command)
            tracked.resent_as.append(fresh.command_uuid)
            self._aliases[fresh.command_uuid] = original
            again.append(fresh)
        self._show_details()
        if not again:
            await self._repush(name)
            return
        workflow.logger.info(
            "asking unanswered queries again",
            extra={"step": name, "commands": [q.command_uuid for q in again]},
        )
        remaining = deadline - workflow.now()
        await self._enqueue(name, again, max(remaining, timedelta(seconds=1)), verb="re-ask")

    async def _repush(self, name: str) -> None:
        try:
            await workflow.execute_activity(
                PUSH_ACTIVITY,
                PushRequest(enrollment_ids=[self.enrollment_id]),
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=MDM_HEARTBEAT_TIMEOUT,
                retry_policy=PUSH_RETRY,
                summary=f"{name}: re-push",
            )
        except ActivityError as err:
            if is_cancelled_exception(err):
                raise
            workflow.logger.warning(
                "re-push failed; the next interval tries again",
                extra={"step": name, "reason": str(err.cause or err)},
            )

    def _all_final(self) -> bool:
        return all(t.final is not None for t in self._tracked.values())

    async def _result_of(self, queued: QueuedCommand) -> CommandResult:
        tracked = self._tracked[queued.command_uuid]
        report = tracked.final
        if report is None:
            return CommandResult(
                command_uuid=queued.command_uuid,
                request_type=tracked.request_type,
                status=tracked.last_status,
            )
        payload, truncated = report.payload or {}, False
        if report.payload_ref is not None:
            if workflow.patched(REPORT_VIEW_PATCH):
                view = await workflow.execute_activity(
                    REPORT_VIEW_ACTIVITY,
                    PayloadRef(ref=report.payload_ref),
                    result_type=ReportView,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=PUSH_RETRY,
                    summary=f"{tracked.request_type}: the answer stored aside, as a bounded view",
                )
                payload, truncated = view.payload, view.truncated
            else:
                stored = await workflow.execute_activity(
                    LOAD_PAYLOAD_ACTIVITY,
                    PayloadRef(ref=report.payload_ref),
                    result_type=StoredPayload,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=PUSH_RETRY,
                )
                payload = stored.payload
        return CommandResult(
            command_uuid=queued.command_uuid,
            request_type=tracked.request_type,
            status=report.status,
            error_chain=report.error_chain,
            error_chain_ref=report.error_chain_ref,
            payload=payload,
            payload_ref=report.payload_ref,
            payload_truncated=truncated,
        )

    def _show_details(self, waiting_until: datetime | None = None) -> None:
        """Keep the Web UI's current details a readable status page for this device."""
        if self._step is None or self._step_started is None:
            return
        answered = sum(1 for t in self._tracked.values() if t.final is not None)
        lines = [f"**Step** `{self._step}` since {self._step_started.isoformat()}"]
        if waiting_until is not None:
            lines.append(f"Waiting until {waiting_until.isoformat()} (NotUntil) before enqueueing.")
        else:
            lines.append(f"{answered} of {len(self._tracked)} commands answered.")
            lines.append("")
            lines.append("| command | request type | last status |")
            lines.append("|---|---|---|")
            for uuid, t in self._tracked.items():
                status = str((t.final.status if t.final else t.last_status) or "waiting")
                if t.final is None and t.resent_as:
                    status += f" (asked again as `{t.resent_as[-1]}`)"
                elif t.final is None and t.answer_may_be_lost:
                    status += " (answer may have been lost; not re-sent, ends at the step timeout)"
                lines.append(f"| `{uuid}` | {t.request_type} | {status} |")
        workflow.set_current_details("\n".join(lines))


def mdm_workflow(name: str, *, summary: str) -> Callable[[W], W]:
    """Register an :class:`MDMWorkflow` subclass as the Temporal workflow type ``name``.

    It supplies the ``@workflow.run`` method (typed from ``steps``) so a workflow file holds
    only its steps and decisions, and makes bad input fail the workflow instead of retrying.
    """

    def wrap(cls: W) -> W:
        result_type = get_type_hints(cls.steps)["return"]

        async def run(self: MDMWorkflow[Any, Any], start: WorkflowStart) -> Any:
            return await self._execute(start)

        run.__annotations__ = {"start": WorkflowStart, "return": result_type}
        run.__module__ = cls.__module__
        run.__qualname__ = f"{cls.__name__}.run"
        cls.run = workflow.run(run)  # type: ignore[attr-defined]
        cls.name = name
        cls.summary = summary
        return workflow.defn(name=name, failure_exception_types=[ValidationError])(cls)

    return wrap
