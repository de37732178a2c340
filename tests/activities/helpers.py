"""The engine's activities as the activity tests build them, and a step to enqueue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from mdmflow.activities.mdm import MDMActivities
from mdmflow.activities.mdm_client import MDMClient
from mdmflow.activities.models import EngineSettings, EnqueueStep, QueuedCommand
from mdmflow.activities.stored_values import StoredValueReader
from mdmflow.crypto.sealed import SecretBox
from mdmflow.mdm.commands import MDMCommand
from mdmflow.store.database import Database
from mdmflow.store.payloads import PayloadStore
from mdmflow.store.profiles import ProfileStore
from mdmflow.store.routes import RouteStore
from mdmflow.store.secrets import InventorySecretStore
from mdmflow.store.starts import WorkflowStartStore
from tests.support.codec import TEST_KEYRING

WORKFLOW_ID = "io.micromdm.wf.devinfolog.v1/test"


ENGINE = EngineSettings(step_timeout_s=60, repush_interval_s=30)


def activities(client: MDMClient, db: Database) -> MDMActivities:
    return MDMActivities(
        client,
        RouteStore(db),
        PayloadStore(db),
        WorkflowStartStore(db),
        ENGINE,
        StoredValueReader(ProfileStore(db), InventorySecretStore(db, SecretBox(TEST_KEYRING))),
    )


def step(ids: Sequence[str], *commands: MDMCommand) -> EnqueueStep:
    return EnqueueStep(
        workflow_id=WORKFLOW_ID,
        workflow_name="io.micromdm.wf.devinfolog.v1",
        step="one",
        enrollment_ids=list(ids),
        commands=[
            QueuedCommand(command_uuid=str(uuid.uuid4()).upper(), command=c) for c in commands
        ],
    )
