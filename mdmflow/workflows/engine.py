"""The step engine: what NanoCMD's engine did, as a base class for Temporal workflows.

A workflow subclasses :class:`MDMWorkflow`, says which commands each step sends with
``await self.step(...)`` and decides on the answers. The base owns the rest: command UUIDs,
the enqueue activity, routing of report signals, NotNow, step timeouts, re-pushes, NotUntil
delays, search attributes, Web UI details and the ``status`` query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Generic, NoReturn, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from mdmflow.activities.content import ContentActivities
    from mdmflow.activities.content_models import StartRequirements
    from mdmflow.activities.mdm import MDMActivities
    from mdmflow.activities.models import (
        EngineSettings,
        EnqueueStep,
        PayloadRef,
        PushRequest,
        QueuedCommand,
        WorkflowStarted,
    )
    from mdmflow.failures import (
        INVALID_CONTEXT,
        MDM_REJECTED,
        STEP_CANNOT_BE_SENT,
        STEP_FAILED,
        STORED_VALUE_MISSING,
    )
    from mdmflow.mdm.commands import MDMCommand
    from mdmflow.mdm.reports import CommandStatus
    from mdmflow.workflows import search
    from mdmflow.workflows.carried_route import CarriedRoute, carrying_uuid
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
    from mdmflow.workflows.step_alarm import StepAlarm
    from mdmflow.workflows.workflow_config import WorkflowConfig

StartT = TypeVar("StartT")
ResultT = TypeVar("ResultT")

BAD_INPUT: list[type[Exception]] = [ValidationError]
"""``failure_exception_types`` of every MDM workflow: input that does not validate fails
the workflow instead of retrying its task for ever."""
ENQUEUE_ATTEMPT_TIMEOUT = timedelta(seconds=60)
MDM_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
"""The MDM activities heartbeat every second; a worker killed mid-call is noticed in 5 s."""
REASK_PATCH = "reask-lost-queries"
REPORT_VIEW_PATCH = "bounded-report-view"
LEAN_START_PATCH = "lean-first-task"
"""Engine settings from the start input, the last-started record with the first enqueue,
search attributes from the starter: no call on the first workflow task. Recorded only by runs
started without engine settings (see :meth:`MDMWorkflow.patched_before_engine`)."""
MAX_EARLY_REPORTS = 1000
"""Reports kept for commands not yet tracked (see ``MDMWorkflow._on_command_report``): more
than any step sends, few enough to bound a workflow's memory."""
LOCAL_ENQUEUE_PATCH = "local-enqueue"
"""Asked only by runs started without engine settings; the others' start input decides
(``EngineSettings.local_enqueue``), with no marker."""
STEP_ALARM_PATCH = "step-alarm"
"""Asked only by runs started without engine settings, at a step's wait; the others' start
input decides (``EngineSettings.step_alarm``), with no marker."""
ROUTES_IN_UUIDS_PATCH = "routes-in-uuids"
"""Asked only by runs started without engine settings, at their first command; the others'
start input decides (``EngineSettings.routes_in_uuids``), with no marker."""
STEP_UPSERT_ON_CHANGE_PATCH = "step-upsert-on-change"
"""Asked only by runs started without engine settings, and only when a step repeats the name
``MdmStep`` already shows; the others' start input decides
(``EngineSettings.step_upsert_on_change``), with no marker."""
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

    A subclass is a plain Temporal workflow: ``@workflow.defn(name=…)`` and a ``@workflow.run``
    method that calls :meth:`execute`, a :class:`WorkflowConfig` as ``config``, and its steps
    and decisions in :meth:`steps`. The base owns what NanoCMD's engine owned.
    """

    config: ClassVar[WorkflowConfig]

    def __init__(self) -> None:
        self._tracked: dict[str, _Tracked] = {}
        self._aliases: dict[str, str] = {}
        self._early: list[CommandReport] = []
        self._completing_params: dict[str, str] = {}
        self._start: WorkflowStart | None = None
        self._instance_id = ""
        self._engine = EngineSettings()
        self._step: str | None = None
        self._step_started: datetime | None = None
        self._steps_done: list[str] = []
        self._step_labels: list[str] = []
        self._waiting_for: str | None = None
        self._first_enqueue_records_start = False
        self._preset_step: str | None = None
        self._shown_step: str | None = None
        self._alarm = StepAlarm()

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
        """Record a command's report for the step waiting for it.

        A report can come before its command is tracked: the enqueue runs inside the workflow
        task that minted the UUIDs, and when that task is lost (its worker killed after the
        MDM server took the command) the device's answer lands in the same activation as the
        replay that mints them again, its signal handled first. Such a report is kept until
        the UUIDs it may belong to are tracked (:meth:`_take_early_reports`).
        """
        tracked = self._tracked_for(report)
        if tracked is None and len(self._early) < MAX_EARLY_REPORTS:
            self._early.append(report)
            return
        self._record(report, tracked)

    def _tracked_for(self, report: CommandReport) -> _Tracked | None:
        return self._tracked.get(self._aliases.get(report.command_uuid, report.command_uuid))

    def _record(self, report: CommandReport, tracked: _Tracked | None) -> None:
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
            workflow=self.config.name,
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
            waiting_for=self._waiting_for,
        )

    async def execute(self, start: WorkflowStart) -> ResultT:
        """Run :meth:`steps` for ``start``; what every workflow's ``@workflow.run`` calls.

        The first workflow task does only what cannot be known earlier: the starter set the
        search attributes and passed the engine settings, and the first enqueue records the
        last-started time. Histories of workflows started before that still replay.
        """
        self._start = start
        self._instance_id = start.instance_id or workflow.info().first_execution_run_id
        if start.continued is not None:
            self._steps_done = list(start.continued.steps_completed)
            self._step_labels = list(self._steps_done)
        if start.continued is None:
            self._preset_step = workflow.info().typed_search_attributes.get(search.STEP)
        lean = self.patched_before_engine(start, LEAN_START_PATCH)
        self._upsert_start_attributes(everything=not lean)
        typed_start = self._parse(start)
        if lean:
            self._engine = start.engine or EngineSettings()
        else:
            self._engine = await workflow.execute_local_activity_method(
                MDMActivities.engine_settings, start_to_close_timeout=timedelta(seconds=10)
            )
        needs = type(self).requirements(typed_start)
        if needs.any:
            await self._check_requirements(needs)
        # A continued run is the same workflow start: IdleNotStartedSince keeps the first time.
        if start.continued is None:
            if lean:
                self._first_enqueue_records_start = True
            elif workflow.patched("record-last-start"):
                await workflow.execute_local_activity_method(
                    MDMActivities.record_workflow_start,
                    self._started_record(),
                    start_to_close_timeout=timedelta(seconds=30),
                )
        try:
            result = await self.steps(typed_start)
        except StepError as exc:
            raise ApplicationError(str(exc), type=STEP_FAILED, non_retryable=True) from None
        if not lean:
            workflow.upsert_search_attributes([search.STEP.value_unset()])
        self._step = self._waiting_for = None
        self._drop_early_reports()
        workflow.set_current_details(self._done_details())
        return result

    def _drop_early_reports(self) -> None:
        """Reports kept for commands no step came to track are ignored at the end, as a step
        ignores them (logged, never silently): no later step of this run can take them."""
        for report in self._early:
            self._record(report, None)
        self._early = []

    @staticmethod
    def patched_before_engine(start: WorkflowStart, patch_id: str) -> bool:
        """``workflow.patched`` for a patch no newer than engine settings in the start input
        (the lean first task, lock's PIN by reference), without a marker where one can be
        spared: a marker is two history events and a visibility write on every run.

        A run whose start carries engine settings was started by code that took the patch,
        so it takes it. Runs started so by earlier code recorded the marker, and the SDK
        fails a replay whose code does not ask for a marker in its history: when replaying,
        the patch is asked for and its answer ignored. A start without engine settings
        (``temporal workflow start``) may be older than the patch: the marker decides.
        """
        if start.engine is None:
            return workflow.patched(patch_id)
        if workflow.unsafe.is_replaying():
            workflow.patched(patch_id)
        return True

    def waiting_for(self, reason: str | None) -> None:
        """Say in the workflow's own words what it waits for (shown in the Web UI's current
        details and the ``status`` query until the next call), e.g. ``FileVault is not on
        yet (poll 3 of 180)``; None clears it."""
        self._waiting_for = reason
        self._show_details()

    def _parse(self, start: WorkflowStart) -> StartT:
        try:
            return type(self).parse_start(start)
        except (ContextError, ValidationError) as exc:
            raise ApplicationError(
                f"invalid start context for {self.config.name}: {exc}",
                type=INVALID_CONTEXT,
                non_retryable=True,
            ) from None

    def _upsert_start_attributes(self, *, everything: bool) -> None:
        """The starters set these; a start that did not (``temporal workflow start``) gets
        them from the workflow, so the Web UI's columns are never empty."""
        wanted = [
            (search.ENROLLMENT_ID, self.enrollment_id),
            (search.WORKFLOW_NAME, self.config.name),
            (search.INSTANCE_ID, self._instance_id),
        ]
        present = workflow.info().typed_search_attributes
        missing = [
            key.value_set(value) for key, value in wanted if everything or present.get(key) != value
        ]
        if missing:
            workflow.upsert_search_attributes(missing)

    def _started_record(self) -> WorkflowStarted:
        info = workflow.info()
        return WorkflowStarted(
            enrollment_id=self.enrollment_id,
            workflow_name=self.config.name,
            workflow_id=info.workflow_id,
            started_at=info.workflow_start_time,
        )

    async def _check_requirements(self, needs: StartRequirements) -> None:
        """Fail at once, without retrying, when the start needs what the database lacks.

        The starters checked the same before starting; this catches starts that bypass them
        (``temporal workflow start``) and anything deleted in between.
        """
        try:
            await workflow.execute_local_activity_method(
                ContentActivities.check_requirements,
                needs,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=REQUIREMENTS_RETRY,
            )
        except (ActivityError, ApplicationError) as err:
            cause = _failure_of(err)
            if isinstance(cause, ApplicationError) and cause.type == INVALID_CONTEXT:
                raise ApplicationError(
                    f"invalid start context for {self.config.name}: {cause.message}",
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
        self._drop_early_reports()
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

        Timeout precedence is the step's ``timeout``, then the workflow config's
        ``step_timeout``, then ``MDMFLOW_STEP_TIMEOUT``; it counts from the enqueue, as in
        NanoCMD. On timeout the result carries whatever arrived (``timed_out=True``) and the
        workflow decides (:meth:`StepResult.answer` says it in one line).
        """
        if not commands:
            raise ValueError(f"step {name!r} has no commands")
        engine = self._engine
        if not_until is not None:
            delay = not_until - workflow.now()
            if delay > timedelta(0):
                self._enter_step(name, waiting_until=not_until, label=_label(name, commands))
                await workflow.sleep(delay, summary=f"{name}: NotUntil {not_until.isoformat()}")
        limit = timeout or self.config.step_timeout or timedelta(seconds=engine.step_timeout_s)
        queued = [QueuedCommand(command_uuid=self._mint_uuid(c), command=c) for c in commands]
        self._tracked = {q.command_uuid: _Tracked(q.command) for q in queued}
        self._aliases = {}
        self._completing_params = {}
        self._take_early_reports()
        self._enter_step(name, label=_label(name, commands))
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
        self._step_labels.append(_label(name, commands))
        return result

    def _take_early_reports(self) -> None:
        """Apply the kept reports whose commands are now tracked; the rest belong to no
        step this run will take (UUIDs are never minted twice), and are dropped as ignored."""
        early, self._early = self._early, []
        for report in early:
            self._record(report, self._tracked_for(report))

    def _enter_step(
        self, name: str, waiting_until: datetime | None = None, *, label: str | None = None
    ) -> None:
        """``label`` names the step in the ``MdmStep`` column where NanoCMD's name is empty.

        A fresh run's first step is not upserted when the starter set the same value
        (``WorkflowConfig.first_step``). That depends only on the start event, so replay
        decides as the first run did: starts by earlier code never carried ``MdmStep``.
        """
        self._step = name
        self._step_started = workflow.now()
        value, preset = label or name, self._preset_step
        self._preset_step = None
        if value != preset and not self._shows_step(value):
            workflow.upsert_search_attributes([search.STEP.value_set(value)])
        self._shown_step = value
        self._show_details(waiting_until)

    def _shows_step(self, value: str) -> bool:
        """Whether ``MdmStep`` already holds ``value`` and this run upserts only changes (by
        its start input, or by a patch asked only here, when a step repeats the name)."""
        if value != self._shown_step:
            return False
        engine = self.start_input.engine
        if engine is None:
            return workflow.patched(STEP_UPSERT_ON_CHANGE_PATCH)
        return engine.step_upsert_on_change

    async def _enqueue(
        self, name: str, queued: list[QueuedCommand], limit: timedelta, verb: str = "enqueue"
    ) -> bool:
        """Run the enqueue activity; False when the MDM server stayed down for the whole step."""
        request = EnqueueStep(
            workflow_id=workflow.info().workflow_id,
            workflow_name=self.config.name,
            step=name,
            enrollment_ids=[self.enrollment_id],
            commands=queued,
            started=self._started_record() if self._first_enqueue_records_start else None,
        )
        summary = _activity_summary(name, verb, queued)
        try:
            if self._enqueues_locally():
                await workflow.execute_local_activity_method(
                    MDMActivities.enqueue_step,
                    request,
                    start_to_close_timeout=ENQUEUE_ATTEMPT_TIMEOUT,
                    schedule_to_close_timeout=limit,
                    retry_policy=ENQUEUE_RETRY,
                    summary=summary,
                )
            else:
                await workflow.execute_activity_method(
                    MDMActivities.enqueue_step,
                    request,
                    start_to_close_timeout=ENQUEUE_ATTEMPT_TIMEOUT,
                    schedule_to_close_timeout=limit,
                    heartbeat_timeout=MDM_HEARTBEAT_TIMEOUT,
                    retry_policy=ENQUEUE_RETRY,
                    summary=summary,
                )
        except (ActivityError, ApplicationError) as err:
            if is_cancelled_exception(err):
                raise
            cause = _failure_of(err)
            if isinstance(cause, ApplicationError) and cause.type in STEP_CANNOT_BE_SENT:
                raise ApplicationError(
                    f"step {name!r}: {cause.message}", type=cause.type, non_retryable=True
                ) from None
            workflow.logger.warning(
                "MDM server unavailable for the whole step timeout",
                extra={"step": name, "reason": str(cause or err)},
            )
            return False
        self._first_enqueue_records_start = False
        return True

    def _mint_uuid(self, command: MDMCommand) -> str:
        """A new command UUID: one that carries its route where this run mints those and the
        route fits (``workflows.carried_route``), else a bare one, whose route the enqueue
        records. Either way one ``workflow.uuid4()``, as every run has drawn."""
        bare = str(workflow.uuid4())
        if not self._routes_in_uuids():
            return bare
        config = self.config
        route = CarriedRoute(
            request_type=command.request_type,
            workflow_name=config.name,
            instance_id=None if config.exclusive else self._instance_id,
        )
        if workflow.info().workflow_id != route.workflow_id(self.enrollment_id):
            return bare  # an ID of the starter's own choosing: the bridge could not rebuild it
        return carrying_uuid(bare, route) or bare

    def _routes_in_uuids(self) -> bool:
        engine = self.start_input.engine
        if engine is None:
            return workflow.patched(ROUTES_IN_UUIDS_PATCH)
        return engine.routes_in_uuids

    def _enqueues_locally(self) -> bool:
        """Whether this run enqueues as a local activity: by the start input where it carries
        engine settings, else (``temporal workflow start``) by a patch, which the SDK answers
        the same way for the whole run.

        A local activity runs in the workflow task that decided the step and is recorded as
        one marker in that task's completion: per step, no activity task to schedule, poll,
        start and complete, and no workflow task to learn of its end (measured: the server's
        CPU per step round 18 % lower, the worker's 7 %). It suits the enqueue, which is short
        and safe to repeat (a retry re-sends the same command UUIDs, and the MDM server's
        duplicate answer counts as success). While the MDM server is down the SDK retries it
        with the same policy, beyond a minute's backoff on a workflow timer; a worker killed
        mid-enqueue loses its workflow task, and the next worker runs the enqueue again.
        """
        engine = self.start_input.engine
        if engine is None:
            return workflow.patched(LOCAL_ENQUEUE_PATCH)
        return engine.local_enqueue

    async def _wait_for_answers(
        self, name: str, deadline: datetime, engine: EngineSettings
    ) -> bool:
        """Wait for every command to be final, re-pushing on the interval; False on timeout.

        Runs that wake by the :class:`StepAlarm` wait in :meth:`_wait_by_alarm`; the rest
        (started by earlier code) time each wait with a timer of its own, as their histories
        hold.

        The wait's timer has no summary: the current details already say what the step waits
        for, and a summary is kept (encrypted, and copied in the SDK's core) for as long as
        the run is cached, 3.5 KiB per parked device as measured."""
        if self._wakes_by_alarm():
            return await self._wait_by_alarm(name, deadline, engine)
        repush = timedelta(seconds=engine.repush_interval_s)
        while True:
            remaining = deadline - workflow.now()
            if remaining <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(self._all_final, timeout=min(remaining, repush))
                return True
            except TimeoutError:
                if workflow.now() >= deadline:
                    return False
                if workflow.patched(REASK_PATCH):
                    await self._reask_or_repush(name, deadline)
                else:
                    await self._repush(name)

    async def _wait_by_alarm(self, name: str, deadline: datetime, engine: EngineSettings) -> bool:
        """As :meth:`_wait_for_answers`, woken only by the run's alarm: it rings at the
        deadline or the next re-push, or earlier for a timer armed by an earlier step, after
        which the step arms it again for its own time."""
        repush = timedelta(seconds=engine.repush_interval_s)
        wake = min(deadline, workflow.now() + repush)
        while True:
            if workflow.now() >= wake:
                if workflow.now() >= deadline:
                    return False
                await self._reask_or_repush(name, deadline)
                wake = min(deadline, workflow.now() + repush)
                continue
            self._alarm.arm(wake)
            await workflow.wait_condition(self._answered_or_rang)
            if self._all_final():
                return True

    def _answered_or_rang(self) -> bool:
        return self._all_final() or self._alarm.rang

    def _wakes_by_alarm(self) -> bool:
        """Whether this run's steps wait on the alarm: by the start input where it carries
        engine settings, else by a patch, which the SDK answers the same way for the run."""
        engine = self.start_input.engine
        if engine is None:
            return workflow.patched(STEP_ALARM_PATCH)
        return engine.step_alarm

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
            fresh = QueuedCommand(
                command_uuid=self._mint_uuid(tracked.command), command=tracked.command
            )
            tracked.resent_as.append(fresh.command_uuid)
            self._aliases[fresh.command_uuid] = original
            again.append(fresh)
        self._take_early_reports()
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
            await workflow.execute_activity_method(
                MDMActivities.push,
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
                view = await workflow.execute_activity_method(
                    MDMActivities.report_view,
                    PayloadRef(ref=report.payload_ref),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=PUSH_RETRY,
                    summary=f"{tracked.request_type}: the answer stored aside, as a bounded view",
                )
                payload, truncated = view.payload, view.truncated
            else:
                stored = await workflow.execute_activity_method(
                    MDMActivities.load_report_payload,
                    PayloadRef(ref=report.payload_ref),
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
        label = self._step or " + ".join(t.request_type for t in self._tracked.values())
        lines = [f"**Step** `{label}` since {self._step_started.isoformat()}"]
        if self._waiting_for:
            lines.append(f"Waiting: {self._waiting_for}.")
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

    def _done_details(self) -> str:
        steps = "\n".join(f"{n}. {label}" for n, label in enumerate(self._step_labels, 1))
        return f"**Done** after {len(self._step_labels)} step(s):\n\n{steps or '(none)'}"


def _label(name: str, commands: Sequence[MDMCommand]) -> str:
    """A step's name, or for NanoCMD's unnamed steps the request types it sends."""
    return name or " + ".join(c.request_type for c in commands)


def _failure_of(err: ActivityError | ApplicationError) -> BaseException | None:
    """What an activity raised: a regular activity's failure comes wrapped in an
    ActivityError, a local activity's own failure as the ApplicationError itself (its
    timeouts and cancels still wrapped)."""
    return err.cause if isinstance(err, ActivityError) else err


def _activity_summary(name: str, verb: str, queued: Sequence[QueuedCommand]) -> str:
    """The Web UI's line for an enqueue: ``poll: enqueue SecurityInfo``, or without a step
    name ``enqueue DeviceLock``."""
    sent = f"{verb} {', '.join(q.command.request_type for q in queued)}"
    return f"{name}: {sent}" if name else sent
