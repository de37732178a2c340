"""``/v1/instances``, ``/v1/enrollments/{id}/workflows`` and the cancel endpoints: thin
handlers over :mod:`mdmflow.bridge.instances`, :mod:`~mdmflow.bridge.instance_listing` and
:mod:`~mdmflow.bridge.instance_cancel`, mapping their errors to NanoCMD-style JSON errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode

from mdmflow.bridge.errors import error
from mdmflow.bridge.instance_cancel import DEFAULT_REASON, cancel_instance, cancel_workflow
from mdmflow.bridge.instance_listing import enrollment_workflows, recent_instances
from mdmflow.bridge.instance_query import UnknownInstanceError
from mdmflow.bridge.instances import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    BadPageTokenError,
    instance_status,
)
from mdmflow.bridge.state import BridgeState
from mdmflow.mdm.limits import LimitError
from mdmflow.workflows.registry import UnknownWorkflowError

MAX_REASON_CHARS = 1000


async def _answer(call: Awaitable[Any]) -> JSONResponse:
    """Run ``call``; its model (or list of models) as JSON, or the error it raised as one."""
    try:
        result = await call
    except UnknownInstanceError as exc:
        return error(404, str(exc))
    except UnknownWorkflowError as exc:
        return error(404, str(exc))
    except (LimitError, BadPageTokenError) as exc:
        return error(400, str(exc))
    except RPCError as exc:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            return error(400, exc.message)
        raise
    if isinstance(result, list):
        return JSONResponse([item.model_dump(mode="json") for item in result])
    assert isinstance(result, BaseModel)
    return JSONResponse(result.model_dump(mode="json"))


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object body, or {} when there is none (reason and IDs may come as query)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


async def _reason_and_ids(request: Request, reason: str | None) -> tuple[str, list[str]]:
    try:
        body = await _body(request)
    except ValueError as exc:
        raise LimitError("body", str(exc)) from None
    text = reason if reason is not None else body.get("reason", DEFAULT_REASON)
    ids = body.get("ids", [])
    if not isinstance(text, str) or len(text) > MAX_REASON_CHARS:
        raise LimitError("reason", f"must be a string of at most {MAX_REASON_CHARS} characters")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise LimitError("ids", "must be a list of strings")
    return text.strip() or DEFAULT_REASON, ids


def status_router() -> APIRouter:
    """The routes without auth or prefix; the /v1 router includes them."""
    router = APIRouter()

    @router.get("/instances/{instance_id}")
    async def get_instance(
        instance_id: str,
        request: Request,
        page_size: int = DEFAULT_PAGE_SIZE,
        next_page_token: str | None = None,
    ) -> JSONResponse:
        """Counts by state and one page of the instance's devices."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            return error(400, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        state: BridgeState = request.app.state.bridge
        return await _answer(instance_status(state.client, instance_id, page_size, next_page_token))

    @router.get("/instances")
    async def list_instances(request: Request, workflow: str = "", limit: int = 20) -> JSONResponse:
        """The workflow's recent instances, newest first."""
        if not workflow:
            return error(400, "workflow is required")
        state: BridgeState = request.app.state.bridge
        return await _answer(recent_instances(state.client, workflow, limit))

    @router.get("/enrollments/{enrollment_id}/workflows")
    async def list_enrollment_workflows(
        enrollment_id: str, request: Request, limit: int = 100
    ) -> JSONResponse:
        """The workflows that run or ran on one enrollment ID."""
        state: BridgeState = request.app.state.bridge
        return await _answer(enrollment_workflows(state.client, enrollment_id, limit))

    @router.post("/instances/{instance_id}/cancel")
    async def cancel_an_instance(
        instance_id: str, request: Request, reason: str | None = None
    ) -> JSONResponse:
        """Cancel every running workflow of the instance: ``{"cancelled", "already_ended", …}``."""
        state: BridgeState = request.app.state.bridge
        try:
            text, _ = await _reason_and_ids(request, reason)
        except LimitError as exc:
            return error(400, str(exc))
        return await _answer(cancel_instance(state.client, instance_id, text))

    @router.post("/workflow/{name}/cancel")
    async def cancel_a_workflow(
        name: str,
        request: Request,
        ids: Annotated[list[str], Query(alias="id")] = [],  # noqa: B006
        reason: str | None = None,
    ) -> JSONResponse:
        """Cancel workflow ``name`` on each ``id`` (query, or ``ids`` in the JSON body)."""
        state: BridgeState = request.app.state.bridge
        try:
            text, more = await _reason_and_ids(request, reason)
        except LimitError as exc:
            return error(400, str(exc))
        wanted = [i for i in (*ids, *more) if i.strip()]
        if not wanted:
            return error(400, "no IDs provided")
        return await _answer(cancel_workflow(state.client, name, wanted, text))

    return router
