"""``python -m bench.bare_worker``: the bare baseline's worker as its own process.

For the per-process scenarios (CPU time by process, memory per parked workflow): the same
workflow and worker settings as the in-process baseline, on a plain client (default
converter, no interceptors), with the step activity reporting to the driver over loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.notify_link import LinkedStep
from bench.rounds_activity import BARE_MAX_CACHED
from bench.rounds_workflow import StepRoundsWorkflow


async def _run(address: str, task_queue: str, notify_port: int) -> None:
    client = await Client.connect(address)
    step = await LinkedStep.connect(notify_port)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[StepRoundsWorkflow],
        activities=[step.step],
        max_cached_workflows=BARE_MAX_CACHED,
        workflow_runner=UnsandboxedWorkflowRunner(),  # as mdmflow's worker runs them
    ):
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_worker")
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--notify-port", type=int, required=True)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args.address, args.task_queue, args.notify_port))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # sdk-python#300: leave without finalizers


if __name__ == "__main__":
    main()
