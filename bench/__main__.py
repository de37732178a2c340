"""``python -m bench`` (``make bench``): run every scenario once and print the results."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from bench.report import as_json, as_text
from bench.run import BenchConfig, run_bench


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="mdmflow's step rounds against bare Temporal's, on one dev server.",
    )
    parser.add_argument("--devices", type=int, default=50, help="concurrent devices (50)")
    parser.add_argument("--rounds", type=int, default=3, help="step rounds per device (3)")
    parser.add_argument("--fleet", type=int, default=500, help="IDs in the fleet start (500)")
    parser.add_argument(
        "--database-url",
        default="",
        help="app database (routes); default SQLite in a temp dir, a postgresql+asyncpg:// URL "
        "works too. Temporal itself always runs on SQLite.",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if min(args.devices, args.rounds, args.fleet) < 1:
        _parser().error("--devices, --rounds and --fleet must be at least 1")
    config = BenchConfig(
        devices=args.devices, rounds=args.rounds, fleet=args.fleet, database_url=args.database_url
    )
    results = asyncio.run(run_bench(config))
    print(as_json(results) if args.json else as_text(results))
    sys.stdout.flush()
    sys.stderr.flush()
    # sdk-python#300: a client process can abort while finalizing; leave without finalizers.
    os._exit(0)


if __name__ == "__main__":
    main()
