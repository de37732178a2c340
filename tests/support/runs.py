"""Every run of a workflow that continued as new, without visibility (the time-skipping test
server has no ListWorkflowExecutions): follow each run's link back to the one before it."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from tests.support.history import events


async def runs(client: Client, workflow_id: str) -> list[WorkflowHandle[Any, Any]]:
    """Handles of every run of ``workflow_id``, first to last."""
    chain = [client.get_workflow_handle(workflow_id)]
    chain[0] = client.get_workflow_handle(workflow_id, run_id=(await chain[0].describe()).run_id)
    while True:
        first = (await events(chain[0]))[0].workflow_execution_started_event_attributes
        if not first.continued_execution_run_id:
            return chain
        chain.insert(
            0, client.get_workflow_handle(workflow_id, run_id=first.continued_execution_run_id)
        )


async def exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def terminate_if_running(handle: WorkflowHandle[Any, Any], reason: str) -> None:
    """Terminate a test's workflow unless it has ended, or never started; it may end on its
    own at any moment, so the server's answer decides, not a describe before the call."""
    try:
        await handle.terminate(reason)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
