"""``mdmflow import nanocmd`` as an admin runs it on NanoCMD's host: the source from NanoCMD's
own variables, a dry run that writes nothing, the real run, a second run with nothing to do."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mdmflow.store.database import Database
from tests.nanocmd_import.deployment import deployment
from tests.nanocmd_import.helpers import environ_without_settings, table_rows, write_tree
from tests.support.codec import TEST_CODEC_KEY
from tests.support.nanocmd_files import NanoCMDFileTree

MDMFLOW = str(Path(sys.executable).parent / "mdmflow")


async def mdmflow_import(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        MDMFLOW,
        "import",
        "nanocmd",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_dry_run_then_import_then_nothing_left_to_do(tmp_path: Path) -> None:
    write_tree(deployment(), NanoCMDFileTree(tmp_path / "db"))
    database_url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    env = environ_without_settings()
    env |= {
        "NANOCMD_STORAGE": "file",
        "NANOCMD_STORAGE_DSN": str(tmp_path / "db"),
        "MDMFLOW_DATABASE_URL": database_url,
        "MDMFLOW_CODEC_KEY": TEST_CODEC_KEY,
        "MDMFLOW_DATA_DIR": str(tmp_path / "data"),
    }

    code, dry, _ = await mdmflow_import(env, "--dry-run")
    db = await Database.open(database_url)
    try:
        after_dry_run = await table_rows(db)
    finally:
        await db.close()
    code_real, real, _ = await mdmflow_import(env)
    code_again, again, _ = await mdmflow_import(env)

    assert code == 1  # some things cannot come over: the exit status says so
    assert f"NanoCMD file storage at {tmp_path / 'db'} (NanoCMD layout)" in dry
    assert "  dry run: nothing is written" in dry
    assert "  would import  profile 'wifi'\n" in dry
    assert "  would import  profile 'vpn' (signed)\n" in dry
    assert "  not imported  subscription 'custom': workflow not registered" in dry
    assert "  would import  inventory of 2 enrollments" in dry
    assert "\nwarning: subscription 'idle-inventory' (Idle → io.micromdm.wf.inventory.v1)" in dry
    assert dry.endswith(
        "summary: 15 to import, 0 to replace, 0 unchanged, 0 kept, 7 not imported\n"
    )
    assert all(rows == [] for rows in after_dry_run.values())
    for secret in ("ABCD-EFGH-IJKL-MNOP-QRST-UVWX", "482913"):
        assert secret not in dry + real + again

    assert code_real == 1
    assert "  import        profile 'wifi'\n" in real
    assert real.endswith("summary: 15 imported, 0 replaced, 0 unchanged, 0 kept, 7 not imported\n")
    assert code_again == 1
    assert "  import  " not in again
    assert again.endswith("summary: 0 imported, 0 replaced, 15 unchanged, 0 kept, 7 not imported\n")


async def test_a_missing_source_is_one_line(tmp_path: Path) -> None:
    env = environ_without_settings()
    env |= {"MDMFLOW_CODEC_KEY": TEST_CODEC_KEY, "MDMFLOW_DATA_DIR": str(tmp_path)}
    code, out, err = await mdmflow_import(env, "--storage-dsn", str(tmp_path / "nope"))
    mysql_code, _, mysql_err = await mdmflow_import(env, "--storage", "mysql")

    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [
        f"mdmflow: no NanoCMD file storage at {tmp_path / 'nope'}: not a directory"
    ]
    assert mysql_code == 2
    assert "--storage mysql needs --storage-dsn" in mysql_err
