"""``mdmflow import nanocmd``: read a NanoCMD deployment's storage and store it in mdmflow.

The source is named as NanoCMD names it (``--storage``, ``--storage-dsn``), and defaults to
NanoCMD's own ``NANOCMD_STORAGE`` / ``NANOCMD_STORAGE_DSN``, so on NanoCMD's host the command
needs no arguments. Exit status: 0 when everything read is in mdmflow afterwards, 1 when
something was kept or refused (the report says what and why), 2 when the source cannot be read.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from mdmflow.config import Settings
from mdmflow.crypto.sealed import SecretBox
from mdmflow.nanocmd_env import nanocmd_storage
from mdmflow.nanocmd_import.decisions import ImportPlan, Stores
from mdmflow.nanocmd_import.exports import add_exports
from mdmflow.nanocmd_import.files import SourceError, read_file_storage
from mdmflow.nanocmd_import.godsn import DSNError, mysql_url
from mdmflow.nanocmd_import.mysql import in_memory_notes, read_mysql_storage
from mdmflow.nanocmd_import.plan import plan_import
from mdmflow.nanocmd_import.report import render
from mdmflow.nanocmd_import.snapshot import NanoCMDSnapshot
from mdmflow.store.database import Database
from mdmflow.workflows.registry import WORKFLOWS

STORAGES = ("file", "diskv", "mysql", "inmem")
DEFAULT_FILE_DSN = "db"
"""NanoCMD's default ``-storage-dsn`` for file storage, relative to where it ran."""


@dataclass(frozen=True)
class ImportOptions:
    storage: str | None = None
    storage_dsn: str | None = None
    inventory_json: Path | None = None
    cmdplan_dir: Path | None = None
    dry_run: bool = False
    overwrite: bool = False


async def read_source(options: ImportOptions) -> NanoCMDSnapshot:
    """The snapshot of the NanoCMD deployment the options (or NanoCMD's variables) name."""
    env_storage, env_dsn = nanocmd_storage(os.environ)
    storage = options.storage or env_storage or "file"
    dsn = options.storage_dsn if options.storage_dsn is not None else env_dsn
    if storage in ("file", "diskv"):
        snapshot = read_file_storage(Path(dsn or DEFAULT_FILE_DSN), WORKFLOWS)
    elif storage == "mysql":
        if not dsn:
            raise SourceError("--storage mysql needs --storage-dsn (NanoCMD's -storage-dsn)")
        try:
            url = mysql_url(dsn)
        except DSNError as exc:
            raise SourceError(f"--storage-dsn: {exc}") from None
        snapshot = await read_mysql_storage(url)
        snapshot.notes += in_memory_notes(
            inventory_given=options.inventory_json is not None,
            cmdplans_given=options.cmdplan_dir is not None,
        )
    elif storage == "inmem":
        snapshot = NanoCMDSnapshot(source="NanoCMD in-memory storage (nothing kept on disk)")
        snapshot.notes.append(
            "-storage inmem keeps nothing after NanoCMD stops; only --inventory-json and "
            "--cmdplan-dir can bring data over"
        )
    else:
        raise SourceError(f"unknown NanoCMD storage {storage!r} (one of {', '.join(STORAGES)})")
    add_exports(snapshot, options.inventory_json, options.cmdplan_dir)
    return snapshot


async def import_nanocmd(
    snapshot: NanoCMDSnapshot, db: Database, box: SecretBox, *, overwrite: bool, dry_run: bool
) -> ImportPlan:
    """Decide on everything in ``snapshot`` and, unless ``dry_run``, store it."""
    plan = await plan_import(snapshot, Stores.of(db, box), overwrite=overwrite)
    if not dry_run:
        await plan.apply()
    return plan


async def run_import(settings: Settings, options: ImportOptions) -> int:
    try:
        snapshot = await read_source(options)
    except SourceError as exc:
        print(f"mdmflow: {exc}", file=sys.stderr)
        return 2
    box = SecretBox(settings.keyring())
    db = await Database.open(settings.resolved_database_url)
    try:
        plan = await import_nanocmd(
            snapshot, db, box, overwrite=options.overwrite, dry_run=options.dry_run
        )
    finally:
        await db.close()
    target = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    sys.stdout.write(render(plan, target=target, dry_run=options.dry_run))
    return 0 if plan.complete else 1
