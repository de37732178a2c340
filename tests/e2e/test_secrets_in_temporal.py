"""Secrets never leak: after real lock, fvenable and fvrotate runs, the histories Temporal
stores hold no PIN or recovery key (read raw, by a client without the codec), the codec
endpoint decodes them for an authorised caller, and no log line carries a secret."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from mdmflow.crypto.codec import ENCODING
from mdmflow.telemetry import JSONFormatter
from mdmflow.workflows.fvenable_poll import FVENABLE, FileVaultEnableResult
from mdmflow.workflows.fvrotate import FVROTATE
from mdmflow.workflows.inventory_values import INVENTORY_EVENTS
from mdmflow.workflows.models import WorkflowStart
from mdmflow.workflows.results import FileVaultRotateResult, LockResult
from tests.support.runs import runs
from tests.support.stack import API_KEY, ClockHold, Stack, running_stack

LOCK = "io.micromdm.wf.lock.v1"
UI_TOKEN = "ui-token-for-tests"
UI_ORIGIN = "http://127.0.0.1:8233"
SDK_BOOKKEEPING = (
    "search_attributes.indexed_fields",
    "marker_recorded_event_attributes.details.payloads",
)
"""Payloads the server or the SDK core write themselves, never through the codec."""


@dataclass(frozen=True)
class Secrets:
    pin: str
    first_key: str
    rotated_key: str

    def all(self) -> list[str]:
        return [self.pin, self.first_key, self.rotated_key]


@pytest.fixture
async def stack(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(
        time_env.client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=2,
        settings={"codec_ui_token": UI_TOKEN, "codec_cors_origins": UI_ORIGIN},
        hold=ClockHold(time_env),
    ) as running:
        yield running


async def run_secret_workflows(stack: Stack) -> Secrets:
    """Lock one Mac; enable FileVault on the other (off until its 2nd poll), then rotate."""
    locked, encrypted = stack.sim.enrollment_ids()
    mac = stack.sim.device(encrypted)
    mac.fde_enabled, mac.filevault.recovery_key = False, None
    mac.filevault.enable_after_polls = 2

    async def run(name: str, eid: str, result_type: type[Any]) -> None:
        handle = await stack.client.start_workflow(
            name,
            WorkflowStart(enrollment_id=eid),
            id=f"{name}/{eid}",
            task_queue=stack.task_queue,
            result_type=result_type,
        )
        await handle.result()

    await run(LOCK, locked, LockResult)
    await run(FVENABLE, encrypted, FileVaultEnableResult)
    first_key = mac.filevault.recovery_key
    await run(FVROTATE, encrypted, FileVaultRotateResult)
    pin, rotated_key = stack.sim.device(locked).lock_pin, mac.filevault.recovery_key
    assert pin
    assert first_key
    assert rotated_key
    assert first_key != rotated_key
    return Secrets(pin=pin, first_key=first_key, rotated_key=rotated_key)


async def raw_histories(stack: Stack) -> dict[str, WorkflowHistory]:
    """Every run of the secret workflows and of their event handlers, fetched by a client
    that has no codec: exactly what the Temporal server stores."""
    config = stack.client.config()
    config["data_converter"] = pydantic_data_converter
    raw = Client(**config)
    ids = [f"{LOCK}/{stack.sim.enrollment_ids()[0]}"]
    ids += [f"{name}/{stack.sim.enrollment_ids()[1]}" for name in (FVENABLE, FVROTATE)]
    ids += stack.started.ids(INVENTORY_EVENTS)
    histories = {}
    for workflow_id in ids:
        for handle in await runs(raw, workflow_id):
            histories[f"{workflow_id}@{handle.run_id}"] = await handle.fetch_history()
    return histories


def payloads(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every Payload inside a proto message, with the field path it sits at."""
    if isinstance(message, Payload):
        yield path, message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif isinstance(value, Message):
            items = [value]
        else:
            items = list(value)
        for item in items:
            if isinstance(item, Message):
                yield from payloads(item, f"{path}.{field.name}")


async def test_raw_histories_hold_no_secret_in_plaintext(stack: Stack) -> None:
    secrets = await run_secret_workflows(stack)
    histories = await raw_histories(stack)
    assert len(histories) >= 4
    encrypted = 0
    for name, history in histories.items():
        text = history.to_json()
        for secret in secrets.all():
            assert not shows(text, secret), name
            assert as_base64(secret) not in text, name
        for path, payload in (p for e in history.events for p in payloads(e)):
            for secret in secrets.all():
                assert secret.encode() not in payload.data, (name, path)
            if path.endswith(SDK_BOOKKEEPING):
                continue  # search attributes, patch and local-activity marker metadata
            assert payload.metadata["encoding"] == ENCODING, (name, path)
            encrypted += 1
    assert encrypted > 20


