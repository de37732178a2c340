"""``python -m bench.mdmflow_worker``: ``mdmflow worker`` with the bench's K-step workflow.

The separate-process scenarios run mdmflow as it is deployed, and (a) needs ``bench.steps``
(a bench-only workflow, never registered by mdmflow) on the worker. This is the production
worker, configured from the environment as ``mdmflow worker`` is, with that one workflow
registered beside mdmflow's; nothing else differs, so the rounds it serves cost what
``mdmflow worker``'s do.
"""

from __future__ import annotations

import contextlib
import os
import sys

from bench.steps_workflow import BenchStepsWorkflow
from mdmflow import event_loop
from mdmflow.config import load_settings
from mdmflow.telemetry import setup_logging, setup_tracing
from mdmflow.temporal_client import connect
from mdmflow.worker import run_worker


async def _run() -> None:
    settings = load_settings()
    setup_logging(settings.log_level)
    setup_tracing("mdmflow-worker")
    client = await connect(settings)
    await run_worker(settings, client, extra_workflows=[BenchStepsWorkflow])


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        event_loop.run(_run())
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # sdk-python#300: leave without finalizers


if __name__ == "__main__":
    main()
