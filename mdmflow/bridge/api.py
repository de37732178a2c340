"""NanoCMD's ``/v1`` API on Temporal: thin handlers that call one function each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from mdmflow.bridge.auth import BasicAuth
from mdmflow.bridge.cmdplan_api import cmdplan_router
from mdmflow.bridge.errors import error
from mdmflow.bridge.event_api import event_router
from mdmflow.bridge.filevault_api import filevault_router
from mdmflow.bridge.inventory_api import inventory_router
from mdmflow.bridge.profile_api import profile_router
from mdmflow.bridge.state import BridgeState
from mdmflow.bridge.status_api import status_router
from mdmflow.starter.start import AllAlreadyRunningError, StartError, start_workflows
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
        """Start workflow ``name`` on every ``id``; one instance ID covers them all."""
        state: BridgeState = request.app.state.bridge
        count = state.metrics.count_starts
        try:
            outcome = await start_workflows(
                state.client,
                state.settings.task_queue,
                name,
                ids,
                context,
                checker=state.checker,
                sealer=state.secrets,
                engine=state.settings.engine,
            )
        except (UnknownWorkflowError, StartError) as exc:
            count(name, "refused", len({i.strip() for i in ids if i.strip()}))
            return error(400, str(exc))
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
