"""The ratios a run is judged by: each "Done when" target of issue 10 (and issue 11's for
the fleet start through the bridge), and context.

A ratio is mdmflow over bare from the same run; for (a) and (b) as deployed, the median of the
ratios within each pair of the two sides (see ``BenchConfig.pairs``). A scenario that did not
run, or a bare figure that is not positive, gives no value, so it shows as "n/a", never as a
pass.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from bench.deployed import OURS
from bench.measure import FAN_OUT, FanOutResult, RoundsResult, bare_fleet_mean
from bench.run import BenchResults


@dataclass(frozen=True)
class Check:
    """One "Done when" condition: a measured value against its target."""

    label: str
    value: float | None
    """None: the scenario did not run, or a denominator was not positive."""
    op: str
    """``>=``, ``<=``, ``<`` or ``==``."""
    target: float

    @property
    def passed(self) -> bool | None:
        if self.value is None:
            return None
        if self.op == ">=":
            return self.value >= self.target
        if self.op == "<=":
            return self.value <= self.target
        if self.op == "<":
            return self.value < self.target
        return self.value == self.target

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def _find(items: list[Any], name: str, **fields: Any) -> Any | None:
    for item in items:
        if item.name == name and all(getattr(item, k) == v for k, v in fields.items()):
            return item
    return None


def _rate(item: RoundsResult | None) -> float | None:
    return item.rounds_per_s if item is not None else None


def pair_ratios(rows: list[RoundsResult], bare: str, **fields: Any) -> list[float | None]:
    """mdmflow's rounds/s over bare's within each deployed pair, in pair order."""
    pairs = sorted({r.pair for r in rows})
    return [
        _ratio(
            _rate(_find(rows, "mdmflow", pair=pair, **fields)),
            _rate(_find(rows, bare, pair=pair, **fields)),
        )
        for pair in pairs
    ]


def median_or_none(ratios: list[float | None]) -> float | None:
    """The median pair: a pair where a side failed to run makes the whole figure n/a."""
    if not ratios or any(r is None for r in ratios):
        return None
    return statistics.median(r for r in ratios if r is not None)


def _fleet_starts(results: BenchResults, name: str) -> float | None:
    fleet = _find(results.fleets, name)
    return fleet.starts_per_s if fleet is not None else None


def _bare_starts(results: BenchResults, around: str) -> float | None:
    return bare_fleet_mean(results.fleets, "starts_per_s", around)


def _parked(results: BenchResults, name: str, what: str) -> float | None:
    parked = _find(results.parked, name)
    return float(getattr(parked, what)) if parked is not None else None


def _p(results: BenchResults, name: str, what: str) -> float | None:
    latency = _find(results.latency, name)
    return float(getattr(latency, what)) if latency is not None else None


def checks(results: BenchResults) -> list[Check]:
    """Every ratio the issue's "Done when" names, with its target."""
    cfg = results.config
    found = [
        Check(
            f"(a) K-step rounds/s mdmflow/bare @{n}",
            median_or_none(pair_ratios(results.steps, "bare", devices=n)),
            ">=",
            0.8,
        )
        for n in cfg.step_devices
    ]
    restart = median_or_none(pair_ratios(results.restart, "bare-restart"))
    found.append(Check("(b) start-step-complete rounds/s mdmflow/bare", restart, ">=", 0.8))
    found.append(
        Check(
            "(c) fleet starts/s mdmflow/bare",
            _ratio(_fleet_starts(results, "mdmflow"), _bare_starts(results, "mdmflow")),
            ">=",
            0.9,
        )
    )
    fleet = _find(results.fleets, "mdmflow")
    slow = float(fleet.core.slow_tasks) if fleet is not None else None
    found.append(Check("(c) mdmflow workflow tasks over 5 s in the fleet", slow, "==", 0))
    found += _fan_out_checks(results)
    for what, label in (("worker_kib", "worker"), ("server_kib", "server")):
        found.append(
            Check(
                f"(d) {label} memory per parked mdmflow/bare",
                _ratio(_parked(results, "mdmflow", what), _parked(results, "bare", what)),
                "<=",
                1.3,
            )
        )
    found.append(
        Check(
            "(e) p99 webhook->enqueue / signal->activity",
            _ratio(_p(results, "mdmflow", "p99_ms"), _p(results, "bare", "p99_ms")),
            "<=",
            1.5,
        )
    )
    return found


