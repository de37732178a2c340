"""The Temporal Web UI says why, seen in headless Chromium (issue 11, "the Web UI says why").

One real stack wired as ``mdmflow dev`` wires it: the Temporal dev server with its Web UI
pointed at the bridge's codec endpoint (payloads are encrypted; the UI decodes them there),
the worker, the bridge and the simulator. On it a fvenable polls a Mac whose FileVault stays
off and a lock finishes, both started through the bridge's NanoCMD API. Headless Chromium
opens the UI as an admin would; each test saves a screenshot and asserts on what the page
renders (``innerText`` after the UI's own JavaScript ran, Markdown frames included):

- the workflow list, opened through a ``savedQuery`` link, which the UI saves as a view, with
  the search attributes as columns (set the way the UI keeps them: in localStorage);
- the waiting fvenable's User Metadata tab: its current details say why it waits (FileVault
  is not on yet, poll N of 180);
- the finished lock's User Metadata tab: the steps it took, named after the command.

The screenshots land in this module's pytest tmp dir (``webui0/shots``); with
``MDMFLOW_WEBUI_SHOTS_DIR=DIR`` they are copied there too (the README's come from
``MDMFLOW_WEBUI_SHOTS_DIR=docs/webui``). fvenable polls every two minutes and continues as
new every ten polls; here it polls every second in one run (the workflow module's constants
patched for this worker), so it has polled within the test's budget and the page shows "the
next in 0 minutes".
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from mdmflow.activities.lock_models import LOCK_WORKFLOW
from mdmflow.workflows import fvenable, search
from mdmflow.workflows.fvenable_poll import FVENABLE, MAX_POLLS
from mdmflow.workflows.models import STATUS_QUERY, WorkflowStatus
from mdmflow.workflows.results import LockResult
from tests.support.chromium import Browser, Page, chromium_binary, running_chromium
from tests.support.codec import codec_converter
from tests.support.servers import free_port
from tests.support.stack import Stack, running_stack
from tests.support.temporal import binary

NAMESPACE = "default"
DETAILS_VIEWPORT = (1440, 900)
LIST_VIEWPORT = (2200, 480)
"""Wide enough for every column of the list without scrolling."""
FAST_POLL = timedelta(seconds=1)
POLLS_BEFORE_LOOKING = 2
UI_TIMEOUT_S = 20.0
VIEW_NAME = "MDM device workflows"
VIEW_QUERY = "`MdmWorkflowName` IS NOT NULL"
COLUMNS = ["Status", "MdmWorkflowName", "MdmEnrollmentId", "MdmStep", "MdmInstanceId"]
COLUMNS += ["Start", "End"]
"""The list's columns: the search attributes instead of the Workflow ID (``{name}/{id}``)."""
WAITING = re.compile(
    rf"FileVault is not on yet \(poll (?P<poll>\d+) of {MAX_POLLS}; the next in \d+ minutes\)"
)
TABLE_SCRIPT = """JSON.stringify({
  headers: Array.from(document.querySelectorAll('table thead th'), c => c.innerText.trim()),
  rows: Array.from(document.querySelectorAll('table tbody tr'),
                   r => Array.from(r.querySelectorAll('td'), c => c.innerText.trim())),
})"""
ON_SCREEN_SCRIPT = (
    "document.querySelector('table thead th:last-child').getBoundingClientRect().right"
    " <= window.innerWidth"
)


@dataclass
class WebUI:
    base_url: str
    stack: Stack
    browser: Browser
    shots: Path
    fvenable: tuple[str, str]
    """Enrollment ID and instance ID of the waiting fvenable."""
    lock: tuple[str, str]
    """Enrollment ID and instance ID of the finished lock."""

    async def metadata_url(self, name: str, enrollment_id: str) -> str:
        """The workflow's latest run, on the tab with its summary and current details."""
        workflow_id = f"{name}/{enrollment_id}"
        run_id = (await self.stack.client.get_workflow_handle(workflow_id).describe()).run_id
        quoted = urllib.parse.quote(workflow_id, safe="")
        return f"{self.base_url}/namespaces/{NAMESPACE}/workflows/{quoted}/{run_id}/user-metadata"

    async def screenshot(self, page: Page, name: str) -> None:
        path = await page.screenshot(self.shots / name)
        if copy_to := os.environ.get("MDMFLOW_WEBUI_SHOTS_DIR"):
            await asyncio.to_thread(_copy, path, Path(copy_to) / name)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)


