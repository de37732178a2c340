"""Cancel every running workflow of an enrollment (on Authenticate and CheckOut).

The IDs come from the last-started records (consistent at once) and from a visibility query on
``MdmEnrollmentId`` (catches MultipleSimultaneous instances). The bridge waits until each has
ended, so a start that follows the re-enrollment is not refused as "already running".
The enrollment ID is checked against the ID rules before any lookup, and the query is built by
:mod:`mdmflow.visibility`, so an ID can neither break the query nor match another enrollment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import RequestCancelWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from mdmflow.mdm import limits
from mdmflow.store.starts import WorkflowStartStore
from mdmflow.visibility import enrollment_workflow_ids

log = logging.getLogger(__name__)
CANCEL_WAIT_S = 30.0
RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


async def running_workflow_ids(client: Client, starts: WorkflowStartStore, eid: str) -> set[str]:
    """The enrollment's workflows that may run; :class:`~mdmflow.mdm.limits.LimitError` for an
    ID outside the ID rules, before anything is looked up."""
    limits.check_id(eid, "enrollment_id")
    ids = set(await starts.workflow_ids(eid))
    async for workflow_id in enrollment_workflow_ids(client, eid):
        ids.add(workflow_id)
    return ids


async def cancel_enrollment(
    client: Client, starts: WorkflowStartStore, eid: str, reason: str
) -> list[str]:
    """Request cancellation of the enrollment's running workflows and wait for them to end."""
    cancelled: list[str] = []
    for workflow_id in sorted(await running_workflow_ids(client, starts, eid)):
        handle = client.get_workflow_handle(workflow_id)
        try:
            description = await handle.describe()
            if description.raw_description.workflow_execution_info.status != RUNNING:
                continue
            await client.workflow_service.request_cancel_workflow_execution(
                RequestCancelWorkflowExecutionRequest(
                    namespace=client.namespace,
                    workflow_execution=WorkflowExecution(workflow_id=workflow_id),
                    identity=client.identity,
                    request_id=str(uuid.uuid4()),
                    reason=reason,
                )
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                continue
            raise
        cancelled.append(workflow_id)
        log.info(
            "cancelled workflow",
            extra={"enrollment_id": eid, "workflow_id": workflow_id, "reason": reason},
        )
    await asyncio.gather(*(_ended(client, wid) for wid in cancelled))
    return cancelled


async def _ended(client: Client, workflow_id: str) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.get_workflow_handle(workflow_id).result(), CANCEL_WAIT_S)
