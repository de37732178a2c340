"""The simulator's HTTP API, in the dialect of its mode: NanoMDM's or MicroMDM's.

Replies follow the real servers wherever a client looks (status codes, JSON keys, omitted
empty keys, error strings, auth challenge), because the engine is tested against this fake.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mdmflow.httpserver import serve_app
from mdmflow.simulator.checkin_api import checkin
from mdmflow.simulator.config import SimulatorConfig
from mdmflow.simulator.queue import (
    CommandDecodeError,
    DuplicateCommandError,
    InvalidCommandError,
    decode_command,
)
from mdmflow.simulator.simulator import PushError, Simulator, UnknownEnrollmentError
from mdmflow.telemetry import tracing_enabled

VERSION = "mdmflow-simulator"
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

_Handler = Callable[[Simulator, Request, bytes], Awaitable[Response]]


def create_app(sim: Simulator) -> ASGIApp:
    """The API of ``sim.config.mode`` plus ``GET /version``, ``GET /sim/devices`` and
    ``POST /sim/devices/{id}/checkin`` (the ops routes take the API's credentials).

    Traced like the bridge when this process records spans, so a push's trace continues into
    the device's webhook posts.
    """

    def api(handler: _Handler, *, record: bool = True) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            if record:
                sim.record(request.method, request.url.path, dict(request.query_params), body)
            if not _authorized(request, sim.config):
                return _unauthorized(sim.config)
            if sim.outage:
                return PlainTextResponse("simulated outage\n", status_code=503)
            response = await handler(sim, request, body)
            await sim.settle()
            return response

        return endpoint

    async def version(request: Request) -> Response:
        return JSONResponse({"version": VERSION})

    routes = [
        Route("/version", version),
        Route("/sim/devices", api(_devices, record=False)),
        Route("/sim/devices/{id}/checkin", api(checkin, record=False), methods=["POST"]),
    ]
    if sim.config.mode == "nanomdm":
        routes += [
            Route("/v1/enqueue/{ids:path}", api(_nano_enqueue), methods=_ANY_METHOD),
            Route("/v1/push/{ids:path}", api(_nano_push), methods=_ANY_METHOD),
        ]
    else:
        routes += [
            Route("/v1/commands/{udid}", api(_micro_enqueue), methods=["POST", "PUT"]),
            Route("/v1/commands/{udid}", api(_micro_queue), methods=["GET", "DELETE"]),
            Route("/push/{udid}", api(_micro_push), methods=["GET"]),
            Route("/v1/push/{udid}", api(_micro_push), methods=["POST"]),
        ]
    return TracedWhenEnabled(Starlette(routes=routes))


class TracedWhenEnabled:
    """OpenTelemetry's ASGI middleware around ``app`` while this process records spans, else
    ``app`` alone: with no exporter the middleware's attributes and metric calls are work for
    nobody (6 % of the simulator's samples under the bench's load, as profiled). Decided per
    request, so tracing set up after the app was built still takes effect."""

    def __init__(self, app: ASGIApp) -> None:
        self._plain = app
        self._traced = OpenTelemetryMiddleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._traced if tracing_enabled() else self._plain
        await app(scope, receive, send)


@contextlib.asynccontextmanager
async def run_simulator(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[tuple[Simulator, str]]:
    """Serve a new simulator; yields it and its base URL. Sessions stop when the block exits."""
    async with Simulator(config) as sim, serve_app(create_app(sim), host, port) as url:
        yield sim, url


# -- auth ---------------------------------------------------------------------------------------


def _authorized(request: Request, config: SimulatorConfig) -> bool:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user_ok = hmac.compare_digest(user.encode(), config.auth_user.encode())
    key_ok = hmac.compare_digest(password.encode(), config.api_key.encode())
    return user_ok and key_ok


def _unauthorized(config: SimulatorConfig) -> Response:
    challenge = {"WWW-Authenticate": f'Basic realm="{config.mode}"'}
    if config.mode == "nanomdm":
        return PlainTextResponse("Unauthorized\n", status_code=401, headers=challenge)
    return JSONResponse({"error": "Unauthorized"}, status_code=401, headers=challenge)


# -- NanoMDM --------------------------------------------------------------------------------------


class _NanoResult:
    """NanoMDM's APIResult: per-ID results plus top-level fields, empty keys omitted."""

    def __init__(self, ids: list[str], *, no_push: bool = False) -> None:
        self.ids = ids
        self.no_push = no_push
        self.status: dict[str, dict[str, str]] = {}
        self.command_error = ""
        self.command_uuid = ""
        self.request_type = ""

    def set(self, enrollment_id: str, key: str, value: str) -> None:
        self.status.setdefault(enrollment_id, {})[key] = value

    def push_all(self, sim: Simulator) -> None:
        for enrollment_id in dict.fromkeys(self.ids):
            try:
                self.set(enrollment_id, "push_result", sim.push(enrollment_id))
            except PushError as exc:
                self.set(enrollment_id, "push_error", str(exc))

    def response(self) -> Response:
        if self.command_error:
            code = 500
        else:
            errors = sum(
                1 for r in self.status.values() if "push_error" in r or "command_error" in r
            )
            code = 200 if errors == 0 else 207 if errors < len(self.ids) else 500
        body: dict[str, Any] = {}
        if self.status:
            order = ("push_error", "push_result", "command_error")
            body["status"] = {
                one: {key: r[key] for key in order if key in r} for one, r in self.status.items()
            }
        if self.no_push:
            body["no_push"] = True
        if self.command_error:
            body["command_error"] = self.command_error
        if self.command_uuid:
            body["command_uuid"] = self.command_uuid
            body["request_type"] = self.request_type
        return _nano_json(body, code)


def _nano_json(body: dict[str, Any], code: int) -> Response:
    text = json.dumps(body, indent="\t") + "\n"
    return Response(text, status_code=code, media_type="application/json")


def _path_ids(request: Request) -> list[str]:
    raw = str(request.path_params["ids"])
    return raw.split(",") if raw else []


async def _nano_enqueue(sim: Simulator, request: Request, body: bytes) -> Response:
    ids = _path_ids(request)
    nopush = request.query_params.get("nopush", "") != ""
    if not ids:
        return _nano_json({"command_error": "getting enrollment ids: empty path"}, 500)
    result = _NanoResult(ids, no_push=nopush)
    if not body:
        if nopush:
            result.command_error = "must enqueue or push"
        else:
            result.push_all(sim)
        return result.response()
    try:
        command = decode_command(body)
    except CommandDecodeError as exc:
        return _nano_json({"command_error": f"decoding command: {exc}"}, 500)
    result.command_uuid, result.request_type = command.uuid, command.request_type
    for enrollment_id in ids:
        try:
            sim.enqueue(enrollment_id, command)
        except (UnknownEnrollmentError, DuplicateCommandError) as exc:
            result.set(enrollment_id, "command_error", str(exc))
    if not nopush:
        result.push_all(sim)
    return result.response()


async def _nano_push(sim: Simulator, request: Request, body: bytes) -> Response:
    ids = _path_ids(request)
    if not ids:
        return _nano_json({"push_error": "getting enrollment ids: empty path"}, 500)
    result = _NanoResult(ids)
    result.push_all(sim)
    return result.response()


# -- MicroMDM -------------------------------------------------------------------------------------


def _micro_error(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=500)


async def _micro_enqueue(sim: Simulator, request: Request, body: bytes) -> Response:
    udid = str(request.path_params["udid"])
    try:
        command = decode_command(body)
    except InvalidCommandError:
        return _micro_error("request is malformed")
    except CommandDecodeError as exc:
        return _micro_error(f"parse payload as plist: {exc}")
    try:
        sim.enqueue(udid, command)
    except (UnknownEnrollmentError, DuplicateCommandError) as exc:
        return _micro_error(str(exc))
    with contextlib.suppress(PushError):  # MicroMDM pushes by itself, failures only logged
        sim.push(udid)
    payload = {
        "udid": udid,
        "command_uuid": command.uuid,
        "command": {"request_type": command.request_type},
        "payload": base64.b64encode(body).decode("ascii"),
    }
    return JSONResponse({"payload": payload}, status_code=201)


async def _micro_queue(sim: Simulator, request: Request, body: bytes) -> Response:
    """View or clear a queue; like MicroMDM, an unknown UDID just has an empty queue."""
    udid = str(request.path_params["udid"])
    try:
        queued = sim.queued(udid)
    except UnknownEnrollmentError:
        queued = []
    if request.method == "DELETE":
        if queued:
            sim.clear_queue(udid)
        return JSONResponse({})
    commands = [
        {"uuid": cmd.uuid, "payload": base64.b64encode(cmd.raw).decode("ascii")} for cmd in queued
    ]
    return JSONResponse({"commands": commands})


async def _micro_push(sim: Simulator, request: Request, body: bytes) -> Response:
    try:
        push_id = sim.push(str(request.path_params["udid"]))
    except PushError as exc:
        return _micro_error(str(exc))
    return JSONResponse({"status": "success", "push_notification_id": push_id})


# -- ops ------------------------------------------------------------------------------------------


async def _devices(sim: Simulator, request: Request, body: bytes) -> Response:
    """The fleet at a glance, for the demo and for poking at a running simulator."""
    devices = [
        {
            "id": device.udid,
            "user_channel_id": device.user_enrollment_id,
            "serial_number": device.serial_number,
            "platform": device.platform,
            "model": device.model,
            "os_version": device.os_version,
            "enrolled": device.enrolled,
            "queued": len(sim.queued(device.udid)),
        }
        for device in sim.fleet
    ]
    return JSONResponse({"devices": devices})
