"""``python -m faults`` (``make faults``): run the scenarios one after another, print a figure
line as each ends and a table at the end; exit 1 if any scenario lost something or failed."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from faults import cluster
from faults.figures import Figure, table
from faults.scenarios import SCENARIOS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m faults",
        description="Kill mdmflow's processes (and Temporal's) for real and count what is lost.",
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="LETTER",
        help=f"scenarios to run, of {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep the process logs even when every scenario is ok (they are kept otherwise)",
    )
    return parser


async def _run(letters: Sequence[str]) -> list[Figure]:
    figures = []
    for letter in letters:
        started = time.monotonic()
        try:
            figure = await SCENARIOS[letter]()
        except Exception as exc:
            figure = Figure(letter, SCENARIOS[letter].__name__.replace("_", " "))
            figure.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        figure.seconds = time.monotonic() - started
        print(figure.heading() if figure.error is None else f"({letter}) {figure.error}")
        sys.stdout.flush()
        figures.append(figure)
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        _parser().error(
            f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    base = Path(tempfile.mkdtemp(prefix="mdmflow-faults-run-"))
    cluster.RUN_BASE = base
    started = time.monotonic()
    figures = asyncio.run(_run(args.scenarios or list(SCENARIOS)))
    print()
    print(table(figures))
    print(f"\n{len(figures)} scenarios in {time.monotonic() - started:.0f} s")
    failed = any(f.lost or f.error is not None for f in figures)
    if args.keep_logs or any(f.verdict != "ok" for f in figures):
        print(f"process logs (stderr of every process, per scenario): {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # sdk-python#300: a client process can abort while finalizing; leave without finalizers.
    os._exit(1 if failed else 0)


if __name__ == "__main__":
    main()
