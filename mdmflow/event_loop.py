"""The event loop every mdmflow process runs on: uvloop, with asyncio's own only where uvloop
does not exist (Windows).

Measured with the bench's CPU per round (as deployed, (a) at 1,000 devices; one quick run each
way), uvloop here and httptools under uvicorn (``mdmflow.httpserver``) took the worker from
9.3 to 7.9 ms per step, the bridge from 5.2 to 4.1 and the simulator from 2.7 to 2.2: what a
step costs is mostly waking the loop, socket reads and writes and parsing HTTP, which both do
in C. Workflow code is unaffected: the SDK runs each workflow on its own deterministic loop,
never on this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop: the same cancellation on Ctrl-C and the same cleanup."""
    try:
        import uvloop
    except ImportError:  # Windows: uvloop does not exist there
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)
