"""HTTP client for the MDM server's enqueue and push APIs (NanoMDM or MicroMDM dialect).

Differences from NanoCMD on purpose: a step's commands are pushed once (nanocmd#8): all but the
last are enqueued with ``nopush``, and the last one's enqueue pushes, so a one-command step is
one request; the JSON reply is read so a per-ID enqueue error fails loudly instead
of being logged and forgotten; the Basic-auth user is configurable (nanohub#11); IDs are
percent-encoded, so user-channel IDs survive.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

NANOMDM_MAX_IDS = 30
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


class MDMClient:
    """One per worker process; holds the pooled HTTP connection to the MDM server."""

    def __init__(self, server: MDMServer, http: httpx.AsyncClient) -> None:
        self._server = server
        self._http = http
        self._auth = httpx.BasicAuth(server.user, server.api_key)

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
            reply = await self._request("PUT", url, content=plist, params=params)
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
        reply = await self._request("POST", _join(self._server.enqueue_url, [one]), content=plist)
        if reply.status_code in (200, 201):
            return
        reason = _error_text(reply)
        if "already exists" in reason or "duplicate" in reason:
            return
        raise MDMRejectedError(f"MicroMDM refused command {command_uuid} for {one}: {reason}")

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            reply = await self._http.request(method, url, auth=self._auth, **kwargs)
        except httpx.HTTPError as exc:
            raise MDMServerError(f"MDM server unreachable ({method} {url}): {exc!r}") from None
        if reply.status_code in (401, 403):
            raise MDMRejectedError(
                f"MDM server refused the credentials for user {self._server.user!r} "
                f"(HTTP {reply.status_code}); check MDMFLOW_ENQUEUE_API_KEY / MDMFLOW_ENQUEUE_USER"
            )
        if reply.status_code == 404:
            raise MDMRejectedError(f"MDM server has no such endpoint: {method} {url} (HTTP 404)")
        if reply.status_code >= 500 and not _is_json(reply):
            raise MDMServerError(f"MDM server failed: {method} {url} HTTP {reply.status_code}")
        return reply


def _is_json(reply: httpx.Response) -> bool:
    try:
        return isinstance(reply.json(), dict)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


def _error_text(reply: httpx.Response) -> str:
    if _is_json(reply):
        body = reply.json()
        return str(body.get("error") or body.get("command_error") or body)
    return f"HTTP {reply.status_code} {reply.text[:200]!r}"


def _check_nanomdm(reply: httpx.Response, ids: list[str], command_uuid: str, what: str) -> None:
    """Read NanoMDM's result JSON: command errors fail, push errors are only logged.

    A 500 may still mean "enqueued, but every push failed", so the status code alone decides
    nothing; the per-ID ``command_error`` does.
    """
    body: dict[str, Any] = reply.json() if _is_json(reply) else {}
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
