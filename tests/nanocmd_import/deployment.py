"""One NanoCMD deployment's data, and what NanoCMD's API answered for it.

The file-storage and MySQL tests both store this data the way NanoCMD would, import it, and
compare mdmflow's ``/v1`` answers with :func:`nanocmd_answers`, which follows NanoCMD's
handlers: ``/v1/profiles`` lists ``{identifier, uuid}`` per name, ``/v1/cmdplan/<name>`` is the
plan's JSON with empty fields left out, ``/v1/event/<name>`` the subscription with empty
``context``/``event_context`` left out, ``/inventory`` every value, secrets in clear.

It also holds what mdmflow refuses where NanoCMD accepted it (stricter checks), so the tests
see each refusal listed with its reason.
"""

from __future__ import annotations

import datetime as dt
import plistlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mdmflow.filevault.identity import EscrowIdentity, generate_identity
from mdmflow.mdm.plist import dump_xml
from tests.support.signing import signer

DEVICE_A = "0F1E2D3C-4B5A-4968-8776-A1B2C3D4E5F6"
DEVICE_B = "C0FFEE00-1234-4321-ABCD-0123456789AB"
INVENTORY_WF = "io.micromdm.wf.inventory.v1"
CMDPLAN_WF = "io.micromdm.wf.cmdplan.v1"
FVENABLE_WF = "io.micromdm.wf.fvenable.v1"
LOCK_PIN = "io.micromdm.wf.lock.v1.pin"
STARTED = dt.datetime(2026, 3, 1, 10, 30, 15, tzinfo=dt.UTC)


def profile_bytes(identifier: str, uuid: str, payload: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {
        "PayloadDisplayName": identifier.rsplit(".", 1)[-1],
        "PayloadIdentifier": identifier,
        "PayloadUUID": uuid,
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadContent": [
            payload
            or {
                "PayloadType": "com.apple.loginwindow",
                "PayloadVersion": 1,
                "PayloadIdentifier": f"{identifier}.payload",
                "PayloadUUID": f"{uuid[:-4]}9999",
                "LoginwindowText": "Managed",
            }
        ],
    }
    return dump_xml(body)


@dataclass(frozen=True)
class StoredProfile:
    raw: bytes
    identifier: str
    uuid: str


@dataclass(frozen=True)
class Deployment:
    profiles: dict[str, StoredProfile]
    refused_profiles: dict[str, StoredProfile]
    cmdplans: dict[str, dict[str, Any]]
    refused_cmdplans: dict[str, dict[str, Any]]
    subscriptions: dict[str, dict[str, str]]
    refused_subscriptions: dict[str, dict[str, str]]
    inventory: dict[str, dict[str, Any]]
    identity: EscrowIdentity
    starts: list[tuple[str, str, dt.datetime]]
    refused_starts: list[tuple[str, str, dt.datetime]] = field(default_factory=list)

    @property
    def idle_subscriptions(self) -> list[str]:
        return [n for n, s in self.subscriptions.items() if s["event"] == "Idle"]


