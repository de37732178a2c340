"""Enqueue and push heartbeat all the while they run: behind an MDM server that holds the call
open, beats keep coming, never further apart than the heartbeat timeout allows, so the engine's
short heartbeat timeout catches a dead worker and never a live activity."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.testing import ActivityEnvironment

from mdmflow.activities.heartbeat import HEARTBEAT_INTERVAL_S
from mdmflow.activities.mdm import MDMActivities
from mdmflow.activities.mdm_client import MDMClient, MDMServer, mdm_session
from mdmflow.activities.models import PushRequest
from mdmflow.httpserver import serve_app
from mdmflow.mdm.commands import DeviceInformation, ProfileList, SecurityInfo
from mdmflow.store.database import Database
from mdmflow.workflows import engine
from tests.activities.helpers import activities, step

BEATS_WHILE_HELD = 2
"""Beats seen while the MDM server holds one call before it answers it: while the activity
waits on that call only the background beat can produce them."""
WAIT_SECONDS = 30  # a safety net against hangs only


@dataclass
class SlowNanoMDM:
    """NanoMDM's enqueue and push API, answering only once ``gate`` is set (when ``held``)."""

    held: bool = False
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0
    requests: list[str] = field(default_factory=list)

    async def answer(self, request: Request) -> Response:
        self.requests.append(f"{request.method} {request.url.path}")
        if self.held:
            self.waiting += 1
            try:
                await self.gate.wait()
            finally:
                self.waiting -= 1
        ids = request.path_params["ids"].split(",")
        return JSONResponse({"status": {one: {} for one in ids}})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/enqueue/{ids:path}", self.answer, methods=["PUT"]),
                Route("/v1/push/{ids:path}", self.answer, methods=["GET"]),
            ]
        )


@dataclass
class Beats:
    """Heartbeat times; opens the server's gate after enough beats during a held call."""

    mdm: SlowNanoMDM
    times: list[float] = field(default_factory=list)
    while_held: int = 0

    def __call__(self, *details: Any) -> None:
        self.times.append(asyncio.get_running_loop().time())
        if self.mdm.waiting:
            self.while_held += 1
            if self.while_held >= BEATS_WHILE_HELD:
                self.mdm.gate.set()

    def longest_gap(self, started: float, ended: float) -> float:
        edges = [started, *self.times, ended]
        return max(b - a for a, b in itertools.pairwise(edges))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path}/app.db")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def slow_mdm(db: Database) -> AsyncIterator[tuple[SlowNanoMDM, MDMActivities]]:
    mdm = SlowNanoMDM()
    async with (
        serve_app(mdm.app()) as base,
        mdm_session(request_timeout_s=WAIT_SECONDS) as http,
    ):
        server = MDMServer(f"{base}/v1/enqueue/", f"{base}/v1/push/", "nanomdm", "key")
        yield mdm, activities(MDMClient(server, http), db)


async def run_heartbeating(
    mdm: SlowNanoMDM, run: Callable[[ActivityEnvironment], Awaitable[None]]
) -> tuple[Beats, float]:
    """Run with the server holding every call; returns the beats and the longest silence."""
    beats = Beats(mdm)
    env = ActivityEnvironment()
    env.on_heartbeat = beats
    loop = asyncio.get_running_loop()
    mdm.held = True
    started = loop.time()
    await asyncio.wait_for(run(env), WAIT_SECONDS)
    return beats, beats.longest_gap(started, loop.time())


def test_the_beat_is_well_inside_the_engines_heartbeat_timeout() -> None:
    assert engine.MDM_HEARTBEAT_TIMEOUT.total_seconds() >= 3 * HEARTBEAT_INTERVAL_S


async def test_enqueue_heartbeats_while_the_mdm_server_holds_the_call(
    slow_mdm: tuple[SlowNanoMDM, MDMActivities],
) -> None:
    mdm, acts = slow_mdm
    req = step(["DEVICE-1"], SecurityInfo())
    beats, silence = await run_heartbeating(mdm, lambda env: env.run(acts.enqueue_step, req))
    assert beats.while_held >= BEATS_WHILE_HELD
    assert mdm.requests == ["PUT /v1/enqueue/DEVICE-1"]  # the enqueue pushes
    assert silence < engine.MDM_HEARTBEAT_TIMEOUT.total_seconds() / 2


async def test_push_heartbeats_while_the_mdm_server_holds_the_call(
    slow_mdm: tuple[SlowNanoMDM, MDMActivities],
) -> None:
    mdm, acts = slow_mdm
    req = PushRequest(enrollment_ids=["DEVICE-1", "DEVICE-2"])
    beats, silence = await run_heartbeating(mdm, lambda env: env.run(acts.push, req))
    assert beats.while_held >= BEATS_WHILE_HELD
    assert mdm.requests == ["GET /v1/push/DEVICE-1,DEVICE-2"]
    assert silence < engine.MDM_HEARTBEAT_TIMEOUT.total_seconds() / 2


async def test_an_enqueue_answered_at_once_sends_no_heartbeat(
    slow_mdm: tuple[SlowNanoMDM, MDMActivities],
) -> None:
    """The server's heartbeat timeout counts from the activity's start, so a step enqueued in
    milliseconds needs no beat; one would cost a write on the server every step."""
    mdm, acts = slow_mdm
    commands = (SecurityInfo(), DeviceInformation(queries=["UDID"]), ProfileList())
    req = step(["DEVICE-1"], *commands)
    beats = Beats(mdm)
    env = ActivityEnvironment()
    env.on_heartbeat = beats
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(env.run(acts.enqueue_step, req), WAIT_SECONDS)  # answered at once
    took = loop.time() - started
    assert len(mdm.requests) == len(commands)
    assert beats.times == [] or took >= HEARTBEAT_INTERVAL_S
