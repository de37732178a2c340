"""Recent instances of a workflow, and what runs on one enrollment ID, from visibility.

Both are bounded scans: SQL visibility cannot group by instance or order by start time, so the
newest ``SCAN_LIMIT`` runs are read and grouped here. Values reach the query only through
:mod:`mdmflow.visibility`, and results are kept only when their attribute matches exactly.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowExecutionStatus

from mdmflow.bridge.instance_models import EnrollmentWorkflow, InstanceSummary
from mdmflow.bridge.instance_query import NOT_CONTINUED, state_name
from mdmflow.mdm import limits
from mdmflow.visibility import exact_prefix, quote
from mdmflow.workflows import search

SCAN_LIMIT = 5000
"""Runs read to find recent instances; a fleet bigger than this shows as one instance anyway."""
MAX_LIMIT = 1000


def _match_query(key: str, value: str, where: str) -> str:
    """``key`` equal to ``value`` where the server compares it exactly, else a superset."""
    limits.check_id(value, where)
    prefix = exact_prefix(value)
    if prefix == value:
        return f"{key} = {quote(value, where)}"
    if prefix:
        return f"{key} STARTS_WITH {quote(prefix, where)}"
    return f"{key} IS NOT NULL"


async def recent_instances(client: Client, workflow: str, limit: int = 20) -> list[InstanceSummary]:
    """The workflow's instances, newest first (by their earliest start seen), at most ``limit``."""
    query = _match_query(search.WORKFLOW_NAME.name, workflow, "workflow")
    query += f" AND {search.INSTANCE_ID.name} IS NOT NULL"
    found: dict[str, InstanceSummary] = {}
    async for execution in client.list_workflows(query, limit=SCAN_LIMIT):
        attrs = execution.typed_search_attributes
        instance_id = attrs.get(search.INSTANCE_ID)
        if attrs.get(search.WORKFLOW_NAME) != workflow or not instance_id:
            continue
        known = found.get(instance_id)
        if known is None or (known.started and execution.start_time < known.started):
            found[instance_id] = InstanceSummary(
                instance_id=instance_id, workflow=workflow, started=execution.start_time
            )
    newest = sorted(
        found.values(), key=lambda s: s.started.timestamp() if s.started else 0.0, reverse=True
    )
    return newest[: max(1, min(limit, MAX_LIMIT))]


async def enrollment_workflows(
    client: Client, enrollment_id: str, limit: int = 100
) -> list[EnrollmentWorkflow]:
    """The enrollment's workflows, running ones first, then by close time, newest first."""
    query = _match_query(search.ENROLLMENT_ID.name, enrollment_id, "enrollment_id")
    query += f" AND {NOT_CONTINUED}"
    limit = max(1, min(limit, MAX_LIMIT))
    found: list[EnrollmentWorkflow] = []
    async for execution in client.list_workflows(query, limit=SCAN_LIMIT):
        attrs = execution.typed_search_attributes
        if attrs.get(search.ENROLLMENT_ID) != enrollment_id:
            continue
        found.append(
            EnrollmentWorkflow(
                workflow_id=execution.id,
                workflow=attrs.get(search.WORKFLOW_NAME) or execution.workflow_type,
                instance_id=attrs.get(search.INSTANCE_ID),
                state=state_name(execution),
                step=attrs.get(search.STEP) or None,
                started=execution.start_time,
                closed=execution.close_time
                if execution.status != WorkflowExecutionStatus.RUNNING
                else None,
            )
        )
        if len(found) >= limit:
            break
    return found
