"""The example profile ``mdmflow dev`` seeds: stored once (never over an operator's own), and
the banner's command really installs it on a simulated device and ``-example`` removes it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from temporalio.client import Client

from mdmflow.cli.example_profile import (
    EXAMPLE_IDENTIFIER,
    EXAMPLE_NAME,
    example_banner,
    seed_example_profile,
)
from mdmflow.store.profiles import ProfileStore
from mdmflow.workflows.profile_plan import PROFILE, ProfileAction, ProfileResult
from tests.bridge.helpers import seed_for
from tests.support.stack import API_KEY, Stack, running_stack
from tests.workflows.content import mobileconfig, upload_profile


async def run_banner_command(stack: Stack, eid: str, context: str) -> ProfileResult:
    banner = example_banner(stack.bridge_url, API_KEY, eid)
    match = re.search(r"curl -u nanocmd:(\S+) -X POST '([^']+)'", banner)
    assert match is not None, banner
    assert match.group(1) == API_KEY
    url = match.group(2).replace(f"context={EXAMPLE_NAME}", f"context={context}")
    async with stack.api() as api:
        reply = await api.post(url)
    assert reply.status_code == 200, reply.text
    handle = stack.client.get_workflow_handle(f"{PROFILE}/{eid}", result_type=ProfileResult)
    result: ProfileResult = await handle.result()
    await stack.sim.wait_until_quiet()
    return result


async def test_banner_command_installs_and_removes_the_example(
    client: Client, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        simulator={"seed": seed_for(request)},
    ) as stack:
        assert await seed_example_profile(stack.settings.database_url)
        assert not await seed_example_profile(stack.settings.database_url)  # once only
        [eid] = stack.sim.enrollment_ids()

        installed = await run_banner_command(stack, eid, EXAMPLE_NAME)
        assert [(o.name, o.action) for o in installed.profiles] == [
            (EXAMPLE_NAME, ProfileAction.INSTALLED)
        ]
        assert EXAMPLE_IDENTIFIER in stack.sim.device(eid).profiles

        removed = await run_banner_command(stack, eid, f"-{EXAMPLE_NAME}")
        assert [o.action for o in removed.profiles] == [ProfileAction.REMOVED]
        assert EXAMPLE_IDENTIFIER not in stack.sim.device(eid).profiles


async def test_an_operators_own_example_is_never_overwritten(
    client: Client, tmp_path: Path
) -> None:
    async with running_stack(client, f"sqlite+aiosqlite:///{tmp_path}/app.db", devices=0) as stack:
        own = mobileconfig("com.example.own", "OWN-1")
        async with stack.api() as api:
            await upload_profile(api, EXAMPLE_NAME, own)
        assert not await seed_example_profile(stack.settings.database_url)
        stored = await ProfileStore(stack.db).get([EXAMPLE_NAME])
        assert stored[EXAMPLE_NAME].raw == own
