"""Seeded fuzzed bodies over real HTTP: the bridge answers every one 2xx or 4xx, never 5xx, and
never 2xx for a body the edge's limits refuse.

The bodies are those of ``python -m tests.fuzz`` (which posts 10,000+); here a bounded,
seeded share of every kind, against the test stack (SQLite, no devices), with a body limit
below the largest "huge" string so the 413 path is met too.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.fuzz.bodies import KINDS, bodies
from tests.fuzz.http import post_all
from tests.support.stack import running_stack

SEED = 20_251
PER_KIND = 40
HUGE = 256 * 1024
BODY_LIMIT = 192 * 1024


async def test_every_fuzzed_body_gets_2xx_or_4xx(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with (
        running_stack(
            temporal_env.client,
            f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
            devices=0,
            settings={"max_webhook_bytes": BODY_LIMIT},
        ) as stack,
        httpx.AsyncClient(base_url=stack.bridge_url, timeout=60) as http,
    ):
        items = bodies(SEED, PER_KIND * len(KINDS), huge=HUGE)
        tally = await post_all(http, "/webhook", items, concurrency=4)
    shown = [f"#{f.index} {f.kind}: {f.status} {f.reason}" for f in tally.failures[:10]]
    assert not tally.failures, f"{tally.summary()}\n" + "\n".join(shown)
    assert not tally.leaks, [f"#{f.index} {f.kind}" for f in tally.leaks[:10]]
    assert tally.by_class["2xx"] > 0, "valid reports and check-ins are accepted"
    assert tally.by_status[400] > 0
    assert tally.by_status[413] > 0
