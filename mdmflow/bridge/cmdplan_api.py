"""``/v1/cmdplan/{name}`` and ``/v1/cmdplans``: NanoCMD's command plan API, plus list and
delete (which NanoCMD lacks). A bad plan is a 400 naming the key; a missing plan is a 404."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from mdmflow.bridge.errors import error
from mdmflow.bridge.state import BridgeState
from mdmflow.store.cmdplans import CmdPlan, CmdPlanNotFoundError
from mdmflow.validation import first_error


class InvalidCmdPlanError(ValueError):
    """The plan JSON is not one NanoCMD's cmdplan workflow can send; the text names the key."""


def check_cmdplan(body: bytes) -> CmdPlan:
    """Parse a plan; the error names the key that is wrong."""
    try:
        return CmdPlan.model_validate_json(body or b"")
    except ValidationError as exc:
        raise InvalidCmdPlanError(first_error(exc)) from None


def check_cmdplan_name(name: str) -> str | None:
    """Why ``name`` cannot name a plan (the cmdplan workflow expands ``${param}`` in it)."""
    if "$" in name:
        return (
            "cmdplan name must not contain '$' (the cmdplan workflow expands ${param} in "
            "its context, so such a plan could never be started)"
        )
    return None


def cmdplan_router() -> APIRouter:
    router = APIRouter()

    @router.put("/cmdplan/{name}")
    async def put_cmdplan(name: str, request: Request) -> Response:
        state: BridgeState = request.app.state.bridge
        if (problem := check_cmdplan_name(name)) is not None:
            return error(400, problem)
        try:
            plan = check_cmdplan(await request.body())
        except InvalidCmdPlanError as exc:
            return error(400, str(exc))
        await state.cmdplans.put(name, plan)
        return Response(status_code=204)

    @router.get("/cmdplan/{name}")
    async def get_cmdplan(name: str, request: Request) -> Response:
        """The plan as NanoCMD shows it: empty fields left out."""
        state: BridgeState = request.app.state.bridge
        try:
            plan = await state.cmdplans.get(name)
        except CmdPlanNotFoundError as exc:
            return error(404, str(exc))
        return JSONResponse(plan.model_dump(exclude_defaults=True))

    @router.delete("/cmdplan/{name}")
    async def delete_cmdplan(name: str, request: Request) -> Response:
        state: BridgeState = request.app.state.bridge
        await state.cmdplans.delete(name)
        return Response(status_code=204)

    @router.get("/cmdplans")
    async def list_cmdplans(request: Request) -> JSONResponse:
        state: BridgeState = request.app.state.bridge
        plans = await state.cmdplans.list()
        return JSONResponse({n: p.model_dump(exclude_defaults=True) for n, p in plans.items()})

    return router
