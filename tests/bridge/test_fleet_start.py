"""Fleet starts on the real Temporal dev server: a start over the threshold is answered 202 at
once and its fan-out workflow starts every device exactly once, page by page (continuing as
new), skipping devices already running the workflow; IDs come in the body as a JSON list or
one per line; the instance status shows the fan-out's progress; cancelling the instance stops
the fan-out before it starts more and cancels what it started."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from mdmflow.activities.device_start import FAN_OUT_PARALLEL_STARTS, start_device
from mdmflow.activities.fleet import FleetActivities
from mdmflow.activities.fleet_models import (
    FleetPageOutcome,
    FleetPageStart,
    FleetProgress,
    FleetStartInput,
    fleet_workflow_id,
)
from mdmflow.bridge.instance_cancel import cancel_instance
from mdmflow.bridge.instances import instance_status
from mdmflow.starter.fleet import start_fleet
from mdmflow.starter.start import prepare_start
from mdmflow.store.fleet_ids import FleetIdStore, MissingPageError
from mdmflow.workflows import search
from mdmflow.workflows.devinfolog import DevInfoLogWorkflow
from mdmflow.workflows.fleet_start import FleetStartWorkflow
from mdmflow.workflows.models import WorkflowStart
from tests.support.stack import Stack, running_stack
from tests.support.visibility import until_counted

DEVINFOLOG = DevInfoLogWorkflow.config.name


FLEET = 280
"""Devices in the module's simulator: what its tests take together, with room to spare."""


@pytest.fixture(scope="module")
async def stack(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """Devices that never answer (unenrolled: no push reaches them), so every device
    workflow keeps running until cancelled; a threshold of 20 IDs keeps the fleets small."""
    folder: Path = tmp_path_factory.mktemp("fleet-start")
    async with running_stack(
        temporal_env.client,
        f"sqlite+aiosqlite:///{folder}/app.db",
        devices=FLEET,
        settings={"fleet_start_threshold": 20},
        simulator={"enrolled": False},
    ) as running:
        yield running


class Devices:
    """Hands each test devices no other test of the module has used: their workflows keep
    running, and a device already running would be counted, not started."""

    def __init__(self, ids: list[str]) -> None:
        self._ids = ids
        self._next = 0

    def take(self, count: int) -> list[str]:
        taken = self._ids[self._next : self._next + count]
        if len(taken) < count:
            raise AssertionError(f"the fleet of {len(self._ids)} is used up: raise FLEET")
        self._next += count
        return taken


@pytest.fixture(scope="module")
def devices(stack: Stack) -> Devices:
    return Devices(stack.sim.enrollment_ids())


def instance_query(instance_id: str) -> str:
    return f"{search.INSTANCE_ID.name} = '{instance_id}'"


async def fan_out_result(client: Client, instance_id: str) -> FleetProgress:
    handle: WorkflowHandle[FleetStartWorkflow, FleetProgress] = client.get_workflow_handle_for(
        FleetStartWorkflow.run, fleet_workflow_id(instance_id)
    )
    return await handle.result()


async def instance_ids(client: Client, instance_id: str) -> list[str]:
    """The enrollment ID of every run of the instance's device workflows, repeats kept."""
    return [
        e.typed_search_attributes.get(search.ENROLLMENT_ID) or ""
        async for e in client.list_workflows(instance_query(instance_id))
    ]


async def test_a_large_start_is_answered_202_and_every_device_starts_once(
    stack: Stack, devices: Devices
) -> None:
    busy, ids = sorted(devices.take(3)), sorted(devices.take(57))
    async with stack.api() as api:
        small = await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": busy})
        assert small.status_code == 200, small.text
        body = "\n".join(["# the fleet", *ids[2:], "", *busy]) + "\n"
        answer = await api.post(
            f"/v1/workflow/{DEVINFOLOG}/start",
            params={"id": ids[:2]},
            content=body,
            headers={"Content-Type": "text/plain"},
        )
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    instance_id = accepted["instance_id"]
    assert accepted["total"] == len(ids) + len(busy)
    assert accepted["fan_out_workflow_id"] == fleet_workflow_id(instance_id)

    progress = await fan_out_result(stack.client, instance_id)
    assert (progress.started, progress.already_running) == (len(ids), len(busy))
    assert sorted(progress.already_running_ids) == busy
    assert progress.done
    await until_counted(stack.client, instance_query(instance_id), len(ids))
    assert sorted(await instance_ids(stack.client, instance_id)) == ids

    status = await instance_status(stack.client, instance_id, page_size=10)
    assert status.workflow == DEVINFOLOG
    assert status.counts["running"] == status.total == len(ids)
    assert status.fan_out is not None
    assert status.fan_out.state == "completed"
    assert status.fan_out.progress is not None
    assert status.fan_out.progress.started == len(ids)
    with pytest.raises(MissingPageError):
        await FleetIdStore(stack.db).page(instance_id, 0)
    await cancel_instance(stack.client, instance_id, "test over")


async def test_pages_continue_as_new_and_a_json_body_is_read(
    stack: Stack, devices: Devices
) -> None:
    ids = sorted(devices.take(45))
    prepared = await prepare_start(DEVINFOLOG, ids)
    accepted = await start_fleet(
        stack.client,
        stack.task_queue,
        FleetIdStore(stack.db),
        prepared,
        page_size=10,
        pages_per_run=2,
    )
    progress = await fan_out_result(stack.client, accepted.instance_id)
    assert (progress.started, progress.pages_done, progress.done) == (45, 5, True)
    runs = [
        e
        async for e in stack.client.list_workflows(f"WorkflowId = '{accepted.fan_out_workflow_id}'")
    ]
    statuses = [e.status for e in runs]
    assert statuses.count(WorkflowExecutionStatus.CONTINUED_AS_NEW) == 2, "pages 1-2, 3-4, 5"
    first_run = min(runs, key=lambda e: e.start_time)
    history = await stack.client.get_workflow_handle(
        first_run.id, run_id=first_run.run_id
    ).fetch_history()
    kinds = [e.WhichOneof("attributes") for e in history.events]
    scheduled = [i for i, k in enumerate(kinds) if k == "activity_task_scheduled_event_attributes"]
    completed = kinds.index("activity_task_completed_event_attributes")
    assert len(scheduled) >= 2
    assert scheduled[1] < completed, "the second page starts before the first is done"
    await until_counted(stack.client, instance_query(accepted.instance_id), 45)
    assert sorted(await instance_ids(stack.client, accepted.instance_id)) == ids
    await cancel_instance(stack.client, accepted.instance_id, "test over")

    more = devices.take(25)
    async with stack.api() as api:
        answer = await api.post(
            f"/v1/workflow/{DEVINFOLOG}/start",
            content=json.dumps(more),
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 202, answer.text
    progress = await fan_out_result(stack.client, answer.json()["instance_id"])
    assert progress.started == 25
    await cancel_instance(stack.client, answer.json()["instance_id"], "test over")


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        ("[1, 2]", "application/json", "the IDs must be a JSON list of strings"),
        ("[", "application/json", "IDs are not JSON"),
        ("a\nb\x00c\n", "text/plain", "control character"),
        (b"\xff\xfe", "text/plain", "IDs are not UTF-8 text"),
    ],
)
async def test_a_bad_id_list_is_a_400_that_says_why(
    stack: Stack, content: str | bytes, content_type: str, message: str
) -> None:
    async with stack.api() as api:
        answer = await api.post(
            f"/v1/workflow/{DEVINFOLOG}/start",
            content=content,
            headers={"Content-Type": content_type},
        )
    assert answer.status_code == 400
    assert message in answer.json()["error"]


