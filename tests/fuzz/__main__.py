"""``python -m tests.fuzz``: post 10,000+ seeded fuzzed webhook bodies to a bridge and count the
answers by status class; exit 1 on any 5xx, unanswered body, or limit answered 2xx.

Against a running bridge (``mdmflow dev`` listens on 127.0.0.1:9003)::

    python -m tests.fuzz --url http://127.0.0.1:9003/webhook

or, with ``--stack``, against a Temporal dev server and a bridge it starts in a temp directory
(what ``make faults`` can run). The same seed always posts the same bodies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from mdmflow.bridge.server import running_bridge
from mdmflow.cli.dev import temporal_binary
from mdmflow.config import Settings
from mdmflow.crypto.codec import data_converter
from mdmflow.crypto.keyring import new_key_entry
from mdmflow.workflows import search
from tests.fuzz.bodies import bodies
from tests.fuzz.http import Tally, post_all

DEFAULT_COUNT = 10_010
DEFAULT_SEED = 9
DEFAULT_HUGE = 5 * 1024 * 1024
"""Past the default 4 MiB body limit, so some bodies meet the 413 as well."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--url", default="http://127.0.0.1:9003/webhook", help="the bridge's webhook URL"
    )
    target.add_argument(
        "--stack", action="store_true", help="start a Temporal dev server and a bridge first"
    )
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="bodies to post")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--huge", type=int, default=DEFAULT_HUGE, help="largest huge string")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--hmac-key",
        default=os.environ.get("MDMFLOW_WEBHOOK_HMAC_KEY", ""),
        help="sign bodies as NanoMDM does (default: $MDMFLOW_WEBHOOK_HMAC_KEY)",
    )
    parser.add_argument("--show", type=int, default=10, help="failures to print")
    return parser


@contextlib.asynccontextmanager
async def own_bridge() -> AsyncIterator[str]:
    """A Temporal dev server and a bridge (no worker: the edge is what is fuzzed), files in a
    temp directory; yields the webhook URL."""
    with tempfile.TemporaryDirectory(prefix="mdmflow-fuzz-") as folder:
        settings = Settings(
            listen="127.0.0.1:0",
            codec_key=new_key_entry(),
            data_dir=Path(folder),
            database_url=f"sqlite+aiosqlite:///{folder}/app.db",
            task_queue=f"fuzz-{uuid.uuid4()}",
        )
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            data_converter=data_converter(settings.keyring()),
            search_attributes=list(search.ALL),
            dev_server_log_level="error",
        )
        try:
            async with running_bridge(settings, env.client) as url:
                yield f"{url}/webhook"
        finally:
            await env.shutdown()


async def run(args: argparse.Namespace) -> Tally:
    items = bodies(args.seed, args.count, huge=args.huge)
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(own_bridge()) if args.stack else args.url
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=120))
        return await post_all(
            http, url, items, concurrency=args.concurrency, hmac_key=args.hmac_key
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # a bridge it starts refuses thousands: no warnings
    started = time.monotonic()
    tally = asyncio.run(run(args))
    print(tally.table())
    print(f"seed {args.seed}, {time.monotonic() - started:.0f} s: {tally.summary()}")
    for failure in (tally.failures + tally.leaks)[: args.show]:
        print(f"  #{failure.index} {failure.kind}: {failure.status} {failure.reason}")
    sys.stdout.flush()
    return 1 if tally.failures or tally.leaks else 0


if __name__ == "__main__":
    sys.exit(main())
