"""The bridge's ``GET /metrics`` over real HTTP: webhooks counted by outcome and timed, API
starts by result, the intake backlog read from the app database at scrape time, and an app
database outage shown rather than failing the scrape."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import httpx
from temporalio.client import Client

from mdmflow.simulator.webhook import signature
from mdmflow.store.intake import IntakeKind, IntakeStore
from tests.bridge.helpers import DEVINFOLOG, acknowledged_body, connect_body, report_plist
from tests.deploy.files import dashboard_metrics
from tests.support.intake import until
from tests.support.metrics import Scrape, scrape
from tests.support.postgres import EphemeralPostgres, unique_database_name
from tests.support.stack import Stack, running_stack

KEY = "metrics-hmac-key"
LIMIT = 2000
HELD = dt.timedelta(minutes=10)
"""A lease long enough that the relay leaves the row pending for the whole test."""
PATIENCE_S = 30.0
"""Bounds the age of a webhook committed during the test."""
PROFILE = "io.micromdm.wf.profile.v1"


def idle_body(udid: str) -> bytes:
    return connect_body(status="Idle", udid=udid, raw=report_plist("Idle", udid), channel_id=udid)


def signed(body: bytes) -> dict[str, str]:
    return {"X-Hmac-Signature": signature(KEY, body)}


def webhooks(before: Scrape, after: Scrape) -> dict[str, float]:
    outcomes = ["accepted", "rejected", "too_large", "unauthorized", "unavailable", "error"]
    return {
        o: after.value("mdmflow_webhooks_total", outcome=o)
        - before.value("mdmflow_webhooks_total", outcome=o)
        for o in outcomes
    }


async def pending_in_intake(stack: Stack) -> int:
    async with stack.api() as api:
        reply = await api.get("/v1/intake")
    assert reply.status_code == 200, reply.text
    return int(reply.json()["pending"])


async def test_webhooks_starts_and_backlog_are_counted(client: Client, tmp_path: Path) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        settings={"webhook_hmac_key": KEY, "max_webhook_bytes": LIMIT},
        simulator={"webhook_hmac_key": KEY, "not_now_rate": 1.0},
    ) as stack:
        eid, other, _ = stack.sim.enrollment_ids()
        metrics_url = f"{stack.bridge_url}/metrics"
        before = await scrape(metrics_url)
        assert before.value("mdmflow_webhooks_total", outcome="accepted") == 0
        assert dashboard_metrics("mdmflow_") <= before.names, "the dashboard queries these"

        async with httpx.AsyncClient(base_url=stack.bridge_url, timeout=30) as http:
            for body in [idle_body(eid), idle_body(other), acknowledged_body(eid, "nobody-waits")]:
                assert (await http.post("/webhook", content=body, headers=signed(body))).is_success
            assert (
                await http.post("/webhook", content=b"{}", headers=signed(b"{}"))
            ).status_code == 400
            big = b"x" * (LIMIT + 1)
            assert (
                await http.post("/webhook", content=big, headers=signed(big))
            ).status_code == 413
            unsigned = idle_body(eid)
            assert (await http.post("/webhook", content=unsigned)).status_code == 401
        after = await scrape(metrics_url)
        assert webhooks(before, after) == {
            "accepted": 3,
            "rejected": 1,
            "too_large": 1,
            "unauthorized": 1,
            "unavailable": 0,
            "error": 0,
        }
        timed = after.value("mdmflow_webhook_duration_seconds_count") - before.value(
            "mdmflow_webhook_duration_seconds_count"
        )
        assert timed == 6, "every answer is timed"
        assert after.value("mdmflow_webhook_duration_seconds_sum") > before.value(
            "mdmflow_webhook_duration_seconds_sum"
        )
        assert after.value("mdmflow_intake_recorded", outcome="unrouted") == 1

        # A webhook a bridge committed and has not delivered: the backlog as the gauges say.
        # (Before any workflow starts, so no device is posting reports meanwhile.)
        async def drained() -> bool:  # an inline delivery may still be finishing
            return await pending_in_intake(stack) == 0

        await until(drained)
        body = acknowledged_body(eid, "held")
        await IntakeStore(stack.db).accept(IntakeKind.REPORT, eid, "held", body, HELD)
        backlog = await scrape(metrics_url)
        assert backlog.value("mdmflow_intake_pending") == 1
        age = backlog.value("mdmflow_intake_oldest_pending_age_seconds")
        assert 0 < age < PATIENCE_S
        assert backlog.value("mdmflow_app_database_up") == 1

        async with stack.api() as api:
            start = f"/v1/workflow/{DEVINFOLOG}/start"
            assert (await api.post(start, params={"id": [eid, other]})).status_code == 200
            assert (await api.post(start, params={"id": [eid]})).status_code == 409
            missing = {"id": [eid, other, "third"], "context": "no-such-profile"}
            refused = await api.post(f"/v1/workflow/{PROFILE}/start", params=missing)
            assert refused.status_code == 400, refused.text
            unknown = await api.post("/v1/workflow/io.example.nope/start", params={"id": eid})
            assert unknown.status_code == 400
        starts = await scrape(metrics_url)

        def moved(workflow: str, result: str) -> float:
            name = "mdmflow_workflow_starts_total"
            return starts.value(name, workflow=workflow, result=result) - before.value(
                name, workflow=workflow, result=result
            )

        assert moved(DEVINFOLOG, "started") == 2
        assert moved(DEVINFOLOG, "already_running") == 1
        assert moved(PROFILE, "refused") == 3
        assert moved("unknown", "refused") == 1
        assert starts.total("mdmflow_workflow_starts_total", workflow="io.example.nope") == 0


async def test_a_database_outage_is_counted_and_shown_in_the_scrape(
    client: Client, postgres_server: EphemeralPostgres
) -> None:
    name = unique_database_name()
    url = await asyncio.to_thread(postgres_server.create_database, name)
    async with running_stack(client, url, devices=1) as stack:
        [eid] = stack.sim.enrollment_ids()
        metrics_url = f"{stack.bridge_url}/metrics"
        before = await scrape(metrics_url)
        assert before.value("mdmflow_app_database_up") == 1
        await asyncio.to_thread(postgres_server.drop_database, name)
        async with httpx.AsyncClient(base_url=stack.bridge_url, timeout=30) as http:
            assert (await http.post("/webhook", content=idle_body(eid))).status_code == 503
        after = await scrape(metrics_url)
    assert webhooks(before, after)["unavailable"] == 1
    assert after.value("mdmflow_app_database_up") == 0