async def test_cancel_stops_the_fan_out_before_it_starts_more(
    stack: Stack, devices: Devices
) -> None:
    ids = devices.take(40)
    prepared = await prepare_start(DEVINFOLOG, ids)
    accepted = await start_fleet(
        stack.client, stack.task_queue, FleetIdStore(stack.db), prepared, rate=4, page_size=8
    )
    await until_counted(stack.client, instance_query(accepted.instance_id), 4)
    running = await instance_status(stack.client, accepted.instance_id)
    assert running.fan_out is not None
    assert running.fan_out.state == "running"
    assert running.fan_out.progress is not None
    assert running.fan_out.progress.started < len(ids)

    outcome = await cancel_instance(stack.client, accepted.instance_id, "stop the rollout")
    assert outcome.fan_out_cancelled
    handle = stack.client.get_workflow_handle(accepted.fan_out_workflow_id)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    started = await until_all_cancelled(stack.client, accepted.instance_id)
    assert 4 <= started < len(ids)
    assert outcome.cancelled + outcome.already_ended == started
    with pytest.raises(MissingPageError):
        await FleetIdStore(stack.db).page(accepted.instance_id, 0)


async def stored_fleet(
    store: FleetIdStore,
    instance_id: str,
    ids: list[str],
    page_size: int,
    task_queue: str | None = None,
) -> FleetStartInput:
    """The IDs saved in pages as a fleet start saves them, and the fan-out's input for them."""
    pages = await store.save(instance_id, ids, page_size=page_size)
    return FleetStartInput(
        instance_id=instance_id,
        workflow=DEVINFOLOG,
        exclusive=True,
        device_summary="test",
        pages=pages,
        progress=FleetProgress(workflow=DEVINFOLOG, total=len(ids)),
        task_queue=task_queue,
    )


