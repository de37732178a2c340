"""The engine's activities: record routes and enqueue a step, push, read engine settings.

Only a bare command UUID gets a recorded route; one that carries its own
(``workflows.carried_route``, every run started by this version) needs none, so a step's
enqueue writes nothing to the app database unless it is the run's first (its last-started
record).

An enqueue activity is retried with the same command UUIDs (minted in the workflow), so a
retry re-sends the same commands and the MDM server's duplicate answer counts as success.
Enqueue and push heartbeat all the while they run (``heartbeating``), so the engine can give
them a short heartbeat timeout: a killed worker's step resumes in seconds, and a slow MDM
server does not make a live activity look dead. The engine now runs the enqueue as a local
activity (see ``MDMWorkflow._enqueues_locally``), which has no heartbeat; the regular one stays
for runs started by earlier code.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from mdmflow.activities.heartbeat import heartbeating
from mdmflow.activities.mdm_client import MDMClient, MDMRejectedError, MDMServerError
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
from mdmflow.activities.stored_values import StoredValueError, StoredValueReader
from mdmflow.failures import (
    MDM_REJECTED,
    MDM_UNAVAILABLE,
    PAYLOAD_NOT_FOUND,
    STORED_VALUE_MISSING,
)
from mdmflow.mdm.bounded import bounded_view
from mdmflow.store.payloads import PayloadNotFoundError, PayloadStore
from mdmflow.store.routes import Route, RouteStore
from mdmflow.store.starts import WorkflowStartStore
from mdmflow.workflows.carried_route import carried_route

log = logging.getLogger(__name__)


class MDMActivities:
    """Activities bound to one worker's MDM client and app database."""

    def __init__(
        self,
        client: MDMClient,
        routes: RouteStore,
        payloads: PayloadStore,
        starts: WorkflowStartStore,
        engine_settings: EngineSettings,
        stored: StoredValueReader,
    ) -> None:
        self._client = client
        self._routes = routes
        self._payloads = payloads
        self._starts = starts
        self._engine_settings = engine_settings
        self._stored = stored

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for the worker's registration."""
        return [
            self.engine_settings,
            self.record_workflow_start,
            self.enqueue_step,
            self.push,
            self.load_report_payload,
            self.report_view,
        ]

    @activity.defn(name=ENGINE_SETTINGS_ACTIVITY)
    async def engine_settings(self) -> EngineSettings:
        return self._engine_settings

    @activity.defn(name=RECORD_START_ACTIVITY)
    async def record_workflow_start(self, started: WorkflowStarted) -> None:
        await self._starts.record(
            started.enrollment_id, started.workflow_name, started.workflow_id, started.started_at
        )

    @activity.defn(name=ENQUEUE_ACTIVITY)
    async def enqueue_step(self, req: EnqueueStep) -> None:
        async with heartbeating():
            await self._enqueue_step(req)

    async def _enqueue_step(self, req: EnqueueStep) -> None:
        started = req.started
        record_start = (
            None
            if started is None
            else self._starts.writer(
                started.enrollment_id,
                started.workflow_name,
                started.workflow_id,
                started.started_at,
            )
        )
        await self._routes.record(
            [
                Route(
                    enrollment_id=eid,
                    command_uuid=qc.command_uuid,
                    workflow_id=req.workflow_id,
                    workflow_name=req.workflow_name,
                    request_type=qc.command.request_type,
                    step=req.step,
                )
                for eid in req.enrollment_ids
                for qc in req.commands
                if carried_route(qc.command_uuid) is None
            ],
            also=record_start,
        )
        last = len(req.commands) - 1
        try:
            for number, qc in enumerate(req.commands):
                plist = await self._plist(req.enrollment_ids, qc)
                await self._client.enqueue(
                    req.enrollment_ids, qc.command_uuid, plist, push=number == last
                )
                log.debug(
                    "enqueued command",
                    extra={
                        "command_uuid": qc.command_uuid,
                        "request_type": qc.command.request_type,
                        "workflow_id": req.workflow_id,
                        "step": req.step,
                        "enrollment_id": req.enrollment_ids[0],
                        "count": len(req.enrollment_ids),
                    },
                )
        except MDMRejectedError as exc:
            raise ApplicationError(str(exc), type=MDM_REJECTED, non_retryable=True) from None
        except MDMServerError as exc:
            raise ApplicationError(str(exc), type=MDM_UNAVAILABLE) from None

    async def _plist(self, enrollment_ids: list[str], qc: QueuedCommand) -> bytes:
        """The command's plist, its stored values (profile bytes, secrets) read now."""
        if not qc.command.stored:
            return qc.command.to_plist(qc.command_uuid)
        try:
            if len(enrollment_ids) != 1 and any(v.secret for v in qc.command.stored):
                raise StoredValueError("a command with a secret goes to one enrollment at a time")
            filled = await self._stored.read(enrollment_ids[0], qc.command)
        except StoredValueError as exc:
            raise ApplicationError(
                f"{qc.command.request_type}: {exc}", type=STORED_VALUE_MISSING, non_retryable=True
            ) from None
        return qc.command.to_plist(qc.command_uuid, filled)

    @activity.defn(name=PUSH_ACTIVITY)
    async def push(self, req: PushRequest) -> None:
        try:
            async with heartbeating():
                await self._client.push(req.enrollment_ids)
        except MDMRejectedError as exc:
            raise ApplicationError(str(exc), type=MDM_REJECTED, non_retryable=True) from None
        except MDMServerError as exc:
            raise ApplicationError(str(exc), type=MDM_UNAVAILABLE) from None

    @activity.defn(name=LOAD_PAYLOAD_ACTIVITY)
    async def load_report_payload(self, ref: PayloadRef) -> StoredPayload:
        """Kept for workflows that started before ``report_view`` (their histories)."""
        try:
            return StoredPayload(payload=await self._payloads.get(ref.ref))
        except PayloadNotFoundError as exc:
            raise ApplicationError(str(exc), type=PAYLOAD_NOT_FOUND, non_retryable=True) from None

    @activity.defn(name=REPORT_VIEW_ACTIVITY)
    async def report_view(self, ref: PayloadRef) -> ReportView:
        """A stored payload cut to what a workflow may hold, however large the answer was."""
        try:
            view = bounded_view(await self._payloads.get(ref.ref))
        except PayloadNotFoundError as exc:
            raise ApplicationError(str(exc), type=PAYLOAD_NOT_FOUND, non_retryable=True) from None
        return ReportView(payload=view.payload, truncated=view.truncated)
