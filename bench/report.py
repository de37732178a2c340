"""Print a bench run: a table per kind of scenario, then the ratios that matter.

The ratios are the result; the absolute numbers only say how busy the machine was.
"""

from __future__ import annotations

import json
from typing import Any

from bench.measure import CoreLoad, FleetResult, RoundsResult
from bench.run import BenchResults


def _rounds(results: BenchResults, name: str) -> RoundsResult:
    return next(r for r in results.rounds if r.name == name)


def _fleet(results: BenchResults, name: str) -> FleetResult:
    return next(f for f in results.fleets if f.name == name)


def _core(core: CoreLoad) -> str:
    return f"{core.slow_tasks}/{core.lost_tasks}"


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0


def ratios(results: BenchResults) -> dict[str, float]:
    """Higher is better for the rate ratios; the completion-time ratio is a slowdown."""
    base, mdm = _rounds(results, "baseline"), _rounds(results, "mdmflow")
    restart = _rounds(results, "baseline-restart")
    fleet_base, fleet_mdm = _fleet(results, "fleet-baseline"), _fleet(results, "fleet-mdmflow")
    no_intake = _rounds(results, "mdmflow-no-intake")
    return {
        "mdmflow_vs_baseline": _ratio(mdm.rounds_per_s, base.rounds_per_s),
        "intake_vs_no_intake": _ratio(mdm.rounds_per_s, no_intake.rounds_per_s),
        "mdmflow_vs_baseline_restart": _ratio(mdm.rounds_per_s, restart.rounds_per_s),
        "fleet_starts_vs_bare": _ratio(fleet_mdm.starts_per_s, fleet_base.starts_per_s),
        "fleet_completion_time_vs_bare": _ratio(
            fleet_mdm.complete_seconds, fleet_base.complete_seconds
        ),
    }


def as_json(results: BenchResults) -> str:
    cfg = results.config
    data: dict[str, Any] = {
        "config": {
            "devices": cfg.devices,
            "rounds": cfg.rounds,
            "fleet": cfg.fleet,
            "app_database": results.database,
        },
        "rounds": [
            {
                "name": r.name,
                "rounds": r.rounds,
                "seconds": round(r.seconds, 3),
                "rounds_per_s": round(r.rounds_per_s, 2),
                "p50_ms": round(r.p50_ms, 1),
                "p95_ms": round(r.p95_ms, 1),
                "peak_rss_mb": round(r.peak_rss_mb, 1),
                "failures": r.failures,
                "slow_workflow_tasks": r.core.slow_tasks,
                "lost_workflow_tasks": r.core.lost_tasks,
            }
            for r in results.rounds
        ],
        "fleet": [
            {
                "name": f.name,
                "workflows": f.workflows,
                "start_seconds": round(f.start_seconds, 3),
                "starts_per_s": round(f.starts_per_s, 2),
                "complete_seconds": round(f.complete_seconds, 3),
                "peak_rss_mb": round(f.peak_rss_mb, 1),
                "failures": f.failures,
                "slow_workflow_tasks": f.core.slow_tasks,
                "lost_workflow_tasks": f.core.lost_tasks,
            }
            for f in results.fleets
        ],
        "ratios": {k: round(v, 3) for k, v in ratios(results).items()},
    }
    return json.dumps(data, indent=2)


def as_text(results: BenchResults) -> str:
    cfg = results.config
    lines = [
        f"mdmflow bench: {cfg.devices} devices x {cfg.rounds} rounds, fleet {cfg.fleet}; "
        f"Temporal dev server on SQLite (WAL); app database {results.database}",
        "",
        f"{'scenario':<18}{'rounds':>7}{'s':>8}{'rounds/s':>10}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'peak RSS MB':>13}{'failed':>8}{'slow/lost WFT':>15}",
    ]
    for r in results.rounds:
        lines.append(
            f"{r.name:<18}{r.rounds:>7}{r.seconds:>8.2f}{r.rounds_per_s:>10.1f}"
            f"{r.p50_ms:>9.0f}{r.p95_ms:>9.0f}{r.peak_rss_mb:>13.0f}{r.failures:>8}"
            f"{_core(r.core):>15}"
        )
    lines += [
        "",
        f"{'fleet start':<18}{'wfs':>7}{'start s':>9}{'starts/s':>10}{'all done s':>12}"
        f"{'peak RSS MB':>13}{'failed':>8}{'slow/lost WFT':>15}",
    ]
    for f in results.fleets:
        lines.append(
            f"{f.name:<18}{f.workflows:>7}{f.start_seconds:>9.2f}{f.starts_per_s:>10.1f}"
            f"{f.complete_seconds:>12.2f}{f.peak_rss_mb:>13.0f}{f.failures:>8}"
            f"{_core(f.core):>15}"
        )
    rt = ratios(results)
    lines += [
        "",
        f"RATIO mdmflow / baseline rounds/s:          {rt['mdmflow_vs_baseline']:.2f}",
        f"      mdmflow / baseline-restart rounds/s:  {rt['mdmflow_vs_baseline_restart']:.2f}"
        "  (same start-step-complete shape)",
        f"      mdmflow / mdmflow-no-intake rounds/s: {rt['intake_vs_no_intake']:.2f}"
        "  (what the durable intake costs)",
        f"      fleet starts/s mdmflow / bare:        {rt['fleet_starts_vs_bare']:.2f}",
        f"      fleet time to all done mdmflow / bare: {rt['fleet_completion_time_vs_bare']:.2f}"
        "  (>1 = slower)",
        "",
        "baseline: one workflow per device, a round = step activity to next step activity;",
        "restart and mdmflow: one run per round, a round = start call to result.",
        "mdmflow-no-intake: the same bridge with an intake that commits nothing (bench only);",
        "mdmflow and it run interleaved, twice each, and are summed.",
        "peak RSS is the process peak so far (getrusage), so it includes earlier scenarios.",
        "slow/lost WFT: workflow tasks over 5 s / timed out and redone (worker overloaded).",
    ]
    return "\n".join(lines)
