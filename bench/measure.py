"""What one scenario measured, and the arithmetic on it (rates, percentiles, peak RSS).

Only numbers live here; the scenarios fill them in and ``report`` prints them, so the two
drivers (bare Temporal and mdmflow) are timed with exactly the same yardstick.
"""

from __future__ import annotations

import math
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


def now() -> float:
    """One monotonic clock for every mark, so marks from different tasks compare."""
    return time.perf_counter()


def wall() -> float:
    """Wall-clock seconds, for marks compared with the server's close times (same machine)."""
    return time.time()


def peak_rss_mb() -> float:
    """Peak RSS of this process so far (it only grows: later scenarios include earlier ones)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; 0 when nothing was measured."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class CoreLoad:
    """Workflow tasks the worker was too busy for during the scenario (see ``corelog``)."""

    slow_tasks: int = 0
    lost_tasks: int = 0
    deferred_webhooks: int = 0
    """Webhooks the in-process bridge could not deliver inline within 5 s (left to its relay)."""
    redone_activities: int = 0
    """Activity attempts failed or timed out (under overload: missed heartbeats) and redone."""


@dataclass
class RoundsResult:
    """Step rounds done by many workflows at once: throughput and per-round latency."""

    name: str
    rounds: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    peak_rss_mb: float = 0.0
    core: CoreLoad = field(default_factory=CoreLoad)
    devices: int = 0
    """Workflows (devices) running at once."""
    events_per_workflow: float = 0.0
    """Mean history length of the runs, where the scenario lists them (0: not measured)."""
    pair: int = 0
    """Which of the deployed pairs (bare and mdmflow, alternating) it belongs to."""

    @property
    def rounds_per_s(self) -> float:
        return self.rounds / self.seconds if self.seconds > 0 else 0.0

    def merged(self, other: RoundsResult) -> RoundsResult:
        """Two runs of the same scenario as one (interleaved runs share the machine's noise)."""
        return RoundsResult(
            name=self.name,
            devices=self.devices,
            pair=self.pair,
            rounds=self.rounds + other.rounds,
            seconds=self.seconds + other.seconds,
            latencies=self.latencies + other.latencies,
            failures=self.failures + other.failures,
            peak_rss_mb=max(self.peak_rss_mb, other.peak_rss_mb),
            core=CoreLoad(
                slow_tasks=self.core.slow_tasks + other.core.slow_tasks,
                lost_tasks=self.core.lost_tasks + other.core.lost_tasks,
                deferred_webhooks=self.core.deferred_webhooks + other.core.deferred_webhooks,
                redone_activities=self.core.redone_activities + other.core.redone_activities,
            ),
        )

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.latencies, 95) * 1000


FAN_OUT = "fan-out"
"""(c)'s fleet start through the bridge (``bench.fan_out``)."""
BARE_BETWEEN = "bare between"
"""(c)'s second bare fleet, between mdmflow's synchronous start and its fan-out."""
BARE_AFTER = "bare after"
"""(c)'s third bare fleet, after the fan-out."""
BRACKETS = {"mdmflow": ("bare", BARE_BETWEEN), FAN_OUT: (BARE_BETWEEN, BARE_AFTER)}
"""The bare runs just before and just after each of mdmflow's fleets."""


@dataclass
class FleetResult:
    """One fan-out: how fast the starts went in, and how long until every run completed."""

    name: str
    workflows: int
    start_seconds: float
    complete_seconds: float
    failures: int = 0
    peak_rss_mb: float = 0.0
    core: CoreLoad = field(default_factory=CoreLoad)
    events_per_workflow: float = 0.0

    @property
    def starts_per_s(self) -> float:
        return self.workflows / self.start_seconds if self.start_seconds > 0 else 0.0


