"""Read NanoCMD's file storage (``-storage file``, its default): diskv buckets, one file per key.

The layout is NanoCMD's (``cmd/nanocmd/storage.go``) or NanoHUB's, which embeds NanoCMD and
keeps the same buckets under other folder names:

=====================  ======================  ==========================================
NanoCMD (``db/``)      NanoHUB (``db/``)       keys (file names) → values (file bytes)
=====================  ======================  ==========================================
``profile/``           ``subsys-profile/``     ``id.<name>``, ``uuid.<name>``, ``raw.<name>``
``cmdplan/``           ``subsys-cmdplan/``     ``<name>`` → plan JSON
``inventory/``         ``subsys-inventory/``   ``<enrollment id>`` → values JSON
``fvkey/``             ``subsys-fvkey/``       ``key`` (PKCS#1 DER), ``cert`` (DER)
``engine/eventsubs/``  ``cmd/engine/…``        ``<name>.flag`` / ``.name`` / ``.ctx`` / ``.evctx``
``engine/wfstatus/``   ``cmd/engine/…``        ``<enrollment id>.<workflow>`` → Go time text
``engine/step/``       ``cmd/engine/…``        ``<step id>.meta`` / ``.ids`` / ``.cmds`` / …
``engine/idcmd/``      ``cmd/engine/…``        ``<id><command uuid>.step`` / ``.done`` / …
=====================  ======================  ==========================================

Only reads: the tree is left exactly as it was, so NanoCMD can be started on it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mdmflow.nanocmd_import.snapshot import (
    NanoCmdPlan,
    NanoCMDSnapshot,
    NanoInventory,
    NanoKeyPair,
    NanoProfile,
    NanoStart,
    NanoStep,
    NanoSubscription,
    Unreadable,
    event_name,
    parse_go_time,
)


class SourceError(Exception):
    """The NanoCMD storage cannot be read at all; the message says where and why."""


@dataclass(frozen=True)
class Layout:
    """Where each bucket of one deployment lives."""

    name: str
    profile: Path
    cmdplan: Path
    inventory: Path
    fvkey: Path
    engine: Path


def detect_layout(root: Path) -> Layout:
    """NanoCMD's or NanoHUB's folder names, whichever the tree has."""
    if not root.is_dir():
        raise SourceError(f"no NanoCMD file storage at {root}: not a directory")
    nanocmd = Layout(
        "NanoCMD",
        root / "profile",
        root / "cmdplan",
        root / "inventory",
        root / "fvkey",
        root / "engine",
    )
    nanohub = Layout(
        "NanoHUB",
        root / "subsys-profile",
        root / "subsys-cmdplan",
        root / "subsys-inventory",
        root / "subsys-fvkey",
        root / "cmd" / "engine",
    )
    for layout in (nanocmd, nanohub):
        folders = (layout.profile, layout.cmdplan, layout.inventory, layout.fvkey, layout.engine)
        if any(folder.is_dir() for folder in folders):
            return layout
    raise SourceError(
        f"no NanoCMD file storage at {root}: none of engine/, profile/, cmdplan/, inventory/, "
        "fvkey/ (NanoCMD) nor cmd/engine/, subsys-*/ (NanoHUB) is there"
    )


class Bucket:
    """One diskv bucket with NanoCMD's flat transform: each key is a file in one folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def names(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if p.is_file())

    def get(self, key: str) -> bytes | None:
        try:
            return (self.path / key).read_bytes()
        except FileNotFoundError:
            return None

    def text(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None else value.decode(errors="replace")

    def has(self, key: str) -> bool:
        return (self.path / key).is_file()


def read_file_storage(root: Path, workflow_names: Iterable[str]) -> NanoCMDSnapshot:
    """Everything NanoCMD's file storage at ``root`` holds; ``workflow_names`` are the workflows
    mdmflow knows, used to split last-started keys (``<id>.<workflow>``) correctly."""
    layout = detect_layout(root)
    snapshot = NanoCMDSnapshot(source=f"NanoCMD file storage at {root} ({layout.name} layout)")
    read_profiles(Bucket(layout.profile), snapshot)
    snapshot.cmdplans.extend(read_cmdplans(Bucket(layout.cmdplan)))
    read_inventory(Bucket(layout.inventory), snapshot)
    read_key_pair(Bucket(layout.fvkey), snapshot)
    read_subscriptions(Bucket(layout.engine / "eventsubs"), snapshot)
    read_starts(Bucket(layout.engine / "wfstatus"), sorted(workflow_names), snapshot)
    read_steps(Bucket(layout.engine / "step"), Bucket(layout.engine / "idcmd"), snapshot)
    return snapshot


def read_profiles(bucket: Bucket, snapshot: NanoCMDSnapshot) -> None:
    """Profiles are listed by their ``id.`` keys, as NanoCMD lists them."""
    for key in bucket.names():
        if not key.startswith("id."):
            continue
        name = key.removeprefix("id.")
        raw, uuid = bucket.get(f"raw.{name}"), bucket.text(f"uuid.{name}")
        if raw is None or uuid is None:
            missing = "raw" if raw is None else "uuid"
            snapshot.unreadable.append(
                Unreadable("profile", name, f"incomplete record: {missing}.{name} is missing")
            )
            continue
        identifier = bucket.text(key) or ""
        snapshot.profiles.append(NanoProfile(name, raw, identifier, uuid))


def read_cmdplans(bucket: Bucket, suffix: str = "") -> list[NanoCmdPlan]:
    """One plan per file; ``suffix`` (``.json``) is dropped from the name when given."""
    return [
        NanoCmdPlan(key.removesuffix(suffix) if suffix else key, bucket.get(key) or b"")
        for key in bucket.names()
        if not suffix or key.endswith(suffix)
    ]


def read_inventory(bucket: Bucket, snapshot: NanoCMDSnapshot) -> None:
    for enrollment_id in bucket.names():
        try:
            values = json.loads(bucket.get(enrollment_id) or b"")
        except ValueError as exc:
            snapshot.unreadable.append(Unreadable("inventory", enrollment_id, f"not JSON: {exc}"))
            continue
        if not isinstance(values, dict):
            snapshot.unreadable.append(
                Unreadable("inventory", enrollment_id, "not a JSON object of values")
            )
            continue
        snapshot.inventory.append(NanoInventory(enrollment_id, values))


def read_key_pair(bucket: Bucket, snapshot: NanoCMDSnapshot) -> None:
    key, cert = bucket.get("key"), bucket.get("cert")
    if key is None and cert is None:
        snapshot.notes.append("no FileVault escrow key pair in this storage")
        return
    if key is None or cert is None:
        missing = "key" if key is None else "cert"
        snapshot.unreadable.append(
            Unreadable("escrow key pair", "fvkey", f"incomplete: {missing} is missing")
        )
        return
    snapshot.key_pair = NanoKeyPair(certificate_der=cert, private_key_der=key)


def read_subscriptions(bucket: Bucket, snapshot: NanoCMDSnapshot) -> None:
    for key in bucket.names():
        if not key.endswith(".flag"):
            continue
        name = key.removesuffix(".flag")
        flag_text = bucket.text(key) or ""
        try:
            event = event_name(int(flag_text))
        except ValueError:
            event = f"unknown event type: {flag_text!r}"
        snapshot.subscriptions.append(
            NanoSubscription(
                name=name,
                event=event,
                workflow=bucket.text(f"{name}.name") or "",
                context=bucket.text(f"{name}.ctx") or "",
                event_context=bucket.text(f"{name}.evctx") or "",
            )
        )


def split_status_key(key: str, workflow_names: list[str]) -> tuple[str, str]:
    """``<enrollment id>.<workflow>``: a known workflow name at the end wins (enrollment IDs
    may hold dots too); otherwise the workflow is taken to start at the first dot."""
    for name in sorted(workflow_names, key=len, reverse=True):
        if key.endswith(f".{name}") and len(key) > len(name) + 1:
            return key[: -len(name) - 1], name
    enrollment_id, _, workflow = key.partition(".")
    return enrollment_id, workflow


def read_starts(bucket: Bucket, workflow_names: list[str], snapshot: NanoCMDSnapshot) -> None:
    for key in bucket.names():
        enrollment_id, workflow = split_status_key(key, workflow_names)
        try:
            started = parse_go_time(bucket.text(key) or "")
        except ValueError:
            snapshot.unreadable.append(
                Unreadable("last started", key, "not a Go time (RFC 3339 text)")
            )
            continue
        if started is not None:
            snapshot.starts.append(NanoStart(enrollment_id, workflow, started))


def read_steps(steps: Bucket, idcmds: Bucket, snapshot: NanoCMDSnapshot) -> None:
    """Steps with an enrollment still waiting: a command record without its ``.done`` key."""
    for key in steps.names():
        if not key.endswith(".meta"):
            continue
        step_id = key.removesuffix(".meta")
        instance_id, _, rest = (steps.text(key) or "").partition(",")
        workflow, _, step_name = rest.partition(",")
        ids = [i for i in (steps.text(f"{step_id}.ids") or "").split(",") if i]
        uuids = [u for u in (steps.text(f"{step_id}.cmds") or "").split(",") if u]
        waiting = tuple(
            eid
            for eid in ids
            if any(
                idcmds.has(f"{eid}{uuid}.step") and not idcmds.has(f"{eid}{uuid}.done")
                for uuid in uuids
            )
        )
        if not waiting:
            continue
        not_until_text = steps.text(f"{step_id}.notuntil")
        try:
            not_until = parse_go_time(not_until_text) if not_until_text else None
        except ValueError:
            not_until = None
        snapshot.steps.append(NanoStep(workflow, step_name, instance_id, waiting, not_until))
