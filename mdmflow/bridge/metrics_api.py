"""``GET /metrics``: the bridge's metrics for Prometheus.

Served without credentials, as Prometheus scrapes by default: the figures are counts and ages,
nothing about a device or a secret, and ``/webhook`` on the same port takes no credentials
either. Put the bridge behind a proxy that hides ``/metrics`` to keep them private.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from mdmflow.bridge.state import BridgeState


def metrics_router() -> APIRouter:
    router = APIRouter()

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        state: BridgeState = request.app.state.bridge
        body = await state.metrics.render(state.intake.backlog)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