def bare_fleet_mean(fleets: Sequence[FleetResult], attr: str, around: str) -> float | None:
    """Bare's figure for mdmflow's fleet ``around``: the mean of the bare runs just before and
    just after it. The dev server slows as its SQLite file grows (bare's rate fell by a tenth
    from the first of its runs to the last), so each of mdmflow's runs is held against bare
    runs on a file of the same size, not one run early in the scenario and one late."""
    values = [float(getattr(f, attr)) for f in fleets if f.name in BRACKETS[around]]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class StatusRead:
    """One ``GET /v1/instances/{id}`` of the fan-out's instance, and visibility's own count."""

    when: str
    """``running`` (just after the fan-out started the last device) or ``all done``."""
    seconds: float
    """From the request to its answer."""
    total: int
    """The answer's ``total`` (the sum of its counts by state)."""
    counts: dict[str, int]
    visibility: int
    """``client.count_workflows("MdmInstanceId = '…'")``, asked right after the answer."""

    @property
    def matches(self) -> bool:
        return self.total == self.visibility


@dataclass
class FanOutResult(FleetResult):
    """(c) through the bridge: every ID in one POST, answered 202, started by the fan-out
    workflow. ``start_seconds`` is from the POST until the fan-out's result (every device
    started), ``complete_seconds`` until the last device closed."""

    answer_seconds: float = 0.0
    """The POST's answer (202) time."""
    started: int = 0
    already_running: int = 0
    """The fan-out's own progress, from its result."""
    fan_out_runs: int = 0
    """Runs of the fan-out workflow (it continues as new once per page)."""
    status: list[StatusRead] = field(default_factory=list)

    @property
    def status_seconds(self) -> float | None:
        """The slowest status read, the figure held against the 2 s target."""
        return max((s.seconds for s in self.status), default=None)


@dataclass
class LatencyResult:
    """One device's sequential steps: from its answer leaving to the next step's arrival."""

    name: str
    latencies: list[float] = field(default_factory=list)
    failures: int = 0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000


@dataclass
class ParkedResult:
    """Workflows left waiting for a device that never answers, and what they hold.

    Deltas from a reading just before the starts to one after all of them parked and the
    processes went quiet; the worker and the server are separate processes, so each RSS is
    its own.
    """

    name: str
    workflows: int
    park_seconds: float
    server_rss_delta: int
    worker_rss_delta: int
    db_delta: int
    settled: bool = True

    def _per(self, delta: int) -> float:
        return delta / self.workflows / 1024 if self.workflows else 0.0

    @property
    def server_kib(self) -> float:
        return self._per(self.server_rss_delta)

    @property
    def worker_kib(self) -> float:
        return self._per(self.worker_rss_delta)

    @property
    def db_kib(self) -> float:
        return self._per(self.db_delta)


@dataclass
class CpuResult:
    """A fixed number of rounds with every part in its own process: CPU seconds by process."""

    name: str
    scenario: str
    """Which rounds: ``(a) @N`` or ``(b)``."""
    rounds: int
    seconds: float
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds (user + system) spent during the rounds, by process role."""
    failures: int = 0
    settled: bool = True
    pairs: int = 1
    """How many deployed pairs' rounds these are, summed (see :meth:`merged`)."""

    def merged(self, other: CpuResult) -> CpuResult:
        """The same scenario on the same side in another pair, summed: CPU per round over all."""
        return CpuResult(
            name=self.name,
            scenario=self.scenario,
            rounds=self.rounds + other.rounds,
            seconds=self.seconds + other.seconds,
            cpu={role: s + other.cpu.get(role, 0.0) for role, s in self.cpu.items()},
            failures=self.failures + other.failures,
            settled=self.settled and other.settled,
            pairs=self.pairs + other.pairs,
        )

    @property
    def rounds_per_s(self) -> float:
        return self.rounds / self.seconds if self.seconds > 0 else 0.0

    def ms_per_round(self, role: str) -> float | None:
        if role not in self.cpu or not self.rounds:
            return None
        return self.cpu[role] / self.rounds * 1000

    def total_ms_per_round(self, roles: tuple[str, ...]) -> float:
        return sum(self.ms_per_round(r) or 0.0 for r in roles)
