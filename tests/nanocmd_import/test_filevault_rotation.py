"""A Mac that escrowed to NanoCMD is rotated by mdmflow after the import.

The Mac's FileVault escrow names NanoCMD's certificate, and NanoCMD holds its recovery key in
the inventory. After the import, mdmflow's fvrotate unlocks with that key and asks for the new
one encrypted to the same certificate; only the imported private key opens it.
"""

from __future__ import annotations

import plistlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from mdmflow.crypto.sealed import SecretBox
from mdmflow.filevault.identity import generate_identity
from mdmflow.nanocmd_import.command import ImportOptions
from mdmflow.nanocmd_import.decisions import Outcome, Stores
from mdmflow.workflows.fvrotate import FVROTATE
from mdmflow.workflows.models import WorkflowStart
from mdmflow.workflows.results import FileVaultRotateResult
from tests.nanocmd_import.helpers import run_import
from tests.support.codec import TEST_KEYRING
from tests.support.nanocmd_files import NanoCMDFileTree
from tests.support.stack import Stack, running_stack

OLD_KEY = "NCMD-OLD1-OLD2-OLD3-OLD4-OLD5"


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(client, f"sqlite+aiosqlite:///{tmp_path}/app.db", devices=2) as s:
        yield s


async def test_mac_escrowed_to_nanocmd_is_rotated_with_the_imported_key_pair(
    stack: Stack, tmp_path: Path
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    nanocmd = generate_identity()  # NanoCMD's fvkey: self-signed RSA-2048, CN filevault
    tree = NanoCMDFileTree(tmp_path / "db")
    tree.key_pair(nanocmd)
    tree.inventory(eid, {"prk": OLD_KEY, "last_source": "InvPRK", "fde_enabled": True})
    mac = stack.sim.device(eid)
    mac.fde_enabled = True
    mac.filevault.recovery_key = OLD_KEY
    mac.filevault.escrow_certificate = nanocmd.certificate_der  # NanoCMD's fvenable profile
    mac.filevault.cipher = "aes256"
    stores = Stores.of(stack.db, SecretBox(TEST_KEYRING))
    assert await stores.identities.current() is None

    plan = await run_import(
        stack.db, ImportOptions(storage="file", storage_dsn=str(tmp_path / "db"))
    )
    assert [(str(d.kind), d.outcome) for d in plan.decisions] == [
        ("escrow key pair", Outcome.IMPORT),
        ("inventory", Outcome.IMPORT),
    ]
    handle = await stack.client.start_workflow(
        FVROTATE,
        WorkflowStart(enrollment_id=eid, instance_id="after-import"),
        id=f"{FVROTATE}/{eid}",
        task_queue=stack.task_queue,
        result_type=FileVaultRotateResult,
    )
    await handle.result()

    [rotate] = [r for r in stack.sim.requests if b"RotateFileVaultKey" in r.body]
    command = plistlib.loads(rotate.body)["Command"]
    assert command["FileVaultUnlock"]["Password"] == OLD_KEY
    assert command["ReplyEncryptionCertificate"] == nanocmd.certificate_der
    new_key = mac.filevault.recovery_key
    assert new_key not in (None, OLD_KEY)
    async with stack.api() as api:
        record = (await api.get("/v1/inventory", params={"id": eid, "secrets": "1"})).json()[eid]
    assert record["prk"] == new_key  # opened with NanoCMD's private key, as imported
    current = await stores.identities.current()
    assert current is not None
    assert current.certificate_der == nanocmd.certificate_der
