"""Pytest fixtures for the app database on both backends (loaded as a plugin by tests/conftest.py).

``database_url`` runs each test that uses it twice: on a fresh SQLite file and on a fresh
PostgreSQL database. The PostgreSQL server starts once per session, and only when a test
needs it (so a run of SQLite-only tests starts none).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mdmflow.store.database import Database
from tests.support.postgres import EphemeralPostgres, unique_database_name

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EphemeralPostgres]:
    """The session's PostgreSQL server (ephemeral, or ``MDMFLOW_TEST_POSTGRES_URL``)."""
    with EphemeralPostgres() as server:
        yield server


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database of its own for this test, on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
        return
    server: EphemeralPostgres = request.getfixturevalue("postgres_server")
    name = unique_database_name()
    url = await asyncio.to_thread(server.create_database, name)
    yield url
    await asyncio.to_thread(server.drop_database, name)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The app database at ``database_url``, opened (migrated) and closed after the test."""
    db = await Database.open(database_url)
    try:
        yield db
    finally:
        await db.close()
