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
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from mdmflow.activities.device_start import MAX_PARALLEL_STARTS, start_device
from mdmflow.activities.models import EngineSettings
from mdmflow.mdm import limits
from mdmflow.requirements import RequirementCheck, RequirementError
from mdmflow.workflows.errors import ContextError
from mdmflow.workflows.models import MDMEvent, WorkflowStart
from mdmflow.workflows.registry import WorkflowClass, workflow_class


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


@dataclass(frozen=True)
class PreparedStart:
    """A checked start: its IDs, the instance ID, and every device's input (secrets sealed)."""

    cls: WorkflowClass
    instance_id: str
    starts: list[WorkflowStart]

    @property
    def name(self) -> str:
        return self.cls.config.name

    @property
    def ids(self) -> list[str]:
        return [s.enrollment_id for s in self.starts]


def unique_ids(ids: Sequence[str]) -> list[str]:
    """The IDs stripped, blanks dropped, each once in first-seen order."""
    return list(dict.fromkeys(i.strip() for i in ids if i.strip()))


def new_start(
    enrollment_id: str,
    instance_id: str,
    context: str = "",
    url_params: dict[str, str] | None = None,
    event: MDMEvent | None = None,
    engine: EngineSettings | None = None,
) -> WorkflowStart:
    """What a start made now carries to one device's workflow: without ``engine``, the
    documented defaults (:class:`EngineSettings`), in the input all the same. A start without
    engine settings runs as a start by older code did, a patch marker (two history events and
    a visibility write) deciding each engine change on its first task; a fleet's pages copy
    the settings their fleet was given here."""
    return WorkflowStart(
        enrollment_id=enrollment_id,
        instance_id=instance_id,
        context=context,
        url_params=url_params or {},
        event=event,
        engine=engine or EngineSettings.for_new_start(),
    )


async def prepare_start(
    name: str,
    ids: Sequence[str],
    context: str = "",
    url_params: dict[str, str] | None = None,
    event: MDMEvent | None = None,
    *,
    checker: RequirementCheck | None = None,
    sealer: SecretSealer | None = None,
    engine: EngineSettings | None = None,
) -> PreparedStart:
    """Check everything a start can be refused for before anything starts.

    Raises :class:`UnknownWorkflowError` for a name the registry lacks and
    :class:`StartError` for bad IDs or a context the workflow would refuse. Without a
    ``checker`` the database requirements are left to the workflow, which then fails on its
    own; every caller in mdmflow passes one. A context holding secrets (certprof's text
    replacements) needs a ``sealer``: its secrets are sealed for every ID here, and the
    workflows start with a context that only names them. Without ``engine`` the workflows get
    the documented defaults (:class:`EngineSettings`), carried in the start input all the same.
    """
    cls = workflow_class(name)
    unique = unique_ids(ids)
    if not unique:
        raise StartError("no IDs provided")
    for eid in unique:
        try:
            limits.check_id(eid, "id")
        except limits.LimitError as exc:
            raise StartError(str(exc)) from None
    instance_id = str(uuid.uuid4())
    starts = [new_start(eid, instance_id, context, url_params, event, engine) for eid in unique]
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
    return PreparedStart(cls=cls, instance_id=instance_id, starts=starts)


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
    """Start ``name`` on every ID and answer when all are started (NanoCMD's start); raise
    as :func:`prepare_start` does, or :class:`AllAlreadyRunningError` if all are busy."""
    prepared = await prepare_start(
        name, ids, context, url_params, event, checker=checker, sealer=sealer, engine=engine
    )
    return await start_prepared(client, task_queue, prepared)


async def start_prepared(client: Client, task_queue: str, prepared: PreparedStart) -> StartOutcome:
    """Start every device of a prepared start from this process, a few at a time."""
    gate = asyncio.Semaphore(MAX_PARALLEL_STARTS)
    cls = prepared.cls

    async def one(start: WorkflowStart) -> bool:
        async with gate:
            return await start_device(
                client,
                task_queue,
                start,
                name=cls.config.name,
                exclusive=cls.config.exclusive,
                summary=cls.config.summary,
                first_step=cls.config.first_step,
            )

    starts = prepared.starts
    results = await asyncio.gather(*(one(s) for s in starts))
    started = [s.enrollment_id for s, ok in zip(starts, results, strict=True) if ok]
    running = [s.enrollment_id for s, ok in zip(starts, results, strict=True) if not ok]
    if not started:
        raise AllAlreadyRunningError(len(running), len(starts))
    return StartOutcome(
        instance_id=prepared.instance_id,
        workflow=prepared.name,
        started=started,
        already_running=running,
    )
