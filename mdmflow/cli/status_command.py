"""``mdmflow status INSTANCE`` and ``mdmflow cancel …``: the /v1 instance status and cancel,
from the command line, through the same functions the bridge answers with (Temporal client,
no bridge needed), so both always say the same."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from temporalio.client import Client

from mdmflow.bridge.instance_cancel import DEFAULT_REASON, cancel_instance, cancel_workflow
from mdmflow.bridge.instance_models import CancelOutcome, DeviceStatus, InstanceStatus
from mdmflow.bridge.instance_query import UnknownInstanceError
from mdmflow.bridge.instances import DEFAULT_PAGE_SIZE, BadPageTokenError, instance_status
from mdmflow.config import Settings
from mdmflow.mdm.limits import LimitError
from mdmflow.temporal_client import connect
from mdmflow.workflows.registry import UnknownWorkflowError

EXPECTED = (UnknownInstanceError, UnknownWorkflowError, LimitError, BadPageTokenError)


def add_status_parsers(sub: Any) -> None:
    status = sub.add_parser("status", help="an instance's counts by state and its devices")
    status.add_argument("instance", help="instance ID (from the start's answer)")
    status.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE)
    status.add_argument("--next-page-token", default=None)
    status.add_argument("--json", action="store_true", help="print the API's JSON")
    cancel = sub.add_parser("cancel", help="cancel an instance, or a workflow on given IDs")
    cancel.add_argument("instance", nargs="?", help="instance ID (or use --workflow and --id)")
    cancel.add_argument("--workflow", default=None, help="workflow name, with --id")
    cancel.add_argument("--id", dest="ids", action="append", default=[], help="enrollment ID")
    cancel.add_argument("--reason", default=DEFAULT_REASON, help="shown in the Web UI")
    cancel.add_argument("--json", action="store_true", help="print the API's JSON")


def _device_line(device: DeviceStatus) -> str:
    detail = device.failure or device.waiting_for or ""
    if device.outstanding:
        commands = ", ".join(c.request_type for c in device.outstanding)
        detail = f"waiting for {commands}" + (f"; {detail}" if detail else "")
    return f"{device.enrollment_id}  {device.state}  {device.step or '-'}  {detail}".rstrip()


def format_status(status: InstanceStatus) -> str:
    """The summary line, then one line per device of the page, then the next page's token."""
    lines = [status.summary()]
    if status.started is not None:
        lines.append(f"started {status.started.isoformat()}")
    lines.append("")
    lines.append("enrollment ID  state  step  detail")
    lines.extend(_device_line(d) for d in status.devices)
    if status.next_page_token:
        lines.append(f"more: --next-page-token {status.next_page_token}")
    return "\n".join(lines)


def format_cancel(outcome: CancelOutcome) -> str:
    line = (
        f"{outcome.cancelled:,} cancelled, {outcome.already_ended:,} already ended, "
        f"{outcome.not_found:,} not found"
    )
    return ("fleet start stopped; " if outcome.fan_out_cancelled else "") + line


async def status_command(client: Client, args: argparse.Namespace) -> int:
    try:
        status = await instance_status(client, args.instance, args.page_size, args.next_page_token)
    except EXPECTED as exc:
        print(f"mdmflow: {exc}", file=sys.stderr)
        return 1
    print(status.model_dump_json(indent=2) if args.json else format_status(status))
    return 0


def cancel_target_problem(args: argparse.Namespace) -> str | None:
    """Why the cancel arguments name no target, before anything connects."""
    if args.workflow:
        return None if args.ids and not args.instance else "--workflow takes --id IDs, no instance"
    if args.instance and not args.ids:
        return None
    return "give an instance ID, or --workflow NAME with --id IDs"


async def cancel_command(client: Client, args: argparse.Namespace) -> int:
    problem = cancel_target_problem(args)
    try:
        if problem is not None:
            raise LimitError("cancel", problem)
        if args.workflow:
            outcome = await cancel_workflow(client, args.workflow, args.ids, args.reason)
        else:
            outcome = await cancel_instance(client, args.instance, args.reason)
    except EXPECTED as exc:
        print(f"mdmflow: {exc}", file=sys.stderr)
        return 1
    print(outcome.model_dump_json(indent=2) if args.json else format_cancel(outcome))
    return 0


async def run_status_command(settings: Settings, args: argparse.Namespace) -> int:
    """Connect to Temporal (``TEMPORAL_ADDRESS``) and run ``status`` or ``cancel``."""
    if args.command == "cancel" and (problem := cancel_target_problem(args)) is not None:
        print(f"mdmflow: {problem}", file=sys.stderr)
        return 2
    client = await connect(settings)
    if args.command == "status":
        return await status_command(client, args)
    return await cancel_command(client, args)
