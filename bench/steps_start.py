"""Start ``bench.steps`` on many devices the way mdmflow starts its own workflows.

``start_workflows`` only starts workflows of mdmflow's registry, which the bench-only workflow
is not part of, so this calls the same per-ID start it uses (``start_device``: the same ID,
search attributes, summary and conflict policy) with the same parallelism. Whatever the
starter puts on a start (and the engine work may put more there) the bench workflow gets too;
a changed signature breaks mypy here, not the measurement silently.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from temporalio.client import Client

from bench.steps_workflow import BenchStepsWorkflow
from mdmflow.activities.device_start import MAX_PARALLEL_STARTS, start_device
from mdmflow.workflows.models import WorkflowStart


async def start_steps(
    client: Client, task_queue: str, ids: Sequence[str], steps: int
) -> tuple[str, list[str]]:
    """Start K=``steps`` steps on every ID under one instance ID; (instance ID, started IDs)."""
    instance_id = str(uuid.uuid4())
    gate = asyncio.Semaphore(MAX_PARALLEL_STARTS)
    config = BenchStepsWorkflow.config

    async def one(eid: str) -> bool:
        start = WorkflowStart(enrollment_id=eid, instance_id=instance_id, context=str(steps))
        async with gate:
            return await start_device(
                client,
                task_queue,
                start,
                name=config.name,
                exclusive=config.exclusive,
                summary=config.summary,
            )

    results = await asyncio.gather(*(one(eid) for eid in ids))
    return instance_id, [eid for eid, ok in zip(ids, results, strict=True) if ok]
