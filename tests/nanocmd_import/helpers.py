"""Store the test deployment as NanoCMD would, import it, and read back what mdmflow answers."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.client import Client

from mdmflow.bridge.server import running_bridge
from mdmflow.config import Settings
from mdmflow.crypto.sealed import SecretBox
from mdmflow.nanocmd_import.command import ImportOptions, import_nanocmd, read_source
from mdmflow.nanocmd_import.decisions import ImportPlan
from mdmflow.store.database import Database
from mdmflow.store.schema import (
    cmdplans,
    event_subscriptions,
    filevault_escrow,
    inventory,
    inventory_secrets,
    profiles,
    workflow_starts,
)
from tests.nanocmd_import.deployment import Deployment, nanocmd_answers
from tests.support.codec import TEST_CODEC_KEY, TEST_KEYRING
from tests.support.nanocmd_files import NanoCMDFileTree, go_json

API_KEY = "import-test-key"
IMPORTED_TABLES = (
    profiles,
    cmdplans,
    event_subscriptions,
    inventory,
    inventory_secrets,
    filevault_escrow,
    workflow_starts,
)


def environ_without_settings() -> dict[str, str]:
    """This process's environment without any ``MDMFLOW_*`` or ``NANOCMD_*`` variable, for a
    subprocess that must see only the settings a test gives it."""
    prefixes = ("MDMFLOW_", "NANOCMD_")
    return {k: v for k, v in os.environ.items() if not k.upper().startswith(prefixes)}


def write_tree(dep: Deployment, tree: NanoCMDFileTree) -> None:
    """Everything in ``dep``, refused parts included, plus one step still waiting on a Mac."""
    for name, p in {**dep.profiles, **dep.refused_profiles}.items():
        tree.profile(name, p.raw, p.identifier, p.uuid)
    for name, plan in {**dep.cmdplans, **dep.refused_cmdplans}.items():
        tree.cmdplan(name, plan)
    for name, sub in {**dep.subscriptions, **dep.refused_subscriptions}.items():
        tree.subscription(name, **sub)
    for eid, values in dep.inventory.items():
        tree.inventory(eid, values)
    tree.key_pair(dep.identity)
    for eid, workflow, at in dep.starts + dep.refused_starts:
        tree.started(eid, workflow, at, nanos=789)
    tree.step(
        "4f1c2a",
        instance_id="inst-fv",
        workflow="io.micromdm.wf.fvenable.v1",
        name="poll",
        ids=["MAC-DONE", "MAC-WAITING"],
        commands={"CMD-1": "SecurityInfo"},
        answered={("MAC-DONE", "CMD-1")},
    )


def write_api_exports(dep: Deployment, folder: Path) -> tuple[Path, Path]:
    """What a running NanoCMD's API answered for its in-memory data: ``/inventory`` and one
    ``/v1/cmdplan/<name>`` per plan, saved as the guide says."""
    answers = nanocmd_answers(dep)
    inventory_json = folder / "inventory.json"
    inventory_json.write_bytes(go_json(answers["inventory"]))
    plans = folder / "cmdplans"
    plans.mkdir()
    for name, plan in {**answers["cmdplans"], **dep.refused_cmdplans}.items():
        (plans / f"{name}.json").write_bytes(go_json(plan))
    return inventory_json, plans


async def run_import(
    db: Database, options: ImportOptions, *, overwrite: bool = False, dry_run: bool = False
) -> ImportPlan:
    snapshot = await read_source(options)
    return await import_nanocmd(
        snapshot, db, SecretBox(TEST_KEYRING), overwrite=overwrite, dry_run=dry_run
    )


async def table_rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the import may write, in a stable order (timestamps included)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with db.engine.connect() as conn:
        for table in IMPORTED_TABLES:
            result = await conn.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(r) for r in result]
    return rows


@contextlib.asynccontextmanager
async def bridge_api(client: Client, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The real bridge on the imported database, and an authenticated client for its API."""
    settings = Settings(
        listen="127.0.0.1:0",
        api_key=API_KEY,
        database_url=database_url,
        task_queue=f"import-{uuid.uuid4()}",
        codec_key=TEST_CODEC_KEY,
    )
    async with running_bridge(settings, client) as url:  # noqa: SIM117
        async with httpx.AsyncClient(base_url=url, auth=("nanocmd", API_KEY), timeout=30) as api:
            yield api


async def mdmflow_answers(api: httpx.AsyncClient, dep: Deployment) -> dict[str, Any]:
    """mdmflow's answers in the shape of :func:`nanocmd_answers` (``signed`` is mdmflow's own
    addition to ``/v1/profiles`` and is checked apart)."""
    listed = (await api.get("/v1/profiles")).json()
    events = (await api.get("/v1/events")).json()
    plans = {}
    for name in dep.cmdplans:
        reply = await api.get(f"/v1/cmdplan/{name}")
        plans[name] = reply.json() if reply.status_code == 200 else reply.status_code
    ids = [("id", eid) for eid in dep.inventory]
    records = (await api.get("/v1/inventory", params=[*ids, ("secrets", "1")])).json()
    return {
        "profiles": {n: {k: v for k, v in p.items() if k != "signed"} for n, p in listed.items()},
        "cmdplans": plans,
        "events": events,
        "inventory": json.loads(json.dumps(records)),
    }
