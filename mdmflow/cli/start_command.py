"""``mdmflow start NAME --id ID … | --ids-file F [--wait]``: the bridge's start semantics from
the command line.

What a start needs from the app database (profiles, a command plan) is checked there first, so
a missing profile is one error line here rather than a failed workflow. The database
(``MDMFLOW_DATABASE_URL``) is opened only when a start needs it: a workflow that needs
something from it, or a fleet start, whose IDs wait there for its fan-out workflow.

The outcome is JSON on standard output; progress bars go to standard error, so a script can
read one and a person watch the other.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from mdmflow.activities.content_models import StartRequirements
from mdmflow.cli.start_progress import follow_devices, follow_fan_out
from mdmflow.config import Settings
from mdmflow.crypto.sealed import SecretBox
from mdmflow.requirements import RequirementChecker
from mdmflow.starter.fleet import start_fleet
from mdmflow.starter.ids import MAX_START_BODY_BYTES, IdListError, parse_ids
from mdmflow.starter.start import (
    AllAlreadyRunningError,
    StartError,
    prepare_start,
    start_prepared,
)
from mdmflow.store.database import Database
from mdmflow.store.fleet_ids import FleetIdStore
from mdmflow.store.secrets import InventorySecretStore
from mdmflow.temporal_client import connect
from mdmflow.workflows.registry import UnknownWorkflowError


class DatabaseCheck:
    """Checks start requirements, seals a start's secrets and keeps a fleet start's IDs in the
    app database, opening it on first use only."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._db: Database | None = None

    async def database(self) -> Database:
        if self._db is None:
            self._db = await Database.open(self._settings.resolved_database_url)
        return self._db

    async def check(self, needs: StartRequirements) -> None:
        await RequirementChecker.of(await self.database()).check(needs)

    async def seal(self, enrollment_ids: Sequence[str], secrets: Mapping[str, str]) -> None:
        box = SecretBox(self._settings.keyring())
        await InventorySecretStore(await self.database(), box).seal(enrollment_ids, secrets)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()


def read_ids_file(path: Path | None) -> list[str]:
    """The IDs of ``--ids-file``: one per line, or a JSON list; ``-`` is standard input."""
    if path is None:
        return []
    if str(path) == "-":
        raw = sys.stdin.buffer.read(MAX_START_BODY_BYTES + 1)
    else:
        with path.open("rb") as file:
            raw = file.read(MAX_START_BODY_BYTES + 1)
    if len(raw) > MAX_START_BODY_BYTES:
        raise IdListError(f"{path}: over {MAX_START_BODY_BYTES:,} bytes")
    return parse_ids(raw, json_list=raw.lstrip().startswith(b"["))


async def run_start(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 1 when nothing could be started; with ``--wait``, 0 only if every device's
    workflow completed (3 if any failed, was cancelled or timed out)."""
    try:
        ids = [*args.ids, *read_ids_file(args.ids_file)]
    except (OSError, IdListError) as exc:
        print(f"mdmflow: {exc}", file=sys.stderr)
        return 1
    client = await connect(settings)
    check = DatabaseCheck(settings)
    try:
        prepared = await prepare_start(
            args.name, ids, args.context, checker=check, sealer=check, engine=settings.engine
        )
        if len(prepared.starts) > settings.fleet_start_threshold:
            store = FleetIdStore(await check.database())
            accepted = await start_fleet(
                client, settings.task_queue, store, prepared, settings.start_rate
            )
            progress = await follow_fan_out(client, accepted)
            answer = {**accepted.model_dump(), **progress.model_dump(include=_COUNTS)}
            started = progress.started
        else:
            outcome = await start_prepared(client, settings.task_queue, prepared)
            answer = outcome.model_dump()
            started = len(outcome.started)
    except (UnknownWorkflowError, StartError, AllAlreadyRunningError) as exc:
        print(f"mdmflow: {exc}", file=sys.stderr)
        return 1
    finally:
        await check.close()
    print(json.dumps(answer, indent=2), flush=True)
    if not args.wait:
        return 0
    return 0 if await follow_devices(client, prepared.name, prepared.instance_id, started) else 3


_COUNTS = {"started", "already_running", "already_running_ids"}
