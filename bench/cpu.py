"""CPU seconds per round by process: server, worker, bridge, simulator, and the driver.

Worker, bridge and simulator share one process in the throughput scenarios, so there their
CPU cannot be told apart. Here each side runs as separate processes (``deploy``) on its own
fresh server, does a few warm-up rounds, goes quiet, and then the same fixed number of
start → step → complete rounds as (b); each process's user + system time from
``/proc/<pid>/stat`` before and after (trailing reports included: the reading waits until
everything is quiet again) divided by the rounds. The simulator's share is the simulated
devices' own cost, which a real fleet pays on its own hardware.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.deploy import Deployment, bare_processes, mdmflow_processes
from bench.mdmflow_path import MDMFlowPath
from bench.measure import CpuResult, RoundsResult, now
from bench.procs import cpu_seconds, settle

DRIVER = "driver"
ROLES = ("server", "worker", "bridge", "simulator", DRIVER)
OURS = ("server", "worker", "bridge")
"""What an operator runs: the part of a round that mdmflow (or bare Temporal) costs."""
WARMUP_DEVICES = 4


async def bare_cpu(run_dir: Path, devices: int, rounds: int) -> CpuResult:
    async with bare_processes(run_dir) as (deployment, baseline):
        await baseline.restarted(WARMUP_DEVICES, 1)
        return await _accounted("bare", deployment, lambda: baseline.restarted(devices, rounds))


async def mdmflow_cpu(run_dir: Path, devices: int, rounds: int, database_url: str) -> CpuResult:
    async with mdmflow_processes(run_dir, devices, database_url) as (deployment, ids):
        path = MDMFlowPath(deployment.client, deployment.task_queue, ids, _nothing)
        await path.device_rounds(WARMUP_DEVICES, 2)
        return await _accounted("mdmflow", deployment, lambda: path.device_rounds(devices, rounds))


async def _accounted(
    name: str, deployment: Deployment, rounds: Callable[[], Awaitable[RoundsResult]]
) -> CpuResult:
    pids = {**deployment.pids(), DRIVER: os.getpid()}
    children = [pid for role, pid in pids.items() if role != DRIVER]
    await settle(children)
    before = {role: cpu_seconds(pid) for role, pid in pids.items()}
    begin = now()
    done = await rounds()
    seconds = now() - begin
    settled = await settle(children)
    spent = {role: cpu_seconds(pid) - before[role] for role, pid in pids.items()}
    return CpuResult(
        name=name,
        rounds=done.rounds,
        seconds=seconds,
        cpu=spent,
        failures=done.failures,
        settled=settled,
    )


async def _nothing() -> None:
    """Nothing to wait for in this process: the reading after the rounds waits for quiet."""
