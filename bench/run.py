"""One bench run: one dev server, both paths warmed up, then every scenario in turn.

The baseline worker and the mdmflow stack (worker, bridge, simulator) are up for the whole
run, so both sides always share the machine with the same idle pollers.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bench.baseline import Baseline, running_baseline
from bench.corelog import LOST_TASK, SLOW_TASK, CoreWarnings, install_core_warnings
from bench.mdmflow_path import MDMFlowPath
from bench.measure import CoreLoad, FleetResult, RoundsResult
from bench.no_intake import UnrecordedIntakeStore
from bench.server import dev_server
from bench.stack import bench_settings, running_mdmflow

WARMUP_WORKFLOWS = 4
INTAKE_PAIRS = 2
R = TypeVar("R", RoundsResult, FleetResult)


@dataclass(frozen=True)
class BenchConfig:
    devices: int
    rounds: int
    fleet: int
    database_url: str = ""
    """The app database (routes); empty: SQLite in the run's temp dir."""


@dataclass
class BenchResults:
    config: BenchConfig
    database: str
    rounds: list[RoundsResult] = field(default_factory=list)
    fleets: list[FleetResult] = field(default_factory=list)


async def run_bench(config: BenchConfig) -> BenchResults:
    warnings = install_core_warnings()
    with tempfile.TemporaryDirectory(prefix="mdmflow-bench-") as tmp:
        data_dir = Path(tmp)
        database_url = config.database_url or f"sqlite+aiosqlite:///{data_dir / 'mdmflow.db'}"
        results = BenchResults(config, database_url.partition(":")[0])
        async with contextlib.AsyncExitStack() as stack:
            bare = await stack.enter_async_context(dev_server(data_dir))
            baseline = await stack.enter_async_context(running_baseline(bare))
            mdm = await stack.enter_async_context(
                running_mdmflow(
                    bench_settings(bare, data_dir, database_url),
                    devices=max(config.devices, config.fleet),
                )
            )
            unrecorded = await stack.enter_async_context(
                running_mdmflow(
                    bench_settings(bare, data_dir, database_url),
                    devices=config.devices,
                    intake_store=UnrecordedIntakeStore,
                )
            )
            path = MDMFlowPath(mdm)
            no_intake = MDMFlowPath(unrecorded, "mdmflow-no-intake")
            await _warm_up(baseline, path)
            await no_intake.device_rounds(WARMUP_WORKFLOWS, 2)
            n, r = config.devices, config.rounds
            results.rounds.append(await _counted(warnings, baseline.step_rounds(n, r)))
            # Interleaved, so both halves of the intake comparison share the machine's moods.
            with_intake, without = [], []
            for _ in range(INTAKE_PAIRS):
                with_intake.append(await _counted(warnings, path.device_rounds(n, r)))
                without.append(await _counted(warnings, no_intake.device_rounds(n, r)))
            results.rounds.append(functools.reduce(RoundsResult.merged, with_intake))
            results.rounds.append(functools.reduce(RoundsResult.merged, without))
            results.rounds.append(await _counted(warnings, baseline.restarted(n, r)))
            results.fleets.append(await _counted(warnings, baseline.fleet(config.fleet)))
            results.fleets.append(await _counted(warnings, path.fleet(config.fleet)))
        return results


async def _counted(warnings: CoreWarnings, scenario: Awaitable[R]) -> R:
    """Run one scenario and charge it the worker-overload warnings logged meanwhile."""
    before = warnings.snapshot()
    result = await scenario
    during = warnings.snapshot() - before
    result.core = CoreLoad(slow_tasks=during[SLOW_TASK], lost_tasks=during[LOST_TASK])
    return result


async def _warm_up(baseline: Baseline, path: MDMFlowPath) -> None:
    """First runs pay imports, sandbox set-up and connection pools; keep that out of the
    numbers."""
    await baseline.step_rounds(WARMUP_WORKFLOWS, 2)
    await baseline.restarted(WARMUP_WORKFLOWS, 1)
    await path.device_rounds(WARMUP_WORKFLOWS, 2)
