"""The cancel path's visibility query on the real Temporal dev server: an enrollment ID with
quotes, ``OR``, a backslash or quotes at its ends finds exactly its own workflows, and an ID
with a control character is refused before anything is queried.

Each enrollment ID here has one running workflow (no worker: nothing runs them) until the
cancellation test lets a worker end the cancelled one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from mdmflow.bridge.cancel import cancel_enrollment, running_workflow_ids
from mdmflow.mdm.limits import LimitError
from mdmflow.store.database import Database
from mdmflow.store.starts import WorkflowStartStore
from mdmflow.workflows import search
from tests.support.runs import terminate_if_running
from tests.support.visibility import until_counted


@workflow.defn(name="test.cancel-query.waiter")
class Waiter:
    """Runs until cancelled."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


def awkward_ids(token: str) -> list[str]:
    """IDs that differ only where a careless query would not look; each is its own enrollment."""
    target = f"{token}-dev'ice\"x OR MdmEnrollmentId = '{token}-victim'"
    return [
        target,
        f"{token}-victim",
        f"{token}-dev'ice",  # the target up to its double quote
        f"{token}-dev'ice\"x",
        target + "2",
        f"{token}-x'",  # Temporal's SQL stores strip end quotes: this matched "-x"
        f"{token}-x",
        f"'{token}-x'",
        f"{token}-back\\slash",
        f"{token}-backslash",
        f"{token}-a%b_c",
        f"{token}-aXbYc",
    ]


async def all_visible(client: Client, task_queue: str, count: int) -> None:
    """Wait until the server lists ``count`` running workflows on ``task_queue``.

    Visibility is eventually consistent and offers nothing to wait on, so the condition is
    polled (bounded): the test is about what the listing returns once it is complete.
    """
    await until_counted(
        client, f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'", count
    )


@pytest.fixture
async def starts(tmp_path: Path) -> AsyncIterator[WorkflowStartStore]:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    try:
        yield WorkflowStartStore(db)
    finally:
        await db.close()


@pytest.fixture
async def running(client: Client, task_queue: str) -> AsyncIterator[dict[str, str]]:
    """One running workflow per awkward ID, all visible; terminated after the test."""
    token = uuid.uuid4().hex[:8]
    workflow_ids = {}
    for index, eid in enumerate(awkward_ids(token)):
        handle = await client.start_workflow(
            Waiter.run,
            id=f"test-cancel-query/{token}/{index}",
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(search.ENROLLMENT_ID, eid)]
            ),
        )
        workflow_ids[eid] = handle.id
    await all_visible(client, task_queue, len(workflow_ids))
    yield workflow_ids
    for workflow_id in workflow_ids.values():
        await terminate_if_running(client.get_workflow_handle(workflow_id), "test over")


async def test_each_awkward_id_finds_exactly_its_own_workflow(
    client: Client, starts: WorkflowStartStore, running: dict[str, str]
) -> None:
    found = {eid: await running_workflow_ids(client, starts, eid) for eid in running}
    assert found == {eid: {workflow_id} for eid, workflow_id in running.items()}


async def test_cancel_ends_only_the_enrollment_s_own_workflow(
    client: Client, starts: WorkflowStartStore, running: dict[str, str], task_queue: str
) -> None:
    target = next(iter(running))
    assert " OR " in target
    assert "'" in target
    assert '"' in target
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[Waiter],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        cancelled = await cancel_enrollment(client, starts, target, "re-enrolled")
    assert cancelled == [running[target]]
    statuses = {
        eid: (await client.get_workflow_handle(wid).describe()).status
        for eid, wid in running.items()
    }
    assert statuses.pop(target) == WorkflowExecutionStatus.CANCELED
    assert set(statuses.values()) == {WorkflowExecutionStatus.RUNNING}


@pytest.mark.parametrize(
    ("eid", "problem"),
    [
        ("dev\x00ice", "control character U+0000 not allowed"),
        ("dev\nice' OR 'x", "control character U+000A not allowed"),
        ("x" * 256, "longer than 255 bytes"),
    ],
    ids=["nul", "newline", "long"],
)
async def test_an_id_outside_the_id_rules_is_refused_before_querying(
    client: Client, starts: WorkflowStartStore, eid: str, problem: str
) -> None:
    # Sent, a NUL made the SQLite visibility store fail "unavailable" and the client retry.
    with pytest.raises(LimitError) as info:
        await running_workflow_ids(client, starts, eid)
    assert str(info.value) == f"enrollment_id: {problem}"
    with pytest.raises(LimitError):
        await cancel_enrollment(client, starts, eid, "re-enrolled")
