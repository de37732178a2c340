"""One bench run: every scenario in turn, bare Temporal and mdmflow side by side in each.

First the in-process part: one dev server, the bare worker and mdmflow's stack (worker,
bridge, simulator) up for its whole duration, so both sides always share the machine with the
same idle pollers; (e) runs first, while nothing else has happened yet, then (a) and (b) with
every part in this one process (``shared``: for reference, and the durable intake's cost), then
(c). Then, with those stopped, the per-process part, each side on a fresh server with its
parts as separate processes as they are deployed: (a) and (b) with the CPU each process spent
(``deployed``; several pairs of the two sides, alternating), and parked memory (d).
Progress goes to stderr; stdout stays the report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bench.baseline import Baseline, running_baseline
from bench.config import BenchConfig
from bench.corelog import (
    DEFERRED_WEBHOOK,
    LOST_TASK,
    REDONE_ACTIVITY,
    SLOW_TASK,
    CoreWarnings,
    install_core_warnings,
)
from bench.deployed import DeployedRun, bare_deployed, mdmflow_deployed
from bench.fan_out import fan_out_fleet
from bench.latency import mdmflow_latency
from bench.mdmflow_path import MDMFlowPath
from bench.measure import (
    BARE_AFTER,
    BARE_BETWEEN,
    CoreLoad,
    CpuResult,
    FleetResult,
    LatencyResult,
    ParkedResult,
    RoundsResult,
)
from bench.no_intake import UnrecordedIntakeStore
from bench.parked import bare_parked, mdmflow_parked
from bench.server import dev_server
from bench.stack import bench_settings, running_mdmflow

WARMUP_WORKFLOWS = 4
INTAKE_PAIRS = 2
R = TypeVar("R", RoundsResult, FleetResult)


@dataclass
class BenchResults:
    config: BenchConfig
    database: str
    steps: list[RoundsResult] = field(default_factory=list)
    """(a) as deployed: ``bare`` and ``mdmflow`` at each device count, in each pair."""
    restart: list[RoundsResult] = field(default_factory=list)
    """(b) as deployed: ``bare-restart`` and ``mdmflow``, in each pair."""
    shared_steps: list[RoundsResult] = field(default_factory=list)
    """(a) with every part in one process, as ``steps``."""
    shared_restart: list[RoundsResult] = field(default_factory=list)
    """(b) in one process: ``bare-restart``, ``mdmflow`` and ``mdmflow-no-intake``."""
    fleets: list[FleetResult] = field(default_factory=list)
    parked: list[ParkedResult] = field(default_factory=list)
    latency: list[LatencyResult] = field(default_factory=list)
    cpu: list[CpuResult] = field(default_factory=list)
    """CPU by process during (a) and (b) as deployed, each side, summed over the pairs."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time each scenario took, both sides."""
    failed: dict[str, str] = field(default_factory=dict)
    """Scenarios that raised, with the reason; the others still report."""