async def until_all_cancelled(client: Client, instance_id: str) -> int:
    """Wait until no device workflow of the instance runs; how many there are."""
    query = instance_query(instance_id)
    await until_counted(client, f"{query} AND ExecutionStatus = 'Running'", 0)
    return (await client.count_workflows(query)).count


async def test_a_retried_page_counts_what_it_started_before_and_starts_the_rest(
    stack: Stack, devices: Devices
) -> None:
    """The page activity's retry after a crash, with its last heartbeat: the IDs the heartbeat
    counted are skipped; of the rest, a device whose latest run is this instance's (running
    or ended since) is counted, not started again; one that another instance ran before is
    started; one another instance runs now is already running."""
    ids = devices.take(7)
    counted, ours_running, ours_ended, theirs_ended, theirs_running = ids[:5]
    instance_id, other = "retried-instance", "other-instance"
    for eid, owner in (
        (ours_running, instance_id),
        (ours_ended, instance_id),
        (theirs_ended, other),
        (theirs_running, other),
    ):
        started = await start_device(
            stack.client,
            stack.task_queue,
            WorkflowStart(enrollment_id=eid, instance_id=owner),
            name=DEVINFOLOG,
            exclusive=True,
            summary="test",
        )
        assert started
    for eid in (ours_ended, theirs_ended):
        await stack.client.get_workflow_handle(f"{DEVINFOLOG}/{eid}").terminate("ended")
    store = FleetIdStore(stack.db)
    fleet = await stored_fleet(store, instance_id, ids, page_size=len(ids))
    env = ActivityEnvironment(client=stack.client)
    heartbeat = FleetPageOutcome(handled=1, started=1)
    env.info = dataclasses.replace(
        env.info,
        attempt=2,
        heartbeat_details=[heartbeat.model_dump()],
        task_queue=stack.task_queue,
    )

    outcome = await env.run(FleetActivities(store).start_page, FleetPageStart(fleet=fleet, page=0))

    assert outcome.handled == len(ids)
    assert (outcome.started, outcome.already_running) == (len(ids) - 1, 1)
    assert outcome.already_running_ids == [theirs_running]
    with pytest.raises(RPCError) as missing:  # the heartbeat counted it: not touched again
        await stack.client.get_workflow_handle(f"{DEVINFOLOG}/{counted}").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    expected = {
        ours_running: [instance_id],
        ours_ended: [instance_id],
        theirs_ended: sorted([other, instance_id]),
        theirs_running: [other],
        ids[5]: [instance_id],
        ids[6]: [instance_id],
    }
    for eid, owners in expected.items():
        query = f"WorkflowId = '{DEVINFOLOG}/{eid}'"
        await until_counted(stack.client, query, len(owners))
        assert (
            sorted(
                [
                    e.typed_search_attributes.get(search.INSTANCE_ID) or ""
                    async for e in stack.client.list_workflows(query)
                ]
            )
            == owners
        ), eid
    await cancel_instance(stack.client, instance_id, "test over")
    await cancel_instance(stack.client, other, "test over")


class InFlightStarts(Interceptor):
    """Counts the client's workflow starts in flight and the most there ever were."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        counter = self

        class Counting(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
                counter.now += 1
                counter.most = max(counter.most, counter.now)
                try:
                    return await super().start_workflow(input)
                finally:
                    counter.now -= 1

        return Counting(next)


async def test_pages_starting_at_once_share_the_workers_start_gate(
    stack: Stack, devices: Devices
) -> None:
    """Two pages, each under the gate's size, started by one worker's activities at once keep
    at most the fan-out's gate of starts in flight (their sum with a gate per page)."""
    page_size = FAN_OUT_PARALLEL_STARTS * 3 // 4
    ids = devices.take(2 * page_size)
    instance_id = "two-pages-at-once"
    store = FleetIdStore(stack.db)
    fleet = await stored_fleet(
        store, instance_id, ids, page_size=page_size, task_queue=stack.task_queue
    )
    starts = InFlightStarts()
    config = stack.client.config()
    config["interceptors"] = [starts]
    client = Client(**config)
    activities = FleetActivities(store)
    outcomes = await asyncio.gather(
        *(
            ActivityEnvironment(client=client).run(
                activities.start_page, FleetPageStart(fleet=fleet, page=page, rate_share=2)
            )
            for page in (0, 1)
        )
    )
    assert [o.started for o in outcomes] == [page_size, page_size]
    assert starts.most == FAN_OUT_PARALLEL_STARTS
    await cancel_instance(stack.client, instance_id, "test over")
