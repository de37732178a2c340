"""``mdmflow worker`` serves the Temporal SDK's metrics when MDMFLOW_WORKER_METRICS_LISTEN is
set: a real worker process, scraped over HTTP while it runs a workflow whose MDM server is
unreachable, shows the task latencies and activity failures the dashboard plots. A metrics
port that cannot be had stops the worker in one line."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from mdmflow.activities.models import EngineSettings
from mdmflow.workflows.models import WorkflowStart
from tests.deploy.files import dashboard_metrics
from tests.support.metrics import Scrape, parse
from tests.support.processes import MDMFLOW, free_port
from tests.support.worker_process import worker_env, worker_process

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
PATIENCE_S = 60.0
"""A safety net only: the scrape loop ends as soon as the metrics are there."""


async def scrape_until(url: str, wanted: set[str], proc: asyncio.subprocess.Process) -> Scrape:
    """Scrape until every ``wanted`` metric name is present; the worker exiting ends it."""
    last = Scrape({})
    async with httpx.AsyncClient(timeout=5) as http:
        try:
            async with asyncio.timeout(PATIENCE_S):
                while proc.returncode is None:
                    with contextlib.suppress(httpx.TransportError):  # not listening yet
                        reply = await http.get(url)
                        assert reply.status_code == 200, reply.text
                        last = parse(reply.text)
                        if wanted <= last.names:
                            return last
                    await asyncio.sleep(0.2)
        except TimeoutError:
            pass
    raise AssertionError(
        f"worker exited ({proc.returncode}) or never showed {sorted(wanted - last.names)}; "
        f"it showed {sorted(last.names)[:40]}"
    )


async def test_the_worker_serves_the_sdk_metrics_the_dashboard_plots(
    temporal_env: WorkflowEnvironment, client: Client, tmp_path: Path
) -> None:
    port = free_port()
    env = worker_env(temporal_env, tmp_path, f"127.0.0.1:{port}")
    new_eid, earlier_eid = (str(uuid.uuid4()).upper() for _ in range(2))
    async with worker_process(env) as proc:
        # This version's start enqueues as a local activity; a run started by earlier code
        # (engine settings without local_enqueue) as a regular one. Both kinds are plotted.
        handles = [
            await client.start_workflow(
                DEVINFOLOG,
                WorkflowStart(enrollment_id=eid, engine=engine),
                id=f"{DEVINFOLOG}/{eid}",
                task_queue=env["MDMFLOW_TASK_QUEUE"],
            )
            for eid, engine in [(new_eid, None), (earlier_eid, EngineSettings())]
        ]
        try:
            wanted = dashboard_metrics("temporal_")
            metrics = await scrape_until(f"http://127.0.0.1:{port}/metrics", wanted, proc)
        finally:
            for handle in handles:
                await handle.terminate("test over")
    enqueue = {"activity_type": "mdm_enqueue_step"}
    local_failed = metrics.total("temporal_local_activity_execution_failed_total", **enqueue)
    assert local_failed >= 1, "the unreachable MDM server fails the local enqueue"
    failed = metrics.total("temporal_activity_execution_failed_total", **enqueue)
    assert failed >= 1, "and the regular enqueue of a run started by earlier code"
    queue = env["MDMFLOW_TASK_QUEUE"]
    assert (
        metrics.total("temporal_workflow_task_schedule_to_start_latency_count", task_queue=queue)
        >= 1
    )


async def failed_worker(env: dict[str, str]) -> tuple[int, str]:
    """Run a worker that must stop at start; its exit code and what it printed."""
    proc = await asyncio.create_subprocess_exec(
        MDMFLOW,
        "worker",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    async with asyncio.timeout(PATIENCE_S):
        _, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_a_metrics_port_in_use_or_a_bad_address_stops_the_worker_in_one_line(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        code, err = await failed_worker(worker_env(temporal_env, tmp_path, listen))
    assert code == 2
    [line] = err.splitlines()
    assert line.startswith(f"mdmflow: cannot serve worker metrics on {listen}")
    assert "MDMFLOW_WORKER_METRICS_LISTEN" in line

    code, err = await failed_worker(worker_env(temporal_env, tmp_path, "9464"))
    assert code == 2
    assert err.strip() == (
        "mdmflow: invalid setting MDMFLOW_WORKER_METRICS_LISTEN: must be host:port, got '9464'"
    )
