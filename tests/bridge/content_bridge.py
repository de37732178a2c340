"""A bridge over an empty app database, for the profile and command plan API tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from temporalio.client import Client

from mdmflow.bridge.server import running_bridge
from mdmflow.config import Settings
from tests.support.codec import TEST_CODEC_KEY
from tests.support.stack import API_KEY


@contextlib.asynccontextmanager
async def bridge_api(client: Client, folder: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for a fresh bridge; authenticated as NanoCMD's API user."""
    settings = Settings(
        listen="127.0.0.1:0",
        api_key=API_KEY,
        database_url=f"sqlite+aiosqlite:///{folder}/app.db",
        codec_key=TEST_CODEC_KEY,
    )
    async with (
        running_bridge(settings, client) as base,
        httpx.AsyncClient(base_url=base, auth=("nanocmd", API_KEY), timeout=30) as http,
    ):
        yield http
