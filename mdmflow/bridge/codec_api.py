"""The remote codec endpoints: the Web UI and the ``temporal`` CLI decode payloads here.

Same shape as samples-python ``encryption/codec_server.py``: ``POST …/encode`` and
``POST …/decode`` take and return ``{"payloads": [...]}`` in Temporal's JSON form, using the
bridge client's own codec (so the same key ring as every worker). They are mounted under
``/codec`` as a sub-app, so CORS for the Web UI's origin applies to them and nothing else.

Who may call them: the CLI sends HTTP Basic with the API key (``--codec-auth``); the Web UI
(which cannot send credentials from a dev server) uses ``/codec/ui/<token>`` when
``MDMFLOW_CODEC_UI_TOKEN`` is set. Without either the endpoints answer 401.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from google.protobuf.json_format import MessageToJson, Parse, ParseError
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from mdmflow.bridge.auth import BasicAuth
from mdmflow.bridge.errors import error
from mdmflow.crypto.codec import CodecError

Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


def codec_app(codec: PayloadCodec, api_key: str, ui_token: str, origins: list[str]) -> FastAPI:
    """The sub-app to mount at ``/codec``."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["Content-Type", "X-Namespace", "Authorization"],
            allow_credentials=True,
        )

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    if api_key:
        app.include_router(_routes(codec), dependencies=[Depends(BasicAuth(api_key))])
    if ui_token:
        app.include_router(
            _routes(codec), prefix="/ui/{token}", dependencies=[Depends(UiToken(ui_token))]
        )
    return app


class UiToken:
    """The capability in the Web UI's codec URL, compared in constant time."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def __call__(self, token: str) -> None:
        if not hmac.compare_digest(token.encode(), self._token):
            raise HTTPException(status_code=401, detail="Unauthorized: unknown codec token")


def _routes(codec: PayloadCodec) -> APIRouter:
    router = APIRouter()

    @router.post("/encode")
    async def encode(request: Request) -> Response:
        return await _transform(request, codec.encode)

    @router.post("/decode")
    async def decode(request: Request) -> Response:
        return await _transform(request, codec.decode)

    return router


async def _transform(request: Request, transform: Transform) -> Response:
    body = await request.body()
    try:
        payloads = Parse(body, Payloads())
    except (ParseError, UnicodeDecodeError) as exc:
        return error(400, f'expected {{"payloads": [...]}} in Temporal\'s JSON form: {exc}')
    try:
        result = await transform(list(payloads.payloads))
    except CodecError as exc:
        return error(400, str(exc))
    return Response(MessageToJson(Payloads(payloads=result)), media_type="application/json")
