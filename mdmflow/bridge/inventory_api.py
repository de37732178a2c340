"""``GET /v1/inventory`` (and NanoCMD's ``/inventory``): the inventory records of some IDs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from mdmflow.bridge.errors import error
from mdmflow.bridge.state import BridgeState


def inventory_router() -> APIRouter:
    """The route without auth or prefix; the app mounts it under ``/v1`` and at the root."""
    router = APIRouter()

    @router.get("/inventory")
    async def get_inventory(
        request: Request,
        ids: Annotated[list[str], Query(alias="id")] = [],  # noqa: B006
    ) -> JSONResponse:
        """``{"<id>": {key: value}}`` for each ``id`` with values; unknown IDs are left out."""
        wanted = [i for i in (raw.strip() for raw in ids) if i]
        if not wanted:
            return error(400, "no IDs provided")
        state: BridgeState = request.app.state.bridge
        return JSONResponse(await state.inventory.get(wanted))

    return router