@pytest.fixture(scope="module")
async def web_ui(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebUI]:
    chromium_binary()  # skip (fail under CI) before starting anything when it is missing
    tmp = tmp_path_factory.mktemp("webui")
    ui_port, bridge_port = free_port(), free_port()
    ui_origin = f"http://127.0.0.1:{ui_port}"
    token = secrets.token_urlsafe(16)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=codec_converter(),
        search_attributes=list(search.ALL),
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=[
            "--ui-codec-endpoint",
            f"http://127.0.0.1:{bridge_port}/codec/ui/{token}",
        ],
        dev_server_log_level="error",
    )
    try:
        with pytest.MonkeyPatch.context() as patch:
            # The workflow module's own names: the worker runs it unsandboxed, imported once.
            patch.setattr(fvenable, "POLL_INTERVAL", FAST_POLL)
            patch.setattr(fvenable, "POLLS_PER_RUN", MAX_POLLS)  # one run to look at
            async with (
                running_stack(
                    env.client,
                    f"sqlite+aiosqlite:///{tmp / 'app.db'}",
                    devices=2,
                    settings={
                        "listen": f"127.0.0.1:{bridge_port}",
                        "codec_ui_token": token,
                        "codec_cors_origins": ui_origin,
                    },
                ) as stack,
                running_chromium(tmp / "chromium", tmp / "chromium.log") as browser,
            ):
                fv_eid, lock_eid = stack.sim.enrollment_ids()
                device = stack.sim.device(fv_eid)
                device.fde_enabled = False
                device.filevault.recovery_key = None
                device.filevault.enable_after_polls = None  # FileVault never comes on
                fv_instance = await _start(stack, FVENABLE, fv_eid)
                lock_instance = await _start(stack, LOCK_WORKFLOW, lock_eid)
                await env.client.get_workflow_handle(
                    f"{LOCK_WORKFLOW}/{lock_eid}", result_type=LockResult
                ).result()
                fv_handle = env.client.get_workflow_handle(f"{FVENABLE}/{fv_eid}")
                await _until_polled(fv_handle, POLLS_BEFORE_LOOKING)
                shots = tmp / "shots"
                shots.mkdir()
                try:
                    yield WebUI(
                        base_url=ui_origin,
                        stack=stack,
                        browser=browser,
                        shots=shots,
                        fvenable=(fv_eid, fv_instance),
                        lock=(lock_eid, lock_instance),
                    )
                finally:
                    # A polling fvenable would keep the simulator busy past the stack's drain.
                    await fv_handle.terminate("the Web UI test is over")
    finally:
        await env.shutdown()


async def _start(stack: Stack, name: str, enrollment_id: str) -> str:
    """Start through the bridge's NanoCMD API, as an admin would; the instance ID."""
    async with stack.api() as api:
        reply = await api.post(f"/v1/workflow/{name}/start", params={"id": enrollment_id})
    assert reply.status_code == 200, reply.text
    instance_id: str = reply.json()["instance_id"]
    return instance_id


async def _until_polled(handle: WorkflowHandle[Any, Any], polls: int) -> None:
    """Wait until the fvenable has said why it waits after ``polls`` polls."""
    deadline = time.monotonic() + UI_TIMEOUT_S
    while True:
        status = await handle.query(STATUS_QUERY, result_type=WorkflowStatus)
        found = WAITING.search(status.waiting_for or "")
        if found and int(found["poll"]) >= polls:
            return
        assert time.monotonic() < deadline, f"fvenable has not polled {polls} times: {status}"
        await asyncio.sleep(0.2)


