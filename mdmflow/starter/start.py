"""Start one MDM workflow on many enrollment IDs: the NanoCMD start semantics on Temporal.

Used by the bridge's ``/v1/workflow/{name}/start``, by event subscriptions and by ``mdmflow
start``. Each ID gets its own Temporal workflow; one instance ID ties them together (a search
attribute). An ID whose exclusive workflow is already running is skipped and reported, not
silently dropped.

Nothing starts with a context the workflow would refuse: the context is parsed by the
workflow's own ``parse_start``, and what it needs from the app database (profiles, a command
plan) is checked by the requirement checker the caller passes. The workflow checks both
again when it runs, for starts that bypass this module (``temporal workflow start``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, ValidationError
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from mdmflow.activities.models import EngineSettings
from mdmflow.requirements import RequirementCheck, RequirementError
from mdmflow.workflows import search
from mdmflow.workflows.errors import ContextError
from mdmflow.workflows.models import MDMEvent, WorkflowStart
from mdmflow.workflows.registry import WorkflowClass, workflow_class

MAX_PARALLEL_STARTS = 32


class StartError(ValueError):
    """The start request itself is wrong (no IDs, bad context); nothing was started."""


class AllAlreadyRunningError(Exception):
    def __init__(self, running: int, total: int) -> None:
        super().__init__(f"workflow already started on {running} (of {total}) ids")
        self.running = running


class SecretSealer(Protocol):
    """Stores a start's secrets sealed for each device (the inventory's secret store)."""

    async def seal(self, enrollment_ids: Sequence[str], secrets: Mapping[str, str]) -> None: ...


class StartOutcome(BaseModel):
    instance_id: str
    workflow: str
    started: list[str]
    already_running: list[str]


async def start_workflows(
    client: Client,
    task_queue: str,
    name: str,
    ids: Sequence[str],
    context: str = "",
    url_params: dict[str, str] | None = None,
    event: MDMEvent | None = None,
    *,
    checker: RequirementCheck | None = None,
    sealer: SecretSealer | None = None,
    engine: EngineSettings | None = None,
) -> StartOutcome:
    """Start ``name`` on every ID; raise if the name is unknown, the input bad, or all busy.

    Without a ``checker`` the database requirements are left to the workflow, which then
    fails on its own; every caller in mdmflow passes one. A context holding secrets (certprof's
    text replacements) needs a ``sealer``: its secrets are sealed for every ID before anything
    starts, and the workflows start with a context that only names them.
    """
    cls = workflow_class(name)
    unique = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    if not unique:
        raise StartError("no IDs provided")
    instance_id = str(uuid.uuid4())
    starts = [
        WorkflowStart(
            enrollment_id=eid,
            instance_id=instance_id,
            context=context,
            url_params=url_params or {},
            event=event,
            engine=engine,
        )
        for eid in unique
    ]
    try:
        typed = cls.parse_start(starts[0])
    except (ContextError, ValidationError) as exc:
        raise StartError(f"invalid context for {name}: {exc}") from None
    needs = cls.requirements(typed)
    if checker is not None and needs.any:
        try:
            await checker.check(needs)
        except RequirementError as exc:
            raise StartError(f"invalid context for {name}: {exc}") from None
    sealed = cls.seal_context(typed, instance_id)
    if sealed is not None:
        if sealer is None:
            raise StartError(
                f"the context of {name} holds secrets, which must be sealed in the app database "
                "first: start it through the bridge's API or `mdmflow start`"
            )
        await sealer.seal(unique, sealed.secrets)
        starts = [s.model_copy(update={"context": sealed.context}) for s in starts]
    gate = asyncio.Semaphore(MAX_PARALLEL_STARTS)

    async def one(start: WorkflowStart) -> bool:
        async with gate:
            return await _start_one(client, task_queue, cls, start)

    results = await asyncio.gather(*(one(s) for s in starts))
    started = [s.enrollment_id for s, ok in zip(starts, results, strict=True) if ok]
    running = [s.enrollment_id for s, ok in zip(starts, results, strict=True) if not ok]
    if not started:
        raise AllAlreadyRunningError(len(running), len(unique))
    return StartOutcome(
        instance_id=instance_id, workflow=name, started=started, already_running=running
    )


async def _start_one(
    client: Client, task_queue: str, cls: WorkflowClass, start: WorkflowStart
) -> bool:
    try:
        await client.start_workflow(
            cls.config.name,
            start,
            id=cls.config.workflow_id(start.enrollment_id, start.instance_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search.ENROLLMENT_ID, start.enrollment_id),
                    SearchAttributePair(search.WORKFLOW_NAME, cls.config.name),
                    SearchAttributePair(search.INSTANCE_ID, start.instance_id),
                ]
            ),
            static_summary=f"{cls.config.summary} on {start.enrollment_id}",
            static_details=f"Instance `{start.instance_id}`; context `{start.context or '-'}`",
        )
    except WorkflowAlreadyStartedError:
        return False
    return True
