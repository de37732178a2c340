"""The enqueue runs as a local activity, inside the workflow task that minted its command
UUIDs. A worker killed after the MDM server took the command loses that task, and the
device's answer can reach the workflow before the next worker has minted the same UUIDs again
(the signal lands in the same activation as the replayed start, and is handled first). That
report must be kept for the step, not ignored: ignored, the step would wait for a re-ask or
its timeout although the device had answered.

A real ``mdmflow worker`` process enqueues through a proxy that hands the request to the
simulated MDM server and never answers, so its workflow task stays open while the device
answers; the process is then killed (``SIGKILL``) and an in-process worker takes over."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from mdmflow.activities.models import EngineSettings
from mdmflow.simulator.queue import decode_command
from mdmflow.simulator.simulator import Simulator
from mdmflow.worker import build_worker, worker_activities
from mdmflow.workflows.devinfolog import DevInfoLogWorkflow
from mdmflow.workflows.models import WorkflowStart
from tests.support.history import events
from tests.support.intake import backlog, until
from tests.support.stack import MDM_KEY, Stack, running_stack
from tests.support.worker_process import worker_env, worker_process

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
PATIENCE_S = 60.0
"""A safety net only: each wait ends as soon as what it waits for is there."""
TASK_TIMEOUT = timedelta(seconds=10)
"""Temporal's longest: the SDK keeps a workflow task open for a long local activity by
completing it at 80 % of this, and the kill must come before that (it comes in about a
second)."""
NO_REPUSH_S = 3600
"""Longer than the test: a re-push or re-ask cannot be what completes the step."""


@contextlib.asynccontextmanager
async def holding_proxy(upstream: str) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """An HTTP endpoint that forwards each request to ``upstream`` and never answers: the
    MDM server takes the command (and pushes), the caller waits for good. Yields its URL and
    an event set once a request has been forwarded."""
    released, forwarded = asyncio.Event(), asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _ = head[0].split(" ", 2)
        headers = {
            k.lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:] if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        kept = {k: v for k, v in headers.items() if k in ("authorization", "content-type")}
        async with httpx.AsyncClient() as http:
            reply = await http.request(method, upstream + target, content=body, headers=kept)
        assert reply.is_success, reply.text
        forwarded.set()
        await released.wait()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", forwarded
    finally:
        released.set()
        server.close()


async def intake_drained(stack: Stack) -> bool:
    return bool((await backlog(stack))["pending"] == 0)


def enqueued(sim: Simulator) -> list[str]:
    """The command UUIDs the simulated MDM server was asked to enqueue, with repeats."""
    return [
        decode_command(r.body).uuid
        for r in list(sim.requests)
        if r.method == "PUT" and r.path.startswith("/v1/enqueue/")
    ]


async def test_a_report_ahead_of_its_replayed_step_completes_it(
    temporal_env: WorkflowEnvironment, client: Client, tmp_path: Path
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    async with running_stack(client, db_url, devices=1) as stack:
        eid = stack.sim.enrollment_ids()[0]
        sim_base = stack.settings.enqueue_url.removesuffix("/v1/enqueue/")
        async with holding_proxy(sim_base) as (proxy, forwarded):
            env = worker_env(temporal_env, tmp_path, "")
            env.update(
                MDMFLOW_DATABASE_URL=db_url,
                MDMFLOW_ENQUEUE_URL=f"{proxy}/v1/enqueue/",
                MDMFLOW_ENQUEUE_API_KEY=MDM_KEY,
                MDMFLOW_TASK_QUEUE=f"test-{uuid.uuid4()}",
            )
            del env["MDMFLOW_WORKER_METRICS_LISTEN"]
            async with worker_process(env) as dying:
                handle = await client.start_workflow(
                    DevInfoLogWorkflow.run,
                    WorkflowStart(
                        enrollment_id=eid,
                        engine=EngineSettings.for_new_start(repush_interval_s=NO_REPUSH_S),
                    ),
                    id=f"{DEVINFOLOG}/{eid}",
                    task_queue=env["MDMFLOW_TASK_QUEUE"],
                    task_timeout=TASK_TIMEOUT,
                )
                # The device answers while the enqueue's workflow task is open, and the bridge
                # delivers its report (Temporal holds the signal until that task ends).
                async with asyncio.timeout(PATIENCE_S):
                    await forwarded.wait()
                    await stack.sim.wait_until_quiet()
                await until(lambda: intake_drained(stack))
                dying.send_signal(signal.SIGKILL)
                await dying.wait()
            sent_before_takeover = enqueued(stack.sim)

        takeover_settings = stack.settings.model_copy(
            update={"task_queue": env["MDMFLOW_TASK_QUEUE"]}
        )
        async with worker_activities(takeover_settings, stack.db) as acts:
            takeover = build_worker(client, takeover_settings, acts)
            async with takeover, asyncio.timeout(PATIENCE_S):
                result = await handle.result()
        serial = stack.sim.device(eid).serial_number
        sent = enqueued(stack.sim)

    assert result.values["SerialNumber"] == serial
    history = await events(handle)
    first_completed = next(
        e for e in history if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )
    signalled = next(
        e for e in history if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    )
    # the killed worker completed no workflow task: the report came before any completed one
    assert signalled.event_id < first_completed.event_id
    # the takeover re-sent the same command and asked nothing again
    [command_uuid] = sent_before_takeover
    assert set(sent) == {command_uuid}
