"""The ``mdmflow`` command: dev stack, worker, bridge, simulator, workflow starts, imports."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn

from mdmflow import event_loop
from mdmflow.cli.checkin_command import add_checkin_parser
from mdmflow.cli.status_command import add_status_parsers
from mdmflow.config import ConfigError, Settings, load_settings
from mdmflow.httpserver import ServerStartError
from mdmflow.store.database import DatabaseError
from mdmflow.telemetry import setup_logging, setup_tracing

log = logging.getLogger("mdmflow")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mdmflow", description="Durable Apple MDM command workflows on Temporal."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="Temporal dev server + worker + bridge (+ simulator)")
    dev.add_argument("--data-dir", default=None, help="state directory (default .mdmflow)")
    dev.add_argument("--temporal-port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument(
        "--simulate",
        type=int,
        default=3,
        metavar="N",
        help="simulated devices when no MDMFLOW_ENQUEUE_URL is set (default 3)",
    )
    sub.add_parser("worker", help="run the Temporal worker")
    sub.add_parser("bridge", help="run the HTTP bridge (webhook + /v1 API)")
    sim = sub.add_parser("simulate", help="run the MDM server simulator")
    sim.add_argument("--devices", type=int, default=3)
    sim.add_argument("--listen", default="127.0.0.1:9004")
    sim.add_argument("--webhook-url", default="http://127.0.0.1:9003/webhook")
    sim.add_argument("--micromdm", action="store_true", help="speak MicroMDM's API")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--not-now-rate", type=float, default=0.0)
    sim.add_argument("--error-rate", type=float, default=0.0)
    add_checkin_parser(sim)
    start = sub.add_parser("start", help="start a workflow on one or more enrollment IDs")
    start.add_argument("name", help="workflow name, e.g. io.micromdm.wf.devinfolog.v1")
    start.add_argument("--id", dest="ids", action="append", default=[], help="enrollment ID")
    start.add_argument(
        "--ids-file",
        type=Path,
        default=None,
        help="enrollment IDs, one per line or a JSON list ('-' reads standard input)",
    )
    start.add_argument("--context", default="", help="the workflow's start context")
    start.add_argument(
        "--wait", action="store_true", help="follow the devices until every one has ended"
    )
    _import_parser(sub)
    add_status_parsers(sub)
    return parser


def _import_parser(sub: Any) -> None:
    imp = sub.add_parser(
        "import",
        help="bring another engine's stored data into mdmflow",
        description="Import profiles, command plans, event subscriptions, inventory (secrets "
        "sealed), the FileVault escrow key pair and last-started times from NanoCMD. See "
        "docs/migrating-from-nanocmd.md.",
    )
    imp.add_argument("source", choices=["nanocmd"], help="the engine to import from")
    imp.add_argument(
        "--storage",
        choices=["file", "diskv", "mysql", "inmem"],
        default=None,
        help="NanoCMD's -storage (default: NANOCMD_STORAGE, else file)",
    )
    imp.add_argument(
        "--storage-dsn",
        default=None,
        help="NanoCMD's -storage-dsn: its file storage folder (default db) or MySQL DSN "
        "(default: NANOCMD_STORAGE_DSN)",
    )
    imp.add_argument(
        "--inventory-json", type=Path, default=None, help="a saved answer of NanoCMD's /inventory"
    )
    imp.add_argument(
        "--cmdplan-dir", type=Path, default=None, help="saved /v1/cmdplan answers, <name>.json"
    )
    imp.add_argument("--dry-run", action="store_true", help="print what would be imported")
    imp.add_argument(
        "--overwrite", action="store_true", help="replace what mdmflow already holds differently"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(
            **({"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {})
        )
    except ConfigError as exc:
        _die(str(exc))
    setup_logging(settings.log_level)
    for note in settings.nanocmd_notes:
        log.info(note)
    setup_tracing(f"mdmflow-{args.command}")
    rc = _run(_command(args, settings))
    sys.stdout.flush()
    sys.stderr.flush()
    # sdk-python#300: a client process can abort while finalizing; leave without finalizers.
    os._exit(rc)


def _command(args: argparse.Namespace, settings: Settings) -> Coroutine[Any, Any, int]:
    if args.command == "dev":
        from mdmflow.cli.dev import run_dev

        return run_dev(settings, args.temporal_port, args.ui_port, args.simulate)
    if args.command == "worker":
        return _with_client(settings, "worker")
    if args.command == "bridge":
        return _with_client(settings, "bridge")
    if args.command == "simulate" and args.sim_command == "checkin":
        from mdmflow.cli.checkin_command import run_checkin

        return run_checkin(args, settings)
    if args.command == "simulate":
        from mdmflow.cli.simulate import run_simulate

        return run_simulate(args, settings)
    if args.command == "import":
        from mdmflow.nanocmd_import.command import ImportOptions, run_import

        options = ImportOptions(
            storage=args.storage,
            storage_dsn=args.storage_dsn,
            inventory_json=args.inventory_json,
            cmdplan_dir=args.cmdplan_dir,
            dry_run=args.dry_run,
            overwrite=args.overwrite,
        )
        return run_import(settings, options)
    if args.command in ("status", "cancel"):
        from mdmflow.cli.status_command import run_status_command

        return run_status_command(settings, args)
    from mdmflow.cli.start_command import run_start

    return run_start(settings, args)


async def _with_client(settings: Settings, what: str) -> int:
    from mdmflow.temporal_client import connect

    runtime = None
    if what == "worker":
        from mdmflow.worker_metrics import load_worker_metrics_settings, metrics_runtime

        settings.require_mdm_server()
        runtime = metrics_runtime(load_worker_metrics_settings().worker_metrics_listen)
    client = await connect(settings, runtime)
    if what == "worker":
        from mdmflow.worker import run_worker

        await run_worker(settings, client)
    else:
        from mdmflow.bridge.server import run_bridge

        await run_bridge(settings, client)
    return 0


def _run(coro: Coroutine[Any, Any, int]) -> int:
    try:
        return event_loop.run(coro)
    except KeyboardInterrupt:
        return 130
    except (ConfigError, DatabaseError, ServerStartError) as exc:
        _die(str(exc))


def _die(message: str) -> NoReturn:
    print(f"mdmflow: {message}", file=sys.stderr)
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(2)
