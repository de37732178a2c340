"""HTTP client for the MDM server's enqueue and push APIs (NanoMDM or MicroMDM dialect).

Differences from NanoCMD on purpose: a step's commands are pushed once (nanocmd#8): all but the
last are enqueued with ``nopush``, and the last one's enqueue pushes, so a one-command step is
one request; the JSON reply is read so a per-ID enqueue error fails loudly instead
of being logged and forgotten; the Basic-auth user is configurable (nanohub#11); IDs are
percent-encoded, so user-channel IDs survive.

The calls go through aiohttp rather than httpx, which the rest of mdmflow uses: every step
makes one, and measured on this path (a PUT and its JSON answer over loopback keep-alive)
httpx spent 1.6 ms of CPU per request where aiohttp spent 0.1 ms; in the worker's profile
httpx was a fifth of its busy time.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from mdmflow.telemetry import client_span

NANOMDM_MAX_IDS = 30
CONNECT_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 30.0
MAX_CONNECTIONS = 50
KEEP_ALIVE_S = 5.0
"""Idle connections are closed well before any server's own idle timeout (Go's 90 s), so a
request never goes out on a connection the server is closing."""
log = logging.getLogger(__name__)


class MDMServerError(Exception):
    """The MDM server could not be reached or failed; worth retrying with backoff."""


class MDMRejectedError(Exception):
    """The MDM server refused the request for good (bad credentials, rejected command)."""


@dataclass(frozen=True)
class MDMServer:
    enqueue_url: str
    push_url: str
    user: str
    api_key: str
    micromdm: bool = False


def chunks(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


def _join(base: str, ids: Sequence[str]) -> str:
    base = base if base.endswith("/") else base + "/"
    return base + quote(",".join(ids), safe=":,-_.")


@contextlib.asynccontextmanager
async def mdm_session(
    request_timeout_s: float = REQUEST_TIMEOUT_S,
) -> AsyncIterator[aiohttp.ClientSession]:
    """The pooled HTTP session an ``MDMClient`` calls through, closed on exit."""
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEP_ALIVE_S)
    timeout = aiohttp.ClientTimeout(total=request_timeout_s, connect=CONNECT_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield session


@dataclass(frozen=True)
class Reply:
    """An MDM server's answer: its status and its body read whole (they are small)."""

    status_code: int
    body: bytes

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None when it is not one."""
        try:
            parsed = json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        return parsed if isinstance(parsed, dict) else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class MDMClient:
    """One per worker process; calls the MDM server over a pooled ``mdm_session``."""

    def __init__(self, server: MDMServer, http: aiohttp.ClientSession) -> None:
        self._server = server
        self._http = http
        self._headers = {
            "Authorization": aiohttp.encode_basic_auth(server.user, server.api_key),
        }

    async def enqueue(
        self, ids: Sequence[str], command_uuid: str, plist: bytes, *, push: bool
    ) -> None:
        """Queue one command for ``ids``, and with ``push`` wake them in the same request (the
        step's last command); a duplicate of an already-queued UUID counts as done. MicroMDM
        pushes after every enqueue by itself, whatever ``push`` says."""
        if self._server.micromdm:
            for one in ids:
                await self._enqueue_micromdm(one, command_uuid, plist)
            return
        params = {} if push else {"nopush": "1"}
        for chunk in chunks(ids, NANOMDM_MAX_IDS):
            url = _join(self._server.enqueue_url, chunk)
            reply = await self._request("PUT", url, plist, params)
            _check_nanomdm(reply, chunk, command_uuid, what="enqueue")

    async def push(self, ids: Sequence[str]) -> None:
        """Wake the devices; per-ID push errors are logged (the device polls again later)."""
        size = 1 if self._server.micromdm else NANOMDM_MAX_IDS
        for chunk in chunks(ids, size):
            reply = await self._request("GET", _join(self._server.push_url, chunk))
            if self._server.micromdm:
                if reply.status_code >= 400:
                    log.warning(
                        "push failed",
                        extra={"enrollment_id": chunk[0], "reason": _error_text(reply)},
                    )
                continue
            _check_nanomdm(reply, chunk, "", what="push")

    async def _enqueue_micromdm(self, one: str, command_uuid: str, plist: bytes) -> None:
        reply = await self._request("POST", _join(self._server.enqueue_url, [one]), plist)
        if reply.status_code in (200, 201):
            return
        reason = _error_text(reply)
        if "already exists" in reason or "duplicate" in reason:
            return
        raise MDMRejectedError(f"MicroMDM refused command {command_uuid} for {one}: {reason}")

    async def _request(
        self, method: str, url: str, body: bytes = b"", params: dict[str, str] | None = None
    ) -> Reply:
        try:
            with client_span(method, url) as call:
                async with self._http.request(
                    method,
                    url,
                    data=body or None,
                    params=params,
                    headers={**self._headers, **call.headers},
                ) as response:
                    call.answered(response.status)
                    reply = Reply(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MDMServerError(f"MDM server unreachable ({method} {url}): {exc!r}") from None
        if reply.status_code in (401, 403):
            raise MDMRejectedError(
                f"MDM server refused the credentials for user {self._server.user!r} "
                f"(HTTP {reply.status_code}); check MDMFLOW_ENQUEUE_API_KEY / MDMFLOW_ENQUEUE_USER"
            )
        if reply.status_code == 404:
            raise MDMRejectedError(f"MDM server has no such endpoint: {method} {url} (HTTP 404)")
        if reply.status_code >= 500 and reply.json_object() is None:
            raise MDMServerError(f"MDM server failed: {method} {url} HTTP {reply.status_code}")
        return reply


def _error_text(reply: Reply) -> str:
    body = reply.json_object()
    if body is not None:
        return str(body.get("error") or body.get("command_error") or body)
    return f"HTTP {reply.status_code} {reply.text[:200]!r}"


def _check_nanomdm(reply: Reply, ids: list[str], command_uuid: str, what: str) -> None:
    """Read NanoMDM's result JSON: command errors fail, push errors are only logged.

    A 500 may still mean "enqueued, but every push failed", so the status code alone decides
    nothing; the per-ID ``command_error`` does.
    """
    body = reply.json_object() or {}
    if not body and reply.status_code >= 300:
        raise MDMServerError(f"NanoMDM {what} answered HTTP {reply.status_code} without a result")
    top = str(body.get("command_error") or "")
    if top:
        raise MDMRejectedError(f"NanoMDM rejected command {command_uuid}: {top}")
    failed: list[str] = []
    statuses: dict[str, Any] = body.get("status") or {}
    for one in ids:
        entry = statuses.get(one) or {}
        err = str(entry.get("command_error") or "")
        if err and not _already_queued(err, command_uuid):
            failed.append(f"{one}: {err}")
        push_err = entry.get("push_error")
        if push_err:
            log.warning(
                "push error",
                extra={"enrollment_id": one, "reason": str(push_err), "command_uuid": command_uuid},
            )
    if body.get("push_error"):
        log.warning("push error", extra={"reason": str(body["push_error"])})
    if failed:
        raise MDMRejectedError(
            f"NanoMDM did not queue command {command_uuid} for " + "; ".join(failed)
        )


def _already_queued(error: str, command_uuid: str) -> bool:
    """A retried enqueue re-sends the same UUID; NanoMDM then reports it as a duplicate."""
    lowered = error.lower()
    return ("already exists" in lowered or "duplicate" in lowered) and (
        not command_uuid or command_uuid in error or "duplicate" in lowered
    )