async def test_workflow_list_shows_the_search_attribute_columns_in_a_saved_view(
    web_ui: WebUI,
) -> None:
    fv_eid, fv_instance = web_ui.fvenable
    lock_eid, lock_instance = web_ui.lock
    page = await web_ui.browser.new_page(*LIST_VIEWPORT)
    list_url = f"{web_ui.base_url}/namespaces/{NAMESPACE}/workflows"
    await page.goto(list_url)
    columns = [{"label": label, "pinned": label == "Status"} for label in COLUMNS]
    stored = json.dumps({NAMESPACE: columns})
    await page.evaluate(
        f"localStorage.setItem('namespace-workflow-table-columns', {json.dumps(stored)})"
    )
    # ``savedQuery`` in the address saves the query under that name as one of the UI's views.
    params = urllib.parse.urlencode({"query": VIEW_QUERY, "savedQuery": VIEW_NAME})
    await page.goto(f"{list_url}?{params}")
    await page.wait_for_text([VIEW_NAME, fv_eid, lock_eid], UI_TIMEOUT_S)
    await web_ui.screenshot(page, "workflow-list.png")

    saved = json.loads(await page.evaluate("localStorage.getItem('saved-workflow-queries')"))
    assert [(v["name"], v["query"]) for v in saved[NAMESPACE]] == [(VIEW_NAME, VIEW_QUERY)]
    table = json.loads(await page.evaluate(TABLE_SCRIPT))
    assert table["headers"][-len(COLUMNS) :] == COLUMNS
    assert await page.evaluate(ON_SCREEN_SCRIPT), "the last column is cut off in the screenshot"
    rows = {row[-len(COLUMNS) + 2]: row[-len(COLUMNS) :] for row in table["rows"]}
    assert set(rows) == {fv_eid, lock_eid}, table
    status, name, eid, step, instance, started, ended = rows[fv_eid]
    assert (status, name, eid, step, instance) == ("RUNNING", FVENABLE, fv_eid, "poll", fv_instance)
    assert started
    assert not ended
    status, name, eid, _, instance, started, ended = rows[lock_eid]
    assert (status, name, eid, instance) == ("COMPLETED", LOCK_WORKFLOW, lock_eid, lock_instance)
    assert started
    assert ended


async def test_waiting_fvenable_says_why_it_waits(web_ui: WebUI) -> None:
    fv_eid, fv_instance = web_ui.fvenable
    page = await web_ui.browser.new_page(*DETAILS_VIEWPORT)
    await page.goto(await web_ui.metadata_url(FVENABLE, fv_eid))
    text = await page.wait_for_text(
        ["Current Details", "Step poll since", "Waiting: FileVault is not on yet (poll "],
        UI_TIMEOUT_S,
    )
    await web_ui.screenshot(page, "fvenable-waiting.png")

    found = WAITING.search(text)
    assert found is not None, text
    assert int(found["poll"]) >= POLLS_BEFORE_LOOKING
    assert "RUNNING" in text
    assert f"Enable FileVault and escrow the recovery key on {fv_eid}" in text  # the summary
    assert f"Instance {fv_instance}" in text  # the details


async def test_finished_lock_lists_the_steps_it_took(web_ui: WebUI) -> None:
    lock_eid, lock_instance = web_ui.lock
    page = await web_ui.browser.new_page(*DETAILS_VIEWPORT)
    await page.goto(await web_ui.metadata_url(LOCK_WORKFLOW, lock_eid))
    text = await page.wait_for_text(["Current Details", "Done after 1 step(s):"], UI_TIMEOUT_S)
    await web_ui.screenshot(page, "lock-done.png")

    listed = [line.strip() for line in text.split("Done after 1 step(s):", 1)[1].splitlines()]
    assert [line for line in listed if line][:1] == ["DeviceLock"], text
    assert "(none)" not in text
    assert "COMPLETED" in text
    assert f"Instance {lock_instance}" in text