def _fan_out_checks(results: BenchResults) -> list[Check]:
    """Issue 11's targets for a fleet start through the bridge (the fan-out row of (c))."""
    fan = _find(results.fleets, FAN_OUT)
    fan = fan if isinstance(fan, FanOutResult) else None
    answer = fan.answer_seconds if fan is not None else None
    status = fan.status_seconds if fan is not None else None
    matches = None if fan is None or not fan.status else float(all(s.matches for s in fan.status))
    return [
        Check("(c) fan-out: POST of every ID answered, s", answer, "<", 1.0),
        Check(
            "(c) fan-out starts/s / bare starts/s",
            _ratio(_fleet_starts(results, FAN_OUT), _bare_starts(results, FAN_OUT)),
            ">=",
            0.9,
        ),
        Check(
            "(c) fan-out workflow tasks over 5 s",
            float(fan.core.slow_tasks) if fan is not None else None,
            "==",
            0,
        ),
        Check("(c) instance status, slowest read, s", status, "<", 2.0),
        Check("(c) status totals == visibility count (1 = yes)", matches, "==", 1),
    ]


def context(results: BenchResults) -> list[tuple[str, float | None, str]]:
    """Ratios without a target that say where the time and memory go."""
    fleet_done = _ratio(
        _find_attr(results.fleets, "mdmflow", "complete_seconds"),
        bare_fleet_mean(results.fleets, "complete_seconds", "mdmflow"),
    )
    cpu_mdm = _find(results.cpu, "mdmflow", scenario="(b)")
    cpu_bare = _find(results.cpu, "bare", scenario="(b)")
    return [
        ("(c) fleet time to all done mdmflow/bare", fleet_done, ">1 = slower"),
        (
            "(c) fan-out time to all done / bare",
            _ratio(
                _find_attr(results.fleets, FAN_OUT, "complete_seconds"),
                bare_fleet_mean(results.fleets, "complete_seconds", FAN_OUT),
            ),
            ">1 = slower",
        ),
        (
            "(d) SQLite per parked mdmflow/bare",
            _ratio(_parked(results, "mdmflow", "db_kib"), _parked(results, "bare", "db_kib")),
            "",
        ),
        (
            "(e) p50 webhook->enqueue / signal->activity",
            _ratio(_p(results, "mdmflow", "p50_ms"), _p(results, "bare", "p50_ms")),
            "",
        ),
        *_shared(results),
        (
            "(b) mdmflow / mdmflow-no-intake rounds/s",
            _ratio(
                _rate(_find(results.shared_restart, "mdmflow")),
                _rate(_find(results.shared_restart, "mdmflow-no-intake")),
            ),
            "one process: what the durable intake costs",
        ),
        (
            "cpu ms/round server+worker+bridge mdmflow/bare",
            _ratio(
                cpu_mdm.total_ms_per_round(OURS) if cpu_mdm else None,
                cpu_bare.total_ms_per_round(OURS) if cpu_bare else None,
            ),
            ">1 = more CPU",
        ),
    ]


def _shared(results: BenchResults) -> list[tuple[str, float | None, str]]:
    """(a) and (b) with every part in the bench's one process: worker, bridge, simulated
    devices and driver on one event loop, against bare's worker and driver on one."""
    found = [
        (
            f"(a) K-step rounds/s @{n}, all in one process",
            _ratio(
                _rate(_find(results.shared_steps, "mdmflow", devices=n)),
                _rate(_find(results.shared_steps, "bare", devices=n)),
            ),
            "",
        )
        for n in results.config.step_devices
    ]
    found.append(
        (
            "(b) rounds/s, all in one process",
            _ratio(
                _rate(_find(results.shared_restart, "mdmflow")),
                _rate(_find(results.shared_restart, "bare-restart")),
            ),
            "",
        )
    )
    return found


def _find_attr(items: list[Any], name: str, attr: str) -> float | None:
    item = _find(items, name)
    return float(getattr(item, attr)) if item is not None else None
