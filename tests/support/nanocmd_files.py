"""Write a NanoCMD file-storage tree the way NanoCMD's ``-storage file`` does, key by key.

Each diskv bucket is a folder, each key a file holding the value's bytes (NanoCMD's flat
transform). Values are written in NanoCMD's encodings: Go's compact JSON with sorted map keys,
Go's RFC 3339 time text with nanoseconds, PKCS#1 DER keys. The NanoHUB layout puts the same
buckets under other folder names.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from mdmflow.filevault.identity import EscrowIdentity
from mdmflow.nanocmd_import.snapshot import EVENT_NAMES

FLAGS = {name: flag for flag, name in EVENT_NAMES.items()}


def go_json(value: Any) -> bytes:
    """``encoding/json``'s compact output (map keys sorted)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def go_time(at: dt.datetime, nanos: int = 0) -> str:
    """``time.Time.MarshalText``: RFC 3339 with up to nine fraction digits, zeros trimmed."""
    utc = at.astimezone(dt.UTC)
    fraction = f"{utc.microsecond * 1000 + nanos:09d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def pkcs1_der(identity: EscrowIdentity) -> bytes:
    return identity.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


class NanoCMDFileTree:
    """A NanoCMD (or NanoHUB) ``-storage-dsn`` folder being written."""

    def __init__(self, root: Path, layout: str = "NanoCMD") -> None:
        self.root = root
        prefix, engine = ("subsys-", root / "cmd" / "engine") if layout == "NanoHUB" else ("", None)
        self.profile_dir = root / f"{prefix}profile"
        self.cmdplan_dir = root / f"{prefix}cmdplan"
        self.inventory_dir = root / f"{prefix}inventory"
        self.fvkey_dir = root / f"{prefix}fvkey"
        self.engine_dir = engine or root / "engine"

    @staticmethod
    def _set(folder: Path, key: str, value: bytes | str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / key).write_bytes(value.encode() if isinstance(value, str) else value)

    def profile(self, name: str, raw: bytes, identifier: str, uuid: str) -> None:
        self._set(self.profile_dir, f"id.{name}", identifier)
        self._set(self.profile_dir, f"uuid.{name}", uuid)
        self._set(self.profile_dir, f"raw.{name}", raw)

    def cmdplan(self, name: str, plan: dict[str, Any]) -> None:
        self._set(self.cmdplan_dir, name, go_json(plan))

    def subscription(
        self, name: str, event: str, workflow: str, context: str = "", event_context: str = ""
    ) -> None:
        bucket = self.engine_dir / "eventsubs"
        self._set(bucket, f"{name}.flag", str(FLAGS.get(event, 0)))
        self._set(bucket, f"{name}.name", workflow)
        if context:
            self._set(bucket, f"{name}.ctx", context)
        if event_context:
            self._set(bucket, f"{name}.evctx", event_context)

    def inventory(self, enrollment_id: str, values: dict[str, Any]) -> None:
        self._set(self.inventory_dir, enrollment_id, go_json(values))

    def key_pair(self, identity: EscrowIdentity) -> None:
        self._set(self.fvkey_dir, "key", pkcs1_der(identity))
        self._set(self.fvkey_dir, "cert", identity.certificate_der)

    def started(self, enrollment_id: str, workflow: str, at: dt.datetime, nanos: int = 0) -> None:
        self._set(self.engine_dir / "wfstatus", f"{enrollment_id}.{workflow}", go_time(at, nanos))

    def step(
        self,
        step_id: str,
        *,
        instance_id: str,
        workflow: str,
        name: str,
        ids: list[str],
        commands: dict[str, str],
        answered: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
        not_until: dt.datetime | None = None,
    ) -> None:
        """A stored step; ``commands`` maps command UUID → request type, ``answered`` holds the
        (id, uuid) pairs with a final answer (their ``.done`` key)."""
        steps, idcmd = self.engine_dir / "step", self.engine_dir / "idcmd"
        self._set(steps, f"{step_id}.meta", f"{instance_id},{workflow},{name}")
        self._set(steps, f"{step_id}.ids", ",".join(ids))
        self._set(steps, f"{step_id}.cmds", ",".join(commands))
        if not_until is not None:
            self._set(steps, f"{step_id}.notuntil", go_time(not_until))
        for eid in ids:
            for uuid, request_type in commands.items():
                self._set(idcmd, f"{eid}{uuid}.step", step_id)
                self._set(idcmd, f"{eid}{uuid}.reqtype", request_type)
                self._set(idcmd, f"{eid}{uuid}.id", eid)
                self._set(idcmd, f"{eid}{uuid}.lastpush", go_time(dt.datetime.now(dt.UTC)))
                if (eid, uuid) in answered:
                    self._set(idcmd, f"{eid}{uuid}.done", "1")
