"""``mdmflow simulate checkin``: make a simulated device check in through the simulator's API.

The simulator is ``--simulator URL`` or, by default, the one the running ``mdmflow dev``
recorded in its data dir; the key is ``--key``, else ``MDMFLOW_ENQUEUE_API_KEY``, else the
recorded one.
"""

from __future__ import annotations

import argparse
import sys

import httpx

from mdmflow.cli.sim_address import SimulatorAddress
from mdmflow.config import Settings
from mdmflow.simulator.checkin_api import CHECKIN_MESSAGES, LATER_TALLY


def add_checkin_parser(simulate: argparse.ArgumentParser) -> None:
    """``checkin`` under ``mdmflow simulate``; without it ``simulate`` runs the server."""
    sub = simulate.add_subparsers(dest="sim_command", metavar="{checkin}")
    checkin = sub.add_parser(
        "checkin",
        help="make a simulated device check in (Authenticate, TokenUpdate, CheckOut, Idle)",
        description="Authenticate enrolls again (Authenticate, then TokenUpdate with tally 1, "
        "so the bridge raises Enrollment); TokenUpdate is a later one (--tally, default "
        f"{LATER_TALLY}); CheckOut leaves management; Idle checks in with nothing to report.",
    )
    checkin.add_argument("--device", required=True, help="enrollment ID (UDID) of the device")
    checkin.add_argument("--message", required=True, choices=CHECKIN_MESSAGES)
    checkin.add_argument("--tally", type=int, default=LATER_TALLY, help="TokenUpdate's tally")
    checkin.add_argument(
        "--simulator", default="", help="simulator base URL (default: the running mdmflow dev's)"
    )
    checkin.add_argument("--key", default="", help="simulator API key (see --simulator)")
    checkin.add_argument("--user", default="", help="simulator API user (nanomdm or micromdm)")
    checkin.add_argument("--data-dir", default=None, help="mdmflow dev's data dir")


def _address(args: argparse.Namespace, settings: Settings) -> SimulatorAddress:
    if args.simulator:
        key = args.key or settings.enqueue_api_key or "simulator"
        return SimulatorAddress(args.simulator, args.user or settings.mdm_user, key)
    recorded = SimulatorAddress.read(settings.data_dir)
    return SimulatorAddress(recorded.url, args.user or recorded.user, args.key or recorded.api_key)


async def run_checkin(args: argparse.Namespace, settings: Settings) -> int:
    """Print what the simulator answered; 0 when the bridge's webhook accepted it all."""
    address = _address(args, settings)
    url = f"{address.url.rstrip('/')}/sim/devices/{args.device}/checkin"
    body = {"message": args.message, "tally": args.tally}
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            reply = await http.post(url, json=body, auth=(address.user, address.api_key))
    except httpx.HTTPError as exc:
        print(f"mdmflow: cannot reach the simulator at {address.url}: {exc}", file=sys.stderr)
        return 1
    if reply.status_code == 200:
        print(f"{args.message} from {args.device}: delivered to the bridge")
        return 0
    try:
        reason = str(reply.json().get("error", reply.text))
    except ValueError:
        reason = reply.text.strip()
    print(
        f"mdmflow: {args.message} from {args.device} failed: HTTP {reply.status_code}: {reason}",
        file=sys.stderr,
    )
    return 1
