"""One SQLite connection on a thread of its own, for the statements run on every step.

The bridge runs four statements for every report, in two transactions (the accept with the
route lookup, the delivered mark with the route forget), and the worker one or two for every
step. Through the async engine each costs about
0.7 ms of CPU, measured here: aiosqlite hands every DBAPI call (cursor, execute, fetch, close,
commit or rollback) to its thread and back, five hops, each through SQLAlchemy's greenlet
bridge. Here a whole transaction is one hop: SQLAlchemy's sync Core on the sqlite3 module,
0.24 ms a call (2,000 route records, lookups and forgets each, measured). Statements queue
for the one connection as they did on the async engine's pool of one (SQLite takes one writer
at a time); the async engine keeps the rare statements, and both connections meet in SQLite's
WAL and busy handler, as two processes do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL

T = TypeVar("T")


class SQLiteThread:
    def __init__(self, url: URL, on_connect: Callable[[Any, Any], None]) -> None:
        self._engine: Engine = create_engine(
            url.set(drivername="sqlite"),
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=1,
            max_overflow=0,
        )
        event.listen(self._engine, "connect", on_connect)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mdmflow-sqlite")

    async def transaction(self, work: Callable[[Connection], T]) -> T:
        """``work`` in one transaction on the thread: committed when it returns, rolled back
        when it raises. Awaiting it is one hop, however many statements ``work`` runs."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._run, work)

    def _run(self, work: Callable[[Connection], T]) -> T:
        with self._engine.begin() as conn:
            return work(conn)

    def close(self) -> None:
        """Wait for queued transactions, then close the connection."""
        self._thread.shutdown(wait=True)
        self._engine.dispose()
