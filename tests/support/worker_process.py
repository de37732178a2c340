"""``mdmflow worker`` as a real process, set up to reach a test's Temporal server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.support.codec import TEST_CODEC_KEY
from tests.support.processes import MDMFLOW, free_port


def worker_env(temporal_env: WorkflowEnvironment, tmp_path: Path, listen: str) -> dict[str, str]:
    unreachable = f"http://127.0.0.1:{free_port()}"  # nothing listens: every enqueue fails
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MDMFLOW_", "TEMPORAL_"))}
    env.update(
        TEMPORAL_ADDRESS=temporal_env.client.service_client.config.target_host,
        MDMFLOW_TASK_QUEUE=f"test-{uuid.uuid4()}",
        MDMFLOW_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/app.db",
        MDMFLOW_CODEC_KEY=TEST_CODEC_KEY,
        MDMFLOW_ENQUEUE_URL=f"{unreachable}/v1/enqueue/",
        MDMFLOW_PUSH_URL=f"{unreachable}/v1/push/",
        MDMFLOW_ENQUEUE_API_KEY="unused",
        MDMFLOW_WORKER_METRICS_LISTEN=listen,
    )
    return env


@contextlib.asynccontextmanager
async def worker_process(env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        MDMFLOW,
        "worker",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
