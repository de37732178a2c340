"""(a) and (b) as each side is deployed: every part its own process, a fresh server per side.

This is what an operator runs and what the targets are judged on. Bare Temporal: the server,
``bench.bare_worker`` and this process as the driver (its starts, results and signals, the
device's part). mdmflow: the server, the worker (``bench.mdmflow_worker``), ``mdmflow
bridge`` and ``mdmflow simulate`` (the devices' part), and this process starting workflows
and waiting for them. Each side does the same warm-up, then (a) at each device count, then
(b), on its own fresh server, so both meet a database of the same history.

Every scenario is also CPU accounting: each process's user + system time from
``/proc/<pid>/stat`` before and after its rounds (trailing reports included: the reading waits
until every process is quiet again), divided by the rounds. The simulator's share is the
simulated devices' own cost, which a real fleet pays on its own hardware.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.config import BenchConfig
from bench.deploy import Deployment, bare_processes, mdmflow_processes
from bench.mdmflow_path import MDMFlowPath
from bench.measure import CpuResult, RoundsResult
from bench.procs import cpu_seconds, settle

DRIVER = "driver"
ROLES = ("server", "worker", "bridge", "simulator", DRIVER)
OURS = ("server", "worker", "bridge")
"""What an operator runs: the part of a round that mdmflow (or bare Temporal) costs."""
WARMUP_DEVICES = 4


@dataclass(frozen=True)
class DeployedRun:
    """One side's figures: (a) at each device count, (b), and the CPU of each by process."""

    steps: list[RoundsResult]
    restart: RoundsResult
    cpu: list[CpuResult]


async def bare_deployed(run_dir: Path, config: BenchConfig) -> DeployedRun:
    async with bare_processes(run_dir) as (deployment, baseline):
        return await _rounds("bare", deployment, config, baseline.k_steps, baseline.restarted)


async def mdmflow_deployed(run_dir: Path, config: BenchConfig) -> DeployedRun:
    devices = max(*config.step_devices, config.devices)
    async with mdmflow_processes(run_dir, devices, config.database_url) as (deployment, ids):

        async def quiet() -> None:
            await settle(list(deployment.pids().values()))

        path = MDMFlowPath(deployment.client, deployment.task_queue, ids, quiet)
        return await _rounds("mdmflow", deployment, config, path.k_steps, path.device_rounds)


Rounds = Callable[[int, int], Awaitable[RoundsResult]]
"""(devices, steps or runs each) → the scenario's figures."""


async def _rounds(
    name: str, deployment: Deployment, config: BenchConfig, k_steps: Rounds, restarts: Rounds
) -> DeployedRun:
    """A warm-up (imports, caches, connection pools), then (a) at each device count and (b)."""
    await restarts(WARMUP_DEVICES, 2)
    await k_steps(WARMUP_DEVICES, 2)
    steps, cpu = [], []
    for devices in config.step_devices:

        async def k_rounds(n: int = devices) -> RoundsResult:
            return await k_steps(n, config.steps)

        done, spent = await _accounted(name, f"(a) @{devices}", deployment, k_rounds)
        steps.append(done)
        cpu.append(spent)

    async def b_rounds() -> RoundsResult:
        return await restarts(config.devices, config.rounds)

    restart, spent = await _accounted(name, "(b)", deployment, b_rounds)
    return DeployedRun(steps=steps, restart=restart, cpu=[*cpu, spent])


async def _accounted(
    name: str,
    scenario: str,
    deployment: Deployment,
    rounds: Callable[[], Awaitable[RoundsResult]],
) -> tuple[RoundsResult, CpuResult]:
    pids = {**deployment.pids(), DRIVER: os.getpid()}
    children = [pid for role, pid in pids.items() if role != DRIVER]
    await settle(children)
    before = {role: cpu_seconds(pid) for role, pid in pids.items()}
    done = await rounds()
    settled = await settle(children)
    spent = {role: cpu_seconds(pid) - before[role] for role, pid in pids.items()}
    cpu = CpuResult(
        name=name,
        scenario=scenario,
        rounds=done.rounds,
        seconds=done.seconds,
        cpu=spent,
        failures=done.failures,
        settled=settled,
    )
    return done, cpu
