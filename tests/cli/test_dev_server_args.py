"""The dev server as mdmflow starts it keeps its search-attribute cache on: workflows that
upsert mdmflow's search attributes make the server read no namespace or cluster metadata from
its database per upsert. The same workflows on a server given only the search attributes (the
``temporal server start-dev`` default) make it read both several times for every upsert, which
is what the argument is for."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from mdmflow.cli.dev import search_attribute_args, temporal_binary
from mdmflow.workflows import search
from tests.support.processes import free_port
from tests.support.visibility import until_counted

RUNS = 10
UPSERTS = 3
TASK_QUEUE = "steps"
BANNER = b"Temporal Server:"
METADATA_READS = re.compile(
    r'^persistence_requests\{[^}]*operation="(?:GetNamespace|GetCurrentClusterMetadata)"'
    r"[^}]*\} (\d+)",
    re.MULTILINE,
)
SIGNALS = re.compile(
    r'^service_requests\{[^}]*operation="SignalWorkflowExecution"[^}]*service_name="history"'
    r"[^}]*\} (\d+)",
    re.MULTILINE,
)


@workflow.defn(name="StepNames")
class StepNames:
    """Shows a step name in ``MdmStep`` at each step, a workflow task per step, as the engine
    does (here a step is a signal)."""

    def __init__(self) -> None:
        self._steps = 0

    @workflow.run
    async def run(self) -> None:
        for number in range(UPSERTS):
            await self._signalled(number + 1)
            workflow.upsert_search_attributes([search.STEP.value_set(f"step-{number}")])

    async def _signalled(self, steps: int) -> None:
        await workflow.wait_condition(lambda: self._steps >= steps)

    @workflow.signal
    def step(self) -> None:
        self._steps += 1


@contextlib.asynccontextmanager
async def dev_server(data_dir: Path, extra: list[str]) -> AsyncIterator[tuple[Client, str]]:
    """A dev server with ``extra`` arguments, up once it printed its banner, and the URL of its
    metrics; stopped on exit."""
    port, metrics = free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        temporal_binary(),
        *["server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless"],
        *["--metrics-port", str(metrics), "--db-filename", str(data_dir / "temporal.db")],
        *["--log-level", "error", *extra],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            while BANNER not in (line := await proc.stdout.readline()):
                assert line, "the dev server exited before its banner"
        yield await Client.connect(f"127.0.0.1:{port}"), f"http://127.0.0.1:{metrics}/metrics"
    finally:
        proc.terminate()
        await proc.wait()


async def run_batch(client: Client, count: int) -> None:
    """Run ``count`` workflows to completion and wait until visibility lists them closed, so
    the server's visibility tasks for their upserts are done too."""
    instance = uuid.uuid4().hex
    start = TypedSearchAttributes([SearchAttributePair(search.INSTANCE_ID, instance)])
    for number in range(count):
        handle = await client.start_workflow(
            StepNames.run,
            id=f"{instance}-{number}",
            task_queue=TASK_QUEUE,
            search_attributes=start,
        )
        for _ in range(UPSERTS):
            await handle.signal(StepNames.step)
        await handle.result()
    query = f"{search.INSTANCE_ID.name} = '{instance}' AND ExecutionStatus = 'Completed'"
    await until_counted(client, query, count)


async def metadata_reads_per_upsert(data_dir: Path, extra: list[str]) -> float:
    """Namespace and cluster-metadata reads from the database per upsert, once a first batch
    has warmed whatever the server caches."""
    async with (
        dev_server(data_dir, extra) as (client, metrics_url),
        httpx.AsyncClient() as http,
        Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=[StepNames],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):

        async def reads_once_signalled(signals: int) -> int:
            """Metadata reads as of the metrics that count ``signals`` signals: the server
            publishes its metrics a while after the fact, so they are read until they do
            (bounded)."""
            async with asyncio.timeout(30):
                while True:
                    text = (await http.get(metrics_url)).text
                    if sum(map(int, SIGNALS.findall(text))) >= signals:
                        return sum(map(int, METADATA_READS.findall(text)))
                    await asyncio.sleep(0.1)

        await run_batch(client, 2)
        before = await reads_once_signalled(2 * UPSERTS)
        await run_batch(client, RUNS)
        return (await reads_once_signalled((2 + RUNS) * UPSERTS) - before) / (RUNS * UPSERTS)


async def test_mdmflow_dev_server_reads_search_attributes_from_its_cache(tmp_path: Path) -> None:
    assert await metadata_reads_per_upsert(tmp_path, search_attribute_args()) < 0.2


async def test_the_cli_default_reads_metadata_for_every_upsert(tmp_path: Path) -> None:
    flag = search_attribute_args().index("system.forceSearchAttributesCacheRefreshOnRead=false")
    registered_only = search_attribute_args()
    del registered_only[flag - 1 : flag + 1]
    assert await metadata_reads_per_upsert(tmp_path, registered_only) >= 2
