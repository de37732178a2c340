"""``/v1/profile/{name}`` and ``/v1/profiles``: NanoCMD's profile subsystem API.

Uploads are validated before they are stored (a profile a device would refuse is a 400 that
names the wrong key); a signed profile's signature is verified and its bytes kept as sent.
Where NanoCMD answers 500 for a missing profile, this answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from mdmflow.bridge.bodies import BodyTooLargeError, read_body
from mdmflow.bridge.errors import error
from mdmflow.bridge.state import BridgeState
from mdmflow.mdm.mobileconfig import PROFILE_MEDIA_TYPE, MobileconfigError, read_mobileconfig
from mdmflow.store.profiles import ProfileNotFoundError

MAX_PROFILE_BYTES = 1024 * 1024
"""Profiles travel inside workflow histories (InstallProfile commands): keep them bounded."""


def check_profile_name(name: str) -> str | None:
    """Why ``name`` cannot name a profile (the profile workflow's context is ``a,b,-c``)."""
    if name != name.strip() or not name:
        return "profile name must not be empty or start or end with spaces"
    if "," in name:
        return "profile name must not contain ',' (the profile workflow's context is a,b,-c)"
    if name.startswith("-"):
        return "profile name must not start with '-' (that marks a removal in a,b,-c)"
    return None


def profile_router() -> APIRouter:
    router = APIRouter()

    @router.put("/profile/{name}")
    async def put_profile(name: str, request: Request) -> Response:
        """Store a .mobileconfig (XML, binary plist, or CMS-signed) under ``name``."""
        state: BridgeState = request.app.state.bridge
        if (problem := check_profile_name(name)) is not None:
            return error(400, problem)
        try:
            profile = read_mobileconfig(await read_body(request, MAX_PROFILE_BYTES))
        except BodyTooLargeError as exc:
            return error(413, f"profile {exc}")
        except MobileconfigError as exc:
            return error(400, str(exc))
        await state.profiles.put(name, profile)
        return Response(status_code=204)

    @router.get("/profile/{name}")
    async def get_profile(name: str, request: Request) -> Response:
        """The profile's bytes exactly as uploaded."""
        state: BridgeState = request.app.state.bridge
        try:
            stored = await state.profiles.get([name])
        except ProfileNotFoundError as exc:
            return error(404, str(exc))
        return Response(stored[name].raw, media_type=PROFILE_MEDIA_TYPE)

    @router.delete("/profile/{name}")
    async def delete_profile(name: str, request: Request) -> Response:
        state: BridgeState = request.app.state.bridge
        await state.profiles.delete(name)
        return Response(status_code=204)

    @router.get("/profiles")
    async def list_profiles(
        request: Request,
        names: Annotated[list[str], Query(alias="name")] = [],  # noqa: B006
    ) -> JSONResponse:
        """``{"<name>": {"identifier", "uuid", "signed"}}`` for the names given, or all."""
        state: BridgeState = request.app.state.bridge
        try:
            wanted = [n for n in names if n]
            infos = await state.profiles.infos(wanted or None)
        except ProfileNotFoundError as exc:
            return error(404, str(exc))
        return JSONResponse({name: info.model_dump() for name, info in infos.items()})

    return router
