"""Importing NanoCMD's file storage: everything comes over, the API answers as NanoCMD's did,
a second run changes nothing, nothing is overwritten without ``--overwrite``, and what cannot
come over is listed with the reason."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from temporalio.client import Client

from mdmflow.crypto.sealed import SecretBox
from mdmflow.filevault.identity import EscrowIdentity, generate_identity
from mdmflow.mdm.mobileconfig import read_mobileconfig
from mdmflow.nanocmd_import.command import ImportOptions
from mdmflow.nanocmd_import.decisions import Kind, Outcome, Stores
from mdmflow.nanocmd_import.files import read_file_storage
from mdmflow.nanocmd_import.report import render
from mdmflow.store.cmdplans import CmdPlan
from mdmflow.store.database import Database
from mdmflow.store.schema import filevault_escrow
from mdmflow.store.subscriptions import Subscription
from mdmflow.workflows.registry import WORKFLOWS
from tests.nanocmd_import.deployment import (
    DEVICE_A,
    DEVICE_B,
    INVENTORY_WF,
    STARTED,
    deployment,
    nanocmd_answers,
    profile_bytes,
)
from tests.nanocmd_import.helpers import (
    bridge_api,
    mdmflow_answers,
    run_import,
    table_rows,
    write_tree,
)
from tests.support.codec import TEST_KEYRING
from tests.support.nanocmd_files import NanoCMDFileTree


def tree_at(tmp_path: Path, layout: str = "NanoCMD") -> Path:
    root = tmp_path / "db"
    write_tree(deployment(), NanoCMDFileTree(root, layout))
    return root


def refusals(plan_decisions: list[tuple[str, str, str]]) -> dict[tuple[str, str], str]:
    return {(kind, name): reason for kind, name, reason in plan_decisions}


async def test_imported_tree_answers_as_nanocmds_api_did(
    client: Client, database_url: str, tmp_path: Path
) -> None:
    dep = deployment()
    root = tree_at(tmp_path)
    db = await Database.open(database_url)
    try:
        plan = await run_import(db, ImportOptions(storage="file", storage_dsn=str(root)))
        stores = Stores.of(db, SecretBox(TEST_KEYRING))
        identity = await stores.identities.current()
        started = await stores.starts.last_started(DEVICE_A, INVENTORY_WF)
    finally:
        await db.close()

    async with bridge_api(client, database_url) as api:
        assert await mdmflow_answers(api, dep) == nanocmd_answers(dep)
        listed = (await api.get("/v1/profiles")).json()
        assert {n: p["signed"] for n, p in listed.items()} == {
            "binary": False,
            "vpn": True,
            "wifi": False,
        }
        for name, profile in dep.profiles.items():  # bytes exactly as NanoCMD kept them
            assert (await api.get(f"/v1/profile/{name}")).content == profile.raw
        hidden = (await api.get("/v1/inventory", params={"id": DEVICE_A})).json()[DEVICE_A]
        assert "prk" not in hidden
        assert hidden["model"] == "MacBookPro16,1"

    assert identity is not None
    assert identity.certificate_der == dep.identity.certificate_der
    assert identity.private_key.private_numbers() == dep.identity.private_key.private_numbers()
    assert started == STARTED.replace(microsecond=0)  # Go's nanoseconds: .000000789 s
    refused = refusals(
        [(str(d.kind), d.name, d.detail) for d in plan.decisions if d.outcome is Outcome.REFUSED]
    )
    assert set(refused) == {
        ("profile", "loose"),
        ("profile", "a,b"),
        ("cmdplan", "ftp-apps"),
        ("subscription", "never"),
        ("subscription", "custom"),
        ("last started", f"{DEVICE_B} com.example.custom.v1"),
        ("step", "io.micromdm.wf.fvenable.v1 step 'poll' (instance inst-fv)"),
    }
    assert "PayloadContent[0]: PayloadUUID is empty" in refused[("profile", "loose")]
    assert "must not contain ','" in refused[("profile", "a,b")]
    assert "not an http(s) URL" in refused[("cmdplan", "ftp-apps")]
    assert "event_context: whole seconds, at least 1" in refused[("subscription", "never")]
    assert "workflow not registered" in refused[("subscription", "custom")]
    step = refused[("step", "io.micromdm.wf.fvenable.v1 step 'poll' (instance inst-fv)")]
    assert "MAC-WAITING" in step
    assert "MAC-DONE" not in step  # it answered; only the waiting Mac is named
    assert "not migrated" in step
    assert not plan.complete


async def test_second_run_changes_nothing(database: Database, tmp_path: Path) -> None:
    options = ImportOptions(storage="file", storage_dsn=str(tree_at(tmp_path)))
    first = await run_import(database, options)
    after_first = await table_rows(database)
    second = await run_import(database, options)

    assert await table_rows(database) == after_first
    assert sum(len(rows) for rows in after_first.values()) > 0
    assert {d.outcome for d in first.decisions} == {Outcome.IMPORT, Outcome.REFUSED}
    assert {d.outcome for d in second.decisions} == {Outcome.UNCHANGED, Outcome.REFUSED}
    assert [d for d in second.decisions if d.outcome is Outcome.REFUSED] == [
        d for d in first.decisions if d.outcome is Outcome.REFUSED
    ]
    text = render(second, target="app", dry_run=False)
    assert "summary: 0 imported, 0 replaced, 15 unchanged, 0 kept, 7 not imported" in text
    assert "unchanged     3 profiles, 2 cmdplans, 4 subscriptions, 1 escrow key pair" in text


async def test_what_mdmflow_holds_is_kept_unless_overwrite(
    database: Database, tmp_path: Path
) -> None:
    dep = deployment()
    box = SecretBox(TEST_KEYRING)
    stores = Stores.of(database, box)
    ours = profile_bytes("com.example.wifi", "11111111-2222-4333-8444-555555555555")
    await stores.profiles.put("wifi", read_mobileconfig(ours))
    await stores.cmdplans.put("wifi-only", CmdPlan(profile_names=["binary"]))
    await stores.subscriptions.put(
        "enroll-inventory", Subscription(event="TokenUpdate", workflow=INVENTORY_WF)
    )
    await stores.inventory.merge(DEVICE_A, {"model": "Mac15,3", "os_version": "14.4.1"})
    await stores.secrets.put(DEVICE_A, {"prk": "MINE-MINE-MINE-MINE-MINE-MINE"})
    mdmflows_own = await stores.identities.get_or_create()
    later = STARTED + dt.timedelta(hours=1)
    await stores.starts.record(DEVICE_A, INVENTORY_WF, f"{INVENTORY_WF}/{DEVICE_A}", later)
    options = ImportOptions(storage="file", storage_dsn=str(tree_at(tmp_path)))

    kept = await run_import(database, options)
    assert {(str(d.kind), d.name) for d in kept.decisions if d.outcome is Outcome.KEPT} == {
        ("profile", "wifi"),
        ("cmdplan", "wifi-only"),
        ("subscription", "enroll-inventory"),
        ("inventory", DEVICE_A),
        ("escrow key pair", "fvkey"),
    }
    inventory_kept = next(d for d in kept.decisions if d.kind is Kind.INVENTORY and d.detail)
    assert inventory_kept.detail.startswith("mdmflow already has other values for model, prk")
    assert (await stores.profiles.get(["wifi"]))["wifi"].raw == ours
    assert (await stores.secrets.get_one(DEVICE_A, "prk")) == "MINE-MINE-MINE-MINE-MINE-MINE"
    record = (await stores.inventory.get([DEVICE_A]))[DEVICE_A]
    assert record["model"] == "Mac15,3"
    assert record["serial_number"] == "C02XL0GHJGH5"  # keys mdmflow lacked came over
    still = await stores.identities.current()
    assert still is not None
    assert still.certificate_der == mdmflows_own.certificate_der
    # mdmflow's start is later than NanoCMD's: it is the current one, not a conflict
    assert await stores.starts.last_started(DEVICE_A, INVENTORY_WF) == later

    replaced = await run_import(database, options, overwrite=True)
    outcomes = {(str(d.kind), d.name): d.outcome for d in replaced.decisions}
    assert outcomes[("profile", "wifi")] is Outcome.REPLACE
    assert outcomes[("escrow key pair", "fvkey")] is Outcome.REPLACE
    assert replaced.complete is False  # the refusals stay
    assert (await stores.profiles.get(["wifi"]))["wifi"].raw == dep.profiles["wifi"].raw
    assert await stores.cmdplans.get("wifi-only") == CmdPlan(profile_names=["wifi"])
    assert (await stores.secrets.get_one(DEVICE_A, "prk")) == dep.inventory[DEVICE_A]["prk"]
    assert (await stores.inventory.get([DEVICE_A]))[DEVICE_A]["model"] == "MacBookPro16,1"
    current = await stores.identities.current()
    assert current is not None
    assert current.certificate_der == dep.identity.certificate_der
    kept_as = await _other_identities(database, box)
    assert [i.certificate_der for i in kept_as.values()] == [mdmflows_own.certificate_der]
    assert all(name.startswith("replaced-") for name in kept_as)


async def _other_identities(db: Database, box: SecretBox) -> dict[str, EscrowIdentity]:
    """Identities kept under another name, opened with the context of that name."""
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(filevault_escrow))).mappings().all()
    return {
        row["name"]: EscrowIdentity.from_pem(
            bytes(row["certificate_der"]),
            box.open(row["private_key_sealed"], f"filevault_escrow/{row['name']}"),
        )
        for row in rows
        if row["name"] != "default"
    }


def test_nanohub_layout_reads_as_nanocmds(tmp_path: Path) -> None:
    nanocmd = read_file_storage(tree_at(tmp_path / "a"), WORKFLOWS)
    nanohub = read_file_storage(tree_at(tmp_path / "b", "NanoHUB"), WORKFLOWS)

    assert "(NanoHUB layout)" in nanohub.source
    assert "(NanoCMD layout)" in nanocmd.source
    for part in ("profiles", "cmdplans", "subscriptions", "inventory", "starts", "steps"):
        assert getattr(nanohub, part) == getattr(nanocmd, part), part
        assert getattr(nanocmd, part), part
    assert nanohub.key_pair == nanocmd.key_pair is not None


async def test_damaged_records_are_listed_not_fatal(database: Database, tmp_path: Path) -> None:
    root = tmp_path / "db"
    tree = NanoCMDFileTree(root)
    tree.profile(
        "ok",
        profile_bytes("com.example.ok", "AAAAAAAA-0000-4000-8000-000000000001"),
        "com.example.ok",
        "AAAAAAAA-0000-4000-8000-000000000001",
    )
    (root / "profile" / "id.half").write_text("com.example.half")  # no raw., no uuid.
    (root / "inventory").mkdir()
    (root / "inventory" / DEVICE_B).write_text("{not json")
    (root / "fvkey").mkdir()
    (root / "fvkey" / "cert").write_bytes(generate_identity().certificate_der)  # no key
    plan = await run_import(database, ImportOptions(storage="file", storage_dsn=str(root)))

    refused = {
        (str(d.kind), d.name): d.detail for d in plan.decisions if d.outcome is Outcome.REFUSED
    }
    assert refused[("profile", "half")] == "incomplete record: raw.half is missing"
    assert refused[("inventory", DEVICE_B)].startswith("not JSON")
    assert refused[("escrow key pair", "fvkey")] == "incomplete: key is missing"
    assert [d.name for d in plan.decisions if d.outcome is Outcome.IMPORT] == ["ok"]
