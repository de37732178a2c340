"""HTTP Basic auth for the /v1 API, as NanoCMD: user ``nanocmd``, password = the API key; and
the optional HMAC signature check of webhook bodies, as NanoMDM signs them."""

from __future__ import annotations

import base64
import binascii
import hashlib
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


SIGNATURE_HEADER = "X-Hmac-Signature"


class WebhookSignature:
    """NanoMDM's webhook signature: ``X-Hmac-Signature`` = base64 of HMAC-SHA256 of the body.

    Checked on the raw bytes, before anything is parsed or routed; a missing or wrong
    signature is a 401 and the body is dropped.
    """

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def valid(self, body: bytes, header: str | None) -> bool:
        if not header:
            return False
        expected = base64.b64encode(hmac.new(self._key, body, hashlib.sha256).digest())
        return hmac.compare_digest(header.strip().encode(), expected)
