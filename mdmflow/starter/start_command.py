"""``mdmflow start NAME --id ID …``: the bridge's start semantics from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from mdmflow.config import Settings
from mdmflow.starter.start import AllAlreadyRunningError, StartError, start_workflows
from mdmflow.temporal_client import connect
from mdmflow.workflows.registry import UnknownWorkflowError


async def run_start(settings: Settings, name: str, ids: Sequence[str], context: str) -> int:
    """Print the outcome as JSON; exit 1 when nothing could be started."""
    client = await connect(settings)
    try:
        outcome = await start_workflows(client, settings.task_queue, name, ids, context)
    except (UnknownWorkflowError, StartError, AllAlreadyRunningError) as exc:
        print(f"mdmflow: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(outcome.model_dump(), indent=2))
    return 0
