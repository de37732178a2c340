"""Every error the bridge returns is JSON ``{"error": "<what was wrong>"}``, as NanoCMD's API."""

from __future__ import annotations

from fastapi.responses import JSONResponse


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
