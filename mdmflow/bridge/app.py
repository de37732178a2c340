"""Build the bridge's ASGI app: ``/webhook``, ``/v1`` and ``/inventory`` (when an API key is
set), ``/codec`` (the payload codec for the Web UI and CLI), ``/metrics``, ``/version``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from temporalio.client import Client

from mdmflow import __version__
from mdmflow.bridge.api import v1_router
from mdmflow.bridge.auth import SIGNATURE_HEADER, BasicAuth, WebhookSignature
from mdmflow.bridge.codec_api import codec_app
from mdmflow.bridge.delivery import WebhookDelivery
from mdmflow.bridge.errors import error
from mdmflow.bridge.events import EventDispatcher
from mdmflow.bridge.intake import Intake, IntakeTiming, IntakeUnavailableError
from mdmflow.bridge.inventory_api import inventory_router
from mdmflow.bridge.metrics_api import metrics_router
from mdmflow.bridge.state import BridgeState
from mdmflow.bridge.webhook import WebhookRejectedError, read_webhook
from mdmflow.config import Settings
from mdmflow.crypto.sealed import SecretBox
from mdmflow.requirements import RequirementChecker
from mdmflow.store.cmdplans import CmdPlanStore
from mdmflow.store.database import Database
from mdmflow.store.intake import IntakeStore
from mdmflow.store.inventory import InventoryStore
from mdmflow.store.payloads import PayloadStore
from mdmflow.store.profiles import ProfileStore
from mdmflow.store.routes import RouteStore
from mdmflow.store.secrets import InventorySecretStore
from mdmflow.store.starts import WorkflowStartStore
from mdmflow.store.subscriptions import SubscriptionStore
from mdmflow.workflows.event_handlers import MDMEventHandler
from mdmflow.workflows.registry import EVENT_HANDLERS

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    client: Client,
    db: Database,
    event_handlers: Sequence[type[MDMEventHandler]] = EVENT_HANDLERS,
    intake_timing: IntakeTiming | None = None,
    intake_store: IntakeStore | None = None,
) -> FastAPI:
    """The bridge app; FastAPI's native OpenTelemetry makes each request a server span that
    joins the caller's trace (``traceparent``), using the process's tracer provider."""
    app = FastAPI(title="mdmflow bridge", version=__version__, docs_url=None, redoc_url=None)
    box = SecretBox(settings.keyring())
    subscriptions = SubscriptionStore(db, box)
    profiles, cmdplans = ProfileStore(db), CmdPlanStore(db)
    secrets = InventorySecretStore(db, box)
    events = EventDispatcher(
        client,
        settings.task_queue,
        subscriptions,
        WorkflowStartStore(db),
        event_handlers,
        checker=RequirementChecker(profiles, cmdplans),
        sealer=secrets,
        engine=settings.engine,
    )
    app.state.bridge = BridgeState(
        settings=settings,
        client=client,
        db=db,
        subscriptions=subscriptions,
        inventory=InventoryStore(db),
        intake=Intake(
            intake_store or IntakeStore(db),
            WebhookDelivery(
                client, RouteStore(db), PayloadStore(db), events, settings.inline_result_bytes
            ),
            intake_timing,
        ),
        profiles=profiles,
        cmdplans=cmdplans,
        secrets=secrets,
    )
    signature = WebhookSignature(settings.webhook_hmac_key) if settings.webhook_hmac_key else None

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return error(400, f"{where}: {first['msg']}")

    @app.get("/version")
    async def version() -> dict[str, str]:
        return {"version": __version__}

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhook")
    async def webhook(request: Request) -> Response:
        """Answer one MDM server event, counted by outcome and timed for ``/metrics``."""
        state: BridgeState = request.app.state.bridge
        with state.metrics.timed_webhook() as timer:
            response = await receive_webhook(request)
            timer.status = response.status_code
        return response

    async def receive_webhook(request: Request) -> Response:
        """Accept one MDM server event: 200 once it is committed to the intake (delivery may
        follow later), 400 for a bad body, 503 only when the app database is down."""
        state: BridgeState = request.app.state.bridge
        limit = state.settings.max_webhook_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return error(413, f"webhook body over {limit} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return error(413, f"webhook body over {limit} bytes")
        if signature is not None and not signature.valid(
            bytes(body), request.headers.get(SIGNATURE_HEADER)
        ):
            log.warning("webhook refused: missing or wrong HMAC signature")
            return error(401, f"Unauthorized: missing or wrong {SIGNATURE_HEADER}")
        try:
            webhook = read_webhook(bytes(body))
        except WebhookRejectedError as exc:
            log.warning("rejected webhook", extra={"reason": str(exc)})
            return error(400, str(exc))
        if webhook is None:
            return Response(status_code=200)
        try:
            await state.intake.receive(webhook, bytes(body))
        except IntakeUnavailableError as exc:
            return error(503, str(exc))
        return Response(status_code=200)

    app.include_router(metrics_router())

    if settings.api_key:
        auth = Depends(BasicAuth(settings.api_key))

        @app.get("/v1/intake", dependencies=[auth])
        async def intake_backlog(request: Request) -> dict[str, object]:
            """Webhooks accepted but not delivered yet, and the recorded outcomes."""
            backlog = await request.app.state.bridge.intake.backlog()
            return {
                "pending": backlog.pending,
                "oldest_pending_age_s": backlog.oldest_pending_age_s,
                "recorded": backlog.recorded,
            }

        app.include_router(v1_router(settings.api_key))
        # NanoCMD serves its inventory at /inventory by mistake; kept for its clients.
        app.include_router(inventory_router(), dependencies=[auth])
    codec = client.data_converter.payload_codec
    if codec is not None:
        app.mount(
            "/codec",
            codec_app(codec, settings.api_key, settings.codec_ui_token, settings.codec_origins),
        )
    return app
