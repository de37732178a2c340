"""Start a recorded scenario's workflow as production does: through ``start_workflows``, so
the history shows what a deployment's would (search attributes and engine settings from the
starter, secrets sealed)."""

from __future__ import annotations

from temporalio.client import WorkflowHandle

from mdmflow.crypto.sealed import SecretBox
from mdmflow.requirements import RequirementChecker
from mdmflow.starter.start import start_workflows
from mdmflow.store.secrets import InventorySecretStore
from mdmflow.workflows.models import WorkflowStart
from mdmflow.workflows.registry import workflow_class
from tests.support.stack import Stack


async def started(stack: Stack, name: str, start: WorkflowStart) -> WorkflowHandle[object, object]:
    """Start ``name`` with ``start``'s enrollment, context, URL params and event."""
    outcome = await start_workflows(
        stack.client,
        stack.task_queue,
        name,
        [start.enrollment_id],
        start.context,
        start.url_params,
        start.event,
        checker=RequirementChecker.of(stack.db),
        sealer=InventorySecretStore(stack.db, SecretBox(stack.settings.keyring())),
        engine=stack.settings.engine,
    )
    workflow_id = workflow_class(name).config.workflow_id(start.enrollment_id, outcome.instance_id)
    return stack.client.get_workflow_handle(workflow_id)
