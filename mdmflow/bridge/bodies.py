"""Read a request body no larger than a limit, checked while reading (not after)."""

from __future__ import annotations

from fastapi import Request


class BodyTooLargeError(ValueError):
    """The body is over the limit; answered 413."""


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(f"body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLargeError(f"body over {limit} bytes")
    return bytes(body)
