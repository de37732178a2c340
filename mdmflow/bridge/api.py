"""NanoCMD's ``/v1`` API on Temporal: thin handlers that call one function each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from mdmflow.bridge.auth import BasicAuth
from mdmflow.bridge.bodies import BodyTooLargeError, read_body
from mdmflow.bridge.cmdplan_api import cmdplan_router
from mdmflow.bridge.errors import error
from mdmflow.bridge.event_api import event_router
from mdmflow.bridge.filevault_api import filevault_router
from mdmflow.bridge.inventory_api import inventory_router
from mdmflow.bridge.profile_api import profile_router
from mdmflow.bridge.state import BridgeState
from mdmflow.bridge.status_api import status_router
from mdmflow.starter.fleet import start_fleet
from mdmflow.starter.ids import MAX_START_BODY_BYTES, MAX_START_IDS, IdListError, parse_ids
from mdmflow.starter.start import (
    AllAlreadyRunningError,
    StartError,
    prepare_start,
    start_prepared,
    unique_ids,
)
from mdmflow.workflows.registry import UnknownWorkflowError


def v1_router(api_key: str) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(BasicAuth(api_key))])

    @router.post("/workflow/{name}/start")
    async def start_workflow(
        name: str,
        request: Request,
        ids: Annotated[list[str], Query(alias="id")] = [],  # noqa: B006
        context: str = "",
    ) -> JSONResponse:
        """Start workflow ``name`` on every ID (``?id=`` and the body: a JSON list, or one per
        line); one instance ID covers them all. Up to ``MDMFLOW_FLEET_START_THRESHOLD`` IDs
        the answer waits for every start, as NanoCMD's; more are answered 202 at once and a
        fan-out workflow starts them."""
        state: BridgeState = request.app.state.bridge
        count = state.metrics.count_starts
        try:
            body = await read_body(request, MAX_START_BODY_BYTES)
            json_list = request.headers.get("content-type", "").startswith("application/json")
            every = [*ids, *(parse_ids(body, json_list) if body.strip() else [])]
            if len(every) > MAX_START_IDS:
                raise IdListError(f"more than {MAX_START_IDS:,} IDs in one start")
            prepared = await prepare_start(
                name,
                every,
                context,
                checker=state.checker,
                sealer=state.secrets,
                engine=state.settings.engine,
            )
        except BodyTooLargeError as exc:
            return error(413, f"start {exc}")
        except (UnknownWorkflowError, StartError, IdListError) as exc:
            count(name, "refused", len(unique_ids(ids)))
            return error(400, str(exc))
        if len(prepared.starts) > state.settings.fleet_start_threshold:
            accepted = await start_fleet(
                state.client,
                state.settings.task_queue,
                state.fleet_ids,
                prepared,
                state.settings.start_rate,
            )
            count(name, "fanned_out", accepted.total)
            return JSONResponse(accepted.model_dump(), status_code=202)
        try:
            outcome = await start_prepared(state.client, state.settings.task_queue, prepared)
        except AllAlreadyRunningError as exc:
            count(name, "already_running", exc.running)
            return error(409, str(exc))
        count(name, "started", len(outcome.started))
        count(name, "already_running", len(outcome.already_running))
        return JSONResponse(outcome.model_dump())

    router.include_router(event_router())
    router.include_router(inventory_router())
    router.include_router(profile_router())
    router.include_router(cmdplan_router())
    router.include_router(filevault_router())
    router.include_router(status_router())
    return router