@cache
def deployment() -> Deployment:
    """The deployment (made once: key generation is slow)."""
    wifi = profile_bytes("com.example.wifi", "6C3E5F0A-8F12-4B6D-9E51-2A9C0D1E7B10")
    vpn_plain = profile_bytes("com.example.vpn", "1D2C3B4A-5F6E-4A8B-9C0D-E1F2A3B4C5D6")
    binary = plistlib.dumps(
        plistlib.loads(profile_bytes("com.example.bin", "9A8B7C6D-5E4F-4A3B-8C2D-1E0F9A8B7C6D")),
        fmt=plistlib.FMT_BINARY,
    )
    nested_missing_uuid = profile_bytes(
        "com.example.loose",
        "77777777-7777-4777-8777-777777777777",
        {"PayloadType": "com.apple.dock", "PayloadVersion": 1, "PayloadIdentifier": "x"},
    )
    return Deployment(
        profiles={
            "wifi": StoredProfile(wifi, "com.example.wifi", "6C3E5F0A-8F12-4B6D-9E51-2A9C0D1E7B10"),
            "vpn": StoredProfile(
                signer().sign(vpn_plain), "com.example.vpn", "1D2C3B4A-5F6E-4A8B-9C0D-E1F2A3B4C5D6"
            ),
            "binary": StoredProfile(
                binary, "com.example.bin", "9A8B7C6D-5E4F-4A3B-8C2D-1E0F9A8B7C6D"
            ),
        },
        refused_profiles={
            # NanoCMD checks the top level only; mdmflow every payload, as devices do.
            "loose": StoredProfile(
                nested_missing_uuid, "com.example.loose", "77777777-7777-4777-8777-777777777777"
            ),
            # ',' separates names in the profile workflow's context.
            "a,b": StoredProfile(wifi, "com.example.wifi", "6C3E5F0A-8F12-4B6D-9E51-2A9C0D1E7B10"),
        },
        cmdplans={
            "setup-lab": {
                "profile_names": ["wifi", "vpn"],
                "manifest_urls": ["https://apps.example.com/agent.plist"],
                "device_configured": True,
            },
            "wifi-only": {"profile_names": ["wifi"]},
        },
        refused_cmdplans={"ftp-apps": {"manifest_urls": ["ftp://apps.example.com/a.plist"]}},
        subscriptions={
            "enroll-inventory": {"event": "Enrollment", "workflow": INVENTORY_WF},
            "enroll-plan": {
                "event": "Enrollment",
                "workflow": CMDPLAN_WF,
                "context": "setup-${site:lab}",
            },
            "idle-inventory": {"event": "Idle", "workflow": INVENTORY_WF},
            "stale-inventory": {
                "event": "IdleNotStartedSince",
                "workflow": INVENTORY_WF,
                "event_context": "86400",
            },
        },
        refused_subscriptions={
            # NanoCMD stored it and then skipped it at every Idle: 0 is not a duration.
            "never": {"event": "IdleNotStartedSince", "workflow": INVENTORY_WF},
            "custom": {"event": "Enrollment", "workflow": "com.example.custom.v1"},
        },
        inventory={
            DEVICE_A: {
                "serial_number": "C02XL0GHJGH5",
                "model": "MacBookPro16,1",
                "os_version": "14.4.1",
                "sip_enabled": True,
                "fde_enabled": True,
                "supervised": False,
                "prk": "ABCD-EFGH-IJKL-MNOP-QRST-UVWX",
                "last_source": "InvPRK",
                "modified": "2026-03-01T10:31:02.123456789Z",
            },
            DEVICE_B: {
                "serial_number": "C02ZZ0AAJGH7",
                "model": "Mac14,2",
                LOCK_PIN: "482913",
                "io.micromdm.wf.lock.v1.sent": "2026-02-11T09:00:00Z",
                "last_source": "io.micromdm.wf.lock.v1",
                "modified": "2026-02-11T09:00:00Z",
            },
        },
        identity=generate_identity(),
        starts=[
            (DEVICE_A, INVENTORY_WF, STARTED),
            (DEVICE_A, FVENABLE_WF, STARTED - dt.timedelta(days=2)),
            (DEVICE_B, INVENTORY_WF, STARTED - dt.timedelta(hours=5)),
        ],
        refused_starts=[(DEVICE_B, "com.example.custom.v1", STARTED)],
    )


def nanocmd_answers(dep: Deployment) -> dict[str, Any]:
    """What NanoCMD's API answered for ``dep``'s importable data."""
    return {
        "profiles": {
            n: {"identifier": p.identifier, "uuid": p.uuid} for n, p in dep.profiles.items()
        },
        "cmdplans": {
            name: {k: v for k, v in plan.items() if v not in (None, [], "")}
            for name, plan in dep.cmdplans.items()
        },
        "events": {
            name: {k: v for k, v in sub.items() if v != ""}
            for name, sub in dep.subscriptions.items()
        },
        "inventory": dep.inventory,
    }
