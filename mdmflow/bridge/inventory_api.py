"""``GET /v1/inventory`` (and NanoCMD's ``/inventory``): the inventory records of some IDs.

NanoCMD returns FileVault recovery keys and lock PINs to every API caller. Here they are
left out unless the (authenticated) caller asks with ``secrets=1``, and each such read is
logged (which IDs, never the values) so there is a trail of who looked.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from mdmflow.bridge.errors import error
from mdmflow.bridge.state import BridgeState
from mdmflow.crypto.sealed import SealedValueError

log = logging.getLogger(__name__)


def inventory_router() -> APIRouter:
    """The route without auth or prefix; the app mounts it under ``/v1`` and at the root."""
    router = APIRouter()

    @router.get("/inventory")
    async def get_inventory(
        request: Request,
        ids: Annotated[list[str], Query(alias="id")] = [],  # noqa: B006
        secrets: bool = False,
    ) -> JSONResponse:
        """``{"<id>": {key: value}}`` for each ``id`` with values; unknown IDs are left out.

        ``secrets=1`` adds the sealed values (``prk``, ``io.micromdm.wf.lock.v1.pin``).
        """
        wanted = [i for i in (raw.strip() for raw in ids) if i]
        if not wanted:
            return error(400, "no IDs provided")
        state: BridgeState = request.app.state.bridge
        records = await state.inventory.get(wanted)
        if secrets:
            try:
                revealed = await state.secrets.get(wanted)
            except SealedValueError as exc:
                return error(500, str(exc))
            for eid, values in revealed.items():
                records.setdefault(eid, {}).update(values)
            log.info(
                "inventory secrets read",
                extra={"enrollment_ids": ",".join(sorted(revealed)), "count": len(revealed)},
            )
        return JSONResponse(records)

    return router
