"""Start ``bench.steps`` on many devices the way mdmflow starts its own workflows.

``start_workflows`` only starts workflows of mdmflow's registry, which the bench-only workflow
is not part of, so this builds the inputs as every start does (``new_start``: the engine
settings of a start made now) and starts them through the same ``start_prepared`` (the same
ID, search attributes with the config's first step, summary, conflict policy and
parallelism). Whatever the starter puts on a start the bench workflow gets too; a changed
signature breaks mypy here, not the measurement silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from temporalio.client import Client

from bench.steps_workflow import BenchStepsWorkflow
from mdmflow.starter.start import PreparedStart, new_start, start_prepared


async def start_steps(
    client: Client, task_queue: str, ids: Sequence[str], steps: int
) -> tuple[str, list[str]]:
    """Start K=``steps`` steps on every ID under one instance ID; (instance ID, started IDs)."""
    instance_id = str(uuid.uuid4())
    starts = [new_start(eid, instance_id, context=str(steps)) for eid in ids]
    prepared = PreparedStart(cls=BenchStepsWorkflow, instance_id=instance_id, starts=starts)
    outcome = await start_prepared(client, task_queue, prepared)
    return instance_id, outcome.started
