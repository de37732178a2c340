"""Progress bars for ``mdmflow start``: the fan-out's devices started, then (``--wait``) the
devices ended.

Both read Temporal only: the fan-out's ``progress`` query, and the instance's counts by state
from visibility, the same numbers ``mdmflow status`` prints. They refresh twice a second
(visibility may trail by a moment; the counts only ever grow to the total).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from temporalio.client import Client, WorkflowHandle

from mdmflow.activities.fleet_models import FleetProgress
from mdmflow.bridge.instance_models import STATES, InstanceStatus
from mdmflow.bridge.instance_query import instance_query
from mdmflow.bridge.instances import state_counts
from mdmflow.starter.fleet import FleetStartAccepted
from mdmflow.workflows.fleet_start import FleetStartWorkflow

REFRESH_S = 0.5
QUERY_TIMEOUT = timedelta(seconds=2)


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
    )


async def follow_fan_out(client: Client, accepted: FleetStartAccepted) -> FleetProgress:
    """Show the devices started until the fan-out ends; its final progress (raises
    ``WorkflowFailureError`` if it was cancelled or failed)."""
    handle: WorkflowHandle[FleetStartWorkflow, FleetProgress] = client.get_workflow_handle_for(
        FleetStartWorkflow.run, accepted.fan_out_workflow_id
    )
    ended = asyncio.ensure_future(handle.result())
    with _bar(Console(stderr=True)) as bar:
        task = bar.add_task("started", total=accepted.total, note="")
        while not ended.done():
            try:
                progress = await handle.query(
                    FleetStartWorkflow.progress, rpc_timeout=QUERY_TIMEOUT
                )
            except Exception:  # the worker is busy or restarting: keep the last figures
                pass
            else:
                note = (
                    f"{progress.already_running:,} already running"
                    if progress.already_running
                    else ""
                )
                bar.update(task, completed=progress.handled, note=note)
            await asyncio.wait([ended], timeout=REFRESH_S)
        final = ended.result()
        bar.update(task, completed=final.handled)
    return final


def _note(counts: dict[str, int]) -> str:
    """What ended other than completed, e.g. ``12 failed, 3 cancelled``."""
    parts = [f"{counts[s]:,} {s.replace('_', ' ')}" for s in STATES[2:] if counts.get(s)]
    return ", ".join(parts)


async def follow_devices(client: Client, workflow: str, instance_id: str, started: int) -> bool:
    """Show the devices ended until every one of ``started`` has; True if all completed."""
    query = instance_query(instance_id)
    console = Console(stderr=True)
    with _bar(console) as bar:
        task = bar.add_task("ended", total=started, note="")
        while True:
            counts = await state_counts(client, query)
            seen = sum(counts.values())
            ended = seen - counts["running"]
            bar.update(task, completed=ended, note=_note(counts))
            if seen >= started and counts["running"] == 0:
                break
            await asyncio.sleep(REFRESH_S)
    status = InstanceStatus(
        instance_id=instance_id,
        workflow=workflow,
        started=None,
        total=seen,
        counts=counts,
        devices=[],
    )
    console.print(status.summary())
    return counts["completed"] == seen
