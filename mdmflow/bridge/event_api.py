"""``/v1/event/{name}`` and ``/v1/events``: NanoCMD's event subscriptions, plus list and delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from mdmflow.bridge.errors import error
from mdmflow.bridge.state import BridgeState
from mdmflow.store.subscriptions import Subscription
from mdmflow.validation import first_error
from mdmflow.workflows.models import EventType
from mdmflow.workflows.registry import WORKFLOWS


class InvalidSubscriptionError(ValueError):
    pass


def check_subscription(body: bytes) -> Subscription:
    """Parse and validate a subscription; the messages are NanoCMD's where it has one."""
    try:
        sub = Subscription.model_validate_json(body or b"{}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if first["type"] == "missing" and where == "event":
            raise InvalidSubscriptionError("missing event type") from None
        if first["type"] == "missing" and where == "workflow":
            raise InvalidSubscriptionError("missing workflow name") from None
        raise InvalidSubscriptionError(first_error(exc)) from None
    if not sub.event:
        raise InvalidSubscriptionError("missing event type")
    if sub.event not in set(EventType):
        raise InvalidSubscriptionError(f"invalid event type: {sub.event}")
    if not sub.workflow:
        raise InvalidSubscriptionError("missing workflow name")
    if sub.workflow not in WORKFLOWS:
        raise InvalidSubscriptionError("workflow not registered")
    if sub.event == EventType.IDLE_NOT_STARTED_SINCE:
        try:
            seconds = int(sub.event_context)
        except ValueError:
            seconds = 0
        if seconds < 1:
            raise InvalidSubscriptionError(
                "IdleNotStartedSince needs event_context: whole seconds, at least 1"
            )
    return sub


def event_router() -> APIRouter:
    router = APIRouter()

    @router.get("/event/{name}")
    async def get_subscription(name: str, request: Request) -> Response:
        state: BridgeState = request.app.state.bridge
        sub = await state.subscriptions.get(name)
        if sub is None:
            return error(404, f"no event subscription named {name!r}")
        return JSONResponse(sub.model_dump(exclude_defaults=True))

    @router.put("/event/{name}")
    async def put_subscription(name: str, request: Request) -> Response:
        state: BridgeState = request.app.state.bridge
        try:
            sub = check_subscription(await request.body())
        except InvalidSubscriptionError as exc:
            return error(400, str(exc))
        await state.subscriptions.put(name, sub)
        return Response(status_code=204)

    @router.delete("/event/{name}")
    async def delete_subscription(name: str, request: Request) -> Response:
        state: BridgeState = request.app.state.bridge
        await state.subscriptions.delete(name)
        return Response(status_code=204)

    @router.get("/events")
    async def list_subscriptions(request: Request) -> Response:
        state: BridgeState = request.app.state.bridge
        subs = await state.subscriptions.list()
        return JSONResponse(
            {
                s.name: Subscription.model_validate(s.model_dump()).model_dump(
                    exclude_defaults=True
                )
                for s in subs
            }
        )

    return router
