"""Read what a running NanoCMD's API answered, for data its storage never kept.

Under ``-storage mysql`` NanoCMD holds inventory and command plans in memory only. Before it is
stopped, the admin saves them through its own API (``docs/migrating-from-nanocmd.md`` shows the
``curl`` lines):

- ``GET /inventory?id=…`` (NanoCMD serves it without the ``/v1`` prefix) answers
  ``{"<id>": {key: value, …}}``, recovery keys and lock PINs in clear: ``--inventory-json``.
- ``GET /v1/cmdplan/<name>`` answers the plan's JSON; one file ``<name>.json`` per plan in a
  folder: ``--cmdplan-dir``.

Entries read here replace same-named ones read from the storage: they are what NanoCMD served
last.
"""

from __future__ import annotations

import json
from pathlib import Path

from mdmflow.nanocmd_import.files import Bucket, SourceError, read_cmdplans
from mdmflow.nanocmd_import.snapshot import NanoCMDSnapshot, NanoInventory


def read_inventory_json(path: Path) -> list[NanoInventory]:
    """The records of a saved ``/inventory`` answer."""
    try:
        answer = json.loads(path.read_bytes())
    except OSError as exc:
        raise SourceError(f"cannot read --inventory-json {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise SourceError(f"--inventory-json {path} is not JSON: {exc}") from None
    if not isinstance(answer, dict) or not all(isinstance(v, dict) for v in answer.values()):
        raise SourceError(
            f"--inventory-json {path} is not NanoCMD's /inventory answer "
            '({"<enrollment id>": {key: value}})'
        )
    return [NanoInventory(eid, values) for eid, values in sorted(answer.items())]


def add_exports(
    snapshot: NanoCMDSnapshot, inventory_json: Path | None, cmdplan_dir: Path | None
) -> None:
    """Add the saved API answers to ``snapshot``, replacing entries of the same name."""
    if inventory_json is not None:
        records = read_inventory_json(inventory_json)
        replaced = {r.enrollment_id for r in records}
        snapshot.inventory = [r for r in snapshot.inventory if r.enrollment_id not in replaced]
        snapshot.inventory.extend(records)
        snapshot.source += f" + inventory from {inventory_json}"
    if cmdplan_dir is not None:
        if not cmdplan_dir.is_dir():
            raise SourceError(f"--cmdplan-dir {cmdplan_dir} is not a directory")
        plans = read_cmdplans(Bucket(cmdplan_dir), suffix=".json")
        replaced = {p.name for p in plans}
        snapshot.cmdplans = [p for p in snapshot.cmdplans if p.name not in replaced]
        snapshot.cmdplans.extend(plans)
        snapshot.source += f" + cmdplans from {cmdplan_dir}"