class _Progress:
    """One line per scenario on stderr, so a long run shows it is alive; and a scenario that
    fails is recorded (its traceback on stderr) instead of losing every figure of the run."""

    def __init__(self, results: BenchResults) -> None:
        self._results = results
        self._begin = time.monotonic()

    @contextlib.contextmanager
    def scenario(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        print(f"[{started - self._begin:6.0f} s] {name} ...", file=sys.stderr, flush=True)
        with self.guard(name):
            yield
        self._results.seconds[name] = time.monotonic() - started

    @contextlib.contextmanager
    def guard(self, name: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            self._results.failed[name] = f"{type(exc).__name__}: {exc}".splitlines()[0]


async def run_bench(config: BenchConfig) -> BenchResults:
    warnings = install_core_warnings()
    with tempfile.TemporaryDirectory(prefix="mdmflow-bench-") as tmp:
        run_dir = Path(tmp)
        database_url = config.database_url or f"sqlite+aiosqlite:///{run_dir / 'mdmflow.db'}"
        results = BenchResults(config, database_url.partition(":")[0])
        progress = _Progress(results)
        if config.in_process:
            with progress.guard("in-process stack"):
                await _in_process(config, results, progress, warnings, run_dir, database_url)
        if config.deployed:
            await _deployed_pairs(config, results, progress, run_dir)
        if config.runs("d"):
            with progress.scenario(f"(d) {config.parked} parked: bare"):
                results.parked.append(await bare_parked(run_dir / "parked-bare", config.parked))
            with progress.scenario(f"(d) {config.parked} parked: mdmflow"):
                results.parked.append(
                    await mdmflow_parked(
                        run_dir / "parked-mdmflow", config.parked, config.database_url
                    )
                )
        return results


async def _deployed_pairs(
    config: BenchConfig, results: BenchResults, progress: _Progress, run_dir: Path
) -> None:
    """(a) and (b) as deployed, ``config.pairs`` times per side, each time on fresh servers;
    bare goes first in even pairs and mdmflow in odd ones, so a machine that drifts over the
    run does not favour one side."""
    sides = {"bare": bare_deployed, "mdmflow": mdmflow_deployed}
    for pair in range(config.pairs):
        order = sorted(sides, reverse=pair % 2 == 1)
        for side in order:
            label = f"(a), (b) as deployed, pair {pair + 1} of {config.pairs}: {side}"
            with progress.scenario(label):
                run = await sides[side](run_dir / f"deployed-{side}-{pair}", config)
                _add(results, run, pair)


def _add(results: BenchResults, run: DeployedRun, pair: int) -> None:
    results.steps += [dataclasses.replace(r, pair=pair) for r in run.steps]
    results.restart.append(dataclasses.replace(run.restart, pair=pair))
    summed = {(c.name, c.scenario): c for c in results.cpu}
    for spent in run.cpu:
        key = (spent.name, spent.scenario)
        summed[key] = summed[key].merged(spent) if key in summed else spent
    results.cpu = list(summed.values())


async def _in_process(
    config: BenchConfig,
    results: BenchResults,
    progress: _Progress,
    warnings: CoreWarnings,
    run_dir: Path,
    database_url: str,
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(dev_server(run_dir / "temporal"))
        baseline = await stack.enter_async_context(running_baseline(server.client))
        settings = bench_settings(server.address, run_dir, database_url)
        mdm = await stack.enter_async_context(
            running_mdmflow(settings, devices=config.simulated_devices)
        )
        path = MDMFlowPath.of(mdm)
        with progress.scenario("warm-up"):
            await _warm_up(baseline, path)
        if config.runs("e"):
            runs, steps = config.latency_runs, config.latency_steps
            with progress.scenario("(e) latency at N=1"):
                results.latency.append(await baseline.latency(runs, steps))
                results.latency.append(await mdmflow_latency(mdm, runs, steps))
        if config.runs("shared"):
            for n in config.step_devices:
                k = config.steps
                with progress.scenario(f"(a) in one process, {k} steps in a workflow, {n} devices"):
                    bare = baseline.k_steps(n, config.steps)
                    results.shared_steps.append(await _counted(warnings, bare))
                    ours = path.k_steps(n, config.steps)
                    results.shared_steps.append(await _counted(warnings, ours))
            with progress.scenario("(b) in one process, start -> step -> complete"):
                no_intake_stack = running_mdmflow(
                    bench_settings(server.address, run_dir, database_url),
                    devices=config.devices,
                    intake_store=UnrecordedIntakeStore,
                    seed=1,  # devices of its own: no report of one stack reaches the other
                )
                no_intake = MDMFlowPath.of(
                    await stack.enter_async_context(no_intake_stack), "mdmflow-no-intake"
                )
                await _restarts(config, results, warnings, baseline, path, no_intake)
        if config.runs("c"):
            with progress.scenario(f"(c) fleet start of {config.fleet}"):
                # Bare before, between and after mdmflow's two: the dev server slows as its
                # SQLite file grows (2,000 starts, one side after another: 202, 166, 95, 125
                # starts/s), so each of ours is divided by the mean of the bare runs around it.
                results.fleets.append(await _counted(warnings, baseline.fleet(config.fleet)))
                results.fleets.append(await _counted(warnings, path.fleet(config.fleet)))
                between = await _counted(warnings, baseline.fleet(config.fleet))
                results.fleets.append(dataclasses.replace(between, name=BARE_BETWEEN))
                # Fresh IDs, as bare's are: starting a workflow ID that has closed runs costs
                # the server more (2,000 starts measured here: 10.3 s fresh, 17.3 s again).
                ids = mdm.sim.enrollment_ids()[config.fleet : 2 * config.fleet]
                results.fleets.append(await _counted(warnings, fan_out_fleet(mdm, ids)))
                after = await _counted(warnings, baseline.fleet(config.fleet))
                results.fleets.append(dataclasses.replace(after, name=BARE_AFTER))


async def _restarts(
    config: BenchConfig,
    results: BenchResults,
    warnings: CoreWarnings,
    baseline: Baseline,
    path: MDMFlowPath,
    no_intake: MDMFlowPath,
) -> None:
    """(b), and mdmflow with and without its durable intake (issue 8), interleaved so both
    halves of that comparison share the machine's moods."""
    await no_intake.device_rounds(WARMUP_WORKFLOWS, 2)
    n, r = config.devices, config.rounds
    results.shared_restart.append(await _counted(warnings, baseline.restarted(n, r)))
    with_intake, without = [], []
    for _ in range(INTAKE_PAIRS):
        with_intake.append(await _counted(warnings, path.device_rounds(n, r)))
        without.append(await _counted(warnings, no_intake.device_rounds(n, r)))
    results.shared_restart.append(functools.reduce(RoundsResult.merged, with_intake))
    results.shared_restart.append(functools.reduce(RoundsResult.merged, without))


async def _counted(warnings: CoreWarnings, scenario: Awaitable[R]) -> R:
    """Run one scenario and charge it the worker-overload warnings logged meanwhile."""
    before = warnings.snapshot()
    result = await scenario
    during = warnings.snapshot() - before
    result.core = CoreLoad(
        slow_tasks=during[SLOW_TASK],
        lost_tasks=during[LOST_TASK],
        deferred_webhooks=during[DEFERRED_WEBHOOK],
        redone_activities=during[REDONE_ACTIVITY],
    )
    return result


async def _warm_up(baseline: Baseline, path: MDMFlowPath) -> None:
    """First runs pay imports, sandbox set-up and connection pools; keep that out of the
    numbers."""
    await baseline.restarted(WARMUP_WORKFLOWS, 1)
    await baseline.k_steps(WARMUP_WORKFLOWS, 2)
    await path.device_rounds(WARMUP_WORKFLOWS, 2)
    await path.k_steps(WARMUP_WORKFLOWS, 2)