async def test_codec_endpoint_decodes_the_history_for_an_authorised_caller_and_no_secret_is_in_it(
    stack: Stack,
) -> None:
    """Even decoded, a lock's history holds no PIN and a rotation's no recovery key: the
    enqueue activity reads them from the sealed store."""
    secrets = await run_secret_workflows(stack)
    histories = await raw_histories(stack)
    lock = next(h for n, h in histories.items() if n.startswith(LOCK))
    rotate = next(h for n, h in histories.items() if n.startswith(FVROTATE))
    async with httpx.AsyncClient(base_url=stack.bridge_url, timeout=30) as http:
        for history, secret, eid in (
            (lock, secrets.pin, stack.sim.enrollment_ids()[0]),
            (rotate, secrets.first_key, stack.sim.enrollment_ids()[1]),
        ):
            body = as_json(
                [
                    p
                    for e in history.events
                    for path, p in payloads(e)
                    if "search_attributes" not in path
                ]
            )
            assert secret not in body
            assert eid not in body
            decoded = await http.post("/codec/decode", content=body, auth=("nanocmd", API_KEY))
            assert decoded.status_code == 200, decoded.text
            assert eid in plaintexts(decoded.json()), "the codec decoded the history"
            assert secret not in plaintexts(decoded.json())
            anonymous = await http.post("/codec/decode", content=body)
            assert anonymous.status_code == 401
            wrong = await http.post("/codec/decode", content=body, auth=("nanocmd", "wrong"))
            assert wrong.status_code == 401
        # the Web UI's route: a token in the URL, CORS for the UI's origin only
        body = as_json([p for e in lock.events for _, p in payloads(e)][:3])
        preflight = await http.options(
            f"/codec/ui/{UI_TOKEN}/decode",
            headers={
                "Origin": UI_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == UI_ORIGIN
        via_ui = await http.post(
            f"/codec/ui/{UI_TOKEN}/decode", content=body, headers={"Origin": UI_ORIGIN}
        )
        assert via_ui.status_code == 200
        assert via_ui.headers["access-control-allow-origin"] == UI_ORIGIN
        assert (await http.post("/codec/ui/guessed/decode", content=body)).status_code == 401
        stranger = await http.options(
            f"/codec/ui/{UI_TOKEN}/decode",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in stranger.headers


async def test_codec_endpoint_encodes_what_it_decodes(stack: Stack) -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')
    async with httpx.AsyncClient(base_url=stack.bridge_url, auth=("nanocmd", API_KEY)) as http:
        encoded = await http.post("/codec/encode", content=as_json([plain]))
        assert encoded.status_code == 200
        [sealed] = encoded.json()["payloads"]
        assert base64.b64decode(sealed["metadata"]["encoding"]) == ENCODING
        decoded = await http.post("/codec/decode", content=json.dumps(encoded.json()))
        assert plaintexts(decoded.json()) == '"hello"'
        bad = await http.post("/codec/decode", content=b"not json")
        assert bad.status_code == 400


async def test_no_log_line_carries_a_secret(
    stack: Stack, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = await run_secret_workflows(stack)
    formatter = JSONFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    assert any("escrowed a FileVault recovery key" in line for line in lines)
    assert any("escrowed a lock PIN" in line for line in lines)
    out, err = capfd.readouterr()
    for secret in secrets.all():
        assert not [line for line in lines if shows(line, secret)]
        assert not shows(out, secret)
        assert not shows(err, secret)


def shows(text: str, secret: str) -> bool:
    """Whether ``text`` holds ``secret``; a six-digit PIN only as a number of its own, so the
    microseconds of a timestamp are not mistaken for it (one in a million would be)."""
    if secret.isdigit():
        return re.search(rf"(?<![0-9]){secret}(?![0-9])", text) is not None
    return secret in text


def as_base64(secret: str) -> str:
    """``secret`` in base64 as JSON shows bytes, whole groups only (a last partial group
    depends on what follows). The four characters checked before could turn up by chance in a
    few hundred KB of encrypted payloads (by estimate about one run in fifty)."""
    whole = len(secret.encode()) // 3 * 3
    return base64.b64encode(secret.encode()[:whole]).decode()


def as_json(items: list[Payload]) -> str:
    return json.dumps(MessageToDict(Payloads(payloads=items)))


def plaintexts(body: dict[str, Any]) -> str:
    return "\n".join(
        base64.b64decode(p.get("data", "")).decode(errors="replace") for p in body["payloads"]
    )
