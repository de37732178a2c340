"""``GET /v1/fvenable/profiletemplate``: the built-in FileVault enable profile, as NanoCMD.

An admin edits it and uploads it with ``PUT /v1/profile/io.micromdm.wf.fvenable.v1``; its
certificate placeholder is valid base64, so the upload is accepted as is.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from mdmflow.filevault.profile import CONTENT_TYPE, TEMPLATE


def filevault_router() -> APIRouter:
    router = APIRouter()

    @router.get("/fvenable/profiletemplate")
    async def profile_template() -> Response:
        return Response(TEMPLATE, media_type=CONTENT_TYPE)

    return router
