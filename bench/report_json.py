"""``--json``: the same results as the text report, machine-readable."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from bench.measure import (
    CpuResult,
    FanOutResult,
    FleetResult,
    LatencyResult,
    ParkedResult,
    RoundsResult,
)
from bench.ratios import checks, context
from bench.run import BenchResults


def _rounds_json(r: RoundsResult) -> dict[str, Any]:
    return {
        "name": r.name,
        "devices": r.devices,
        "pair": r.pair,
        "rounds": r.rounds,
        "seconds": round(r.seconds, 3),
        "rounds_per_s": round(r.rounds_per_s, 2),
        "p50_ms": round(r.p50_ms, 1),
        "p95_ms": round(r.p95_ms, 1),
        "peak_rss_mb": round(r.peak_rss_mb, 1),
        "failures": r.failures,
        "events_per_workflow": round(r.events_per_workflow, 1),
        "slow_workflow_tasks": r.core.slow_tasks,
        "lost_workflow_tasks": r.core.lost_tasks,
        "deferred_webhooks": r.core.deferred_webhooks,
        "redone_activities": r.core.redone_activities,
    }


def _fleet_json(f: FleetResult) -> dict[str, Any]:
    return {
        "name": f.name,
        "workflows": f.workflows,
        "start_seconds": round(f.start_seconds, 3),
        "starts_per_s": round(f.starts_per_s, 2),
        "complete_seconds": round(f.complete_seconds, 3),
        "peak_rss_mb": round(f.peak_rss_mb, 1),
        "failures": f.failures,
        "events_per_workflow": round(f.events_per_workflow, 1),
        "slow_workflow_tasks": f.core.slow_tasks,
        "lost_workflow_tasks": f.core.lost_tasks,
        "deferred_webhooks": f.core.deferred_webhooks,
        "redone_activities": f.core.redone_activities,
        **(_fan_out_json(f) if isinstance(f, FanOutResult) else {}),
    }


def _fan_out_json(f: FanOutResult) -> dict[str, Any]:
    return {
        "answer_seconds": round(f.answer_seconds, 4),
        "started": f.started,
        "already_running": f.already_running,
        "fan_out_runs": f.fan_out_runs,
        "status": [
            {
                "when": s.when,
                "seconds": round(s.seconds, 4),
                "total": s.total,
                "counts": s.counts,
                "visibility_count": s.visibility,
                "matches": s.matches,
            }
            for s in f.status
        ],
    }


def _parked_json(p: ParkedResult) -> dict[str, Any]:
    return {
        **asdict(p),
        "park_seconds": round(p.park_seconds, 2),
        "server_kib_per_workflow": round(p.server_kib, 2),
        "worker_kib_per_workflow": round(p.worker_kib, 2),
        "sqlite_kib_per_workflow": round(p.db_kib, 2),
    }


def _latency_json(r: LatencyResult) -> dict[str, Any]:
    return {
        "name": r.name,
        "samples": len(r.latencies),
        "p50_ms": round(r.p50_ms, 2),
        "p99_ms": round(r.p99_ms, 2),
        "failures": r.failures,
    }


def _cpu_json(c: CpuResult) -> dict[str, Any]:
    return {
        "name": c.name,
        "scenario": c.scenario,
        "rounds": c.rounds,
        "seconds": round(c.seconds, 3),
        "rounds_per_s": round(c.rounds_per_s, 2),
        "cpu_seconds": {role: round(s, 3) for role, s in c.cpu.items()},
        "cpu_ms_per_round": {
            role: round(ms, 2) for role in c.cpu if (ms := c.ms_per_round(role)) is not None
        },
        "failures": c.failures,
        "settled": c.settled,
        "pairs": c.pairs,
    }


def as_json(results: BenchResults) -> str:
    cfg = results.config
    data: dict[str, Any] = {
        "config": {**asdict(cfg), "only": sorted(cfg.only), "app_database": results.database},
        "steps": [_rounds_json(r) for r in results.steps],
        "restart": [_rounds_json(r) for r in results.restart],
        "shared_steps": [_rounds_json(r) for r in results.shared_steps],
        "shared_restart": [_rounds_json(r) for r in results.shared_restart],
        "fleet": [_fleet_json(f) for f in results.fleets],
        "parked": [_parked_json(p) for p in results.parked],
        "latency": [_latency_json(r) for r in results.latency],
        "cpu": [_cpu_json(c) for c in results.cpu],
        "checks": [
            {
                "label": c.label,
                "value": None if c.value is None else round(c.value, 3),
                "op": c.op,
                "target": c.target,
                "passed": c.passed,
            }
            for c in checks(results)
        ],
        "context": {
            label: None if value is None else round(value, 3)
            for label, value, _note in context(results)
        },
        "scenario_seconds": {k: round(v, 1) for k, v in results.seconds.items()},
        "failed": results.failed,
    }
    return json.dumps(data, indent=2)
