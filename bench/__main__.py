"""``python -m bench`` (``make bench``): run the scenarios and print tables and ratios."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from collections.abc import Sequence
from typing import Any

from bench.config import FULL, QUICK, SCENARIOS, BenchConfig
from bench.report import as_text
from bench.report_json import as_json
from bench.run import run_bench

MAX_RESTART_DEVICES = 500
"""(b) waits on each run's result (a long poll); stay well under the dev server's limit."""


def _devices(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _scenarios(text: str) -> frozenset[str]:
    chosen = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = chosen - set(SCENARIOS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {','.join(SCENARIOS)}")
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="mdmflow against bare Temporal, like for like, on one machine: "
        "(a) K steps in one workflow and (b) start -> step -> complete with each side's parts "
        "as separate processes (and CPU per round by process), (c) fleet start, "
        "(d) memory per parked device, (e) latency at N=1, and (shared) (a) and (b) with "
        "every part in one process. "
        "Defaults are the issue's sizes (40 to 55 minutes on two cores as measured); "
        "--quick takes 1 to 3.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for iterating")
    parser.add_argument(
        "--only",
        type=_scenarios,
        default=None,
        help=f"comma-separated scenarios to run, of {','.join(SCENARIOS)} (default all)",
    )
    sizes = parser.add_argument_group("sizes (default: the issue's, or --quick's)")
    sizes.add_argument("--steps", type=int, help=f"(a) K, steps per workflow ({FULL.steps})")
    sizes.add_argument(
        "--step-devices",
        type=_devices,
        help="(a) devices at once, comma-separated (100,1000)",
    )
    sizes.add_argument("--devices", type=int, help=f"(b) devices ({FULL.devices})")
    sizes.add_argument("--rounds", type=int, help=f"(b) runs per device ({FULL.rounds})")
    sizes.add_argument(
        "--pairs",
        type=int,
        help=f"(a), (b) as deployed: runs of each side, alternating ({FULL.pairs})",
    )
    sizes.add_argument("--fleet", type=int, help=f"(c) IDs in the fleet start ({FULL.fleet})")
    sizes.add_argument("--parked", type=int, help=f"(d) workflows parked ({FULL.parked})")
    sizes.add_argument(
        "--latency-runs", type=int, help=f"(e) runs on one device ({FULL.latency_runs})"
    )
    sizes.add_argument(
        "--latency-steps", type=int, help=f"(e) steps per run ({FULL.latency_steps})"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="app database (routes, intake); default SQLite in a temp dir, a "
        "postgresql+asyncpg:// URL works too. Temporal itself always runs on SQLite.",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    return parser


def config_from(args: argparse.Namespace) -> BenchConfig:
    """The preset (--quick or the issue's sizes) with every size given on the command line."""
    preset = QUICK if args.quick else FULL
    sizes: dict[str, Any] = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(BenchConfig)
        if f.name not in ("only", "database_url") and getattr(args, f.name, None) is not None
    }
    return dataclasses.replace(
        preset,
        **sizes,
        database_url=args.database_url,
        only=args.only if args.only is not None else preset.only,
    )


def _check(parser: argparse.ArgumentParser, config: BenchConfig) -> None:
    counts = {
        "--steps": config.steps,
        "--devices": config.devices,
        "--rounds": config.rounds,
        "--fleet": config.fleet,
        "--parked": config.parked,
        "--latency-runs": config.latency_runs,
        "--pairs": config.pairs,
    }
    for flag, value in counts.items():
        if value < 1:
            parser.error(f"{flag} must be at least 1")
    if config.latency_steps < 2:
        parser.error("--latency-steps must be at least 2 (a sample is between two steps)")
    if not config.step_devices or min(config.step_devices) < 1:
        parser.error("--step-devices must be positive numbers")
    if config.devices > MAX_RESTART_DEVICES:
        parser.error(f"--devices is at most {MAX_RESTART_DEVICES}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    config = config_from(args)
    _check(parser, config)
    results = asyncio.run(run_bench(config))
    print(as_json(results) if args.json else as_text(results))
    sys.stdout.flush()
    sys.stderr.flush()
    # sdk-python#300: a client process can abort while finalizing; leave without finalizers.
    os._exit(0)


if __name__ == "__main__":
    main()
