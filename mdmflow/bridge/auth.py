"""HTTP Basic auth for the /v1 API, as NanoCMD: user ``nanocmd``, password = the API key."""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import HTTPException, Request

API_USER = "nanocmd"


class BasicAuth:
    def __init__(self, api_key: str) -> None:
        self._expected = f"{API_USER}:{api_key}".encode()

    async def __call__(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        given = b""
        if scheme.lower() == "basic":
            try:
                given = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                given = b""
        if not hmac.compare_digest(given, self._expected):
            raise HTTPException(
                status_code=401,
                detail="Unauthorized: use HTTP Basic auth with user 'nanocmd' and the API key",
                headers={"WWW-Authenticate": 'Basic realm="nanocmd"'},
            )
