"""``mdmflow start NAME --id ID …``: the bridge's start semantics from the command line.

What a start needs from the app database (profiles, a command plan) is checked there first, so
a missing profile is one error line here rather than a failed workflow. The database
(``MDMFLOW_DATABASE_URL``) is opened only for a workflow that needs something from it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence

from mdmflow.activities.content_models import StartRequirements
from mdmflow.config import Settings
from mdmflow.crypto.sealed import SecretBox
from mdmflow.requirements import RequirementChecker
from mdmflow.starter.start import AllAlreadyRunningError, StartError, start_workflows
from mdmflow.store.database import Database
from mdmflow.store.secrets import InventorySecretStore
from mdmflow.temporal_client import connect
from mdmflow.workflows.registry import UnknownWorkflowError


class DatabaseCheck:
    """Checks start requirements and seals a start's secrets in the app database, opening it
    on first use only."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._db: Database | None = None

    async def _open(self) -> Database:
        if self._db is None:
            self._db = await Database.open(self._settings.resolved_database_url)
        return self._db

    async def check(self, needs: StartRequirements) -> None:
        await RequirementChecker.of(await self._open()).check(needs)

    async def seal(self, enrollment_ids: Sequence[str], secrets: Mapping[str, str]) -> None:
        box = SecretBox(self._settings.keyring())
        await InventorySecretStore(await self._open(), box).seal(enrollment_ids, secrets)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()


async def run_start(settings: Settings, name: str, ids: Sequence[str], context: str) -> int:
    """Print the outcome as JSON; exit 1 when nothing could be started."""
    client = await connect(settings)
    check = DatabaseCheck(settings)
    try:
        outcome = await start_workflows(
            client,
            settings.task_queue,
            name,
            ids,
            context,
            checker=check,
            sealer=check,
            engine=settings.engine,
        )
    except (UnknownWorkflowError, StartError, AllAlreadyRunningError) as exc:
        print(f"mdmflow: {exc}", file=sys.stderr)
        return 1
    finally:
        await check.close()
    print(json.dumps(outcome.model_dump(), indent=2))
    return 0
