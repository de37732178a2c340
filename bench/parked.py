"""(d) Memory per parked device: workflows waiting for a device that never answers.

Each side gets a fresh server and its worker in a separate process, so the worker's RSS is
the worker's alone (in the throughput scenarios the bench process also holds the bridge, the
simulator and the drivers). A few warm-up workflows park first (imports, the sandbox, pools);
then, between a reading once everything is quiet and another once all N are parked and quiet
again, the growth of the server's RSS, the worker's RSS and Temporal's SQLite file (with its
WAL) is divided by N.

mdmflow: devinfolog on devices that are not enrolled, so the enqueue is taken, the push
fails, and the step waits. Bare: a one-round ``StepRounds`` whose step ran and whose signal
never comes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.deploy import Deployment, bare_processes, mdmflow_parking
from bench.mdmflow_path import DEVINFOLOG
from bench.measure import ParkedResult, now
from bench.procs import rss_bytes, settle, time_limit, wait_until
from bench.timed_simulator import TimedSimulator
from mdmflow.starter.start import start_workflows

WARMUP = 10


async def bare_parked(run_dir: Path, count: int) -> ParkedResult:
    async with bare_processes(run_dir) as (deployment, baseline):
        await baseline.park(WARMUP)
        return await _measured("bare", deployment, count, lambda: baseline.park(count))


async def mdmflow_parked(run_dir: Path, count: int, database_url: str) -> ParkedResult:
    async with mdmflow_parking(run_dir, WARMUP + count, database_url) as (deployment, sim):
        ids = sim.enrollment_ids()
        await _park_devinfolog(deployment, sim, ids[:WARMUP])
        return await _measured(
            "mdmflow", deployment, count, lambda: _park_devinfolog(deployment, sim, ids[WARMUP:])
        )


async def _park_devinfolog(deployment: Deployment, sim: TimedSimulator, ids: list[str]) -> float:
    """Start devinfolog on ``ids``; the seconds until each one's push reached the simulator."""
    target = sim.push_requests + len(ids)
    begin = now()
    await start_workflows(deployment.client, deployment.task_queue, DEVINFOLOG, ids)

    async def pushed() -> bool:
        return sim.push_requests >= target

    await wait_until(
        f"waiting for {len(ids)} devinfolog runs to park",
        pushed,
        time_limit(len(ids)),
        interval=0.2,
        child=deployment.children["worker"],
    )
    return now() - begin


async def _measured(
    name: str, deployment: Deployment, count: int, park: Callable[[], Awaitable[float]]
) -> ParkedResult:
    server, worker = deployment.server, deployment.children["worker"]
    pids = [server.pid, worker.pid]
    await settle(pids)
    server_before, worker_before = rss_bytes(server.pid), rss_bytes(worker.pid)
    db_before = server.db_bytes()
    seconds = await park()
    settled = await settle(pids)
    return ParkedResult(
        name=name,
        workflows=count,
        park_seconds=seconds,
        server_rss_delta=rss_bytes(server.pid) - server_before,
        worker_rss_delta=rss_bytes(worker.pid) - worker_before,
        db_delta=server.db_bytes() - db_before,
        settled=settled,
    )
