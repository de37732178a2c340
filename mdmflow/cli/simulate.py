"""``mdmflow simulate``: run the fake NanoMDM/MicroMDM server and its devices on their own."""

from __future__ import annotations

import argparse
import asyncio

from mdmflow.config import ConfigError, Settings
from mdmflow.simulator import SimulatorConfig, run_simulator


async def run_simulate(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the simulator; its API key is MDMFLOW_ENQUEUE_API_KEY (``simulator`` if unset)."""
    host, sep, port = str(args.listen).rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--listen must be host:port, got {args.listen!r}")
    config = SimulatorConfig(
        mode="micromdm" if args.micromdm else "nanomdm",
        api_key=settings.enqueue_api_key or "simulator",
        webhook_url=args.webhook_url,
        devices=args.devices,
        seed=args.seed,
        not_now_rate=args.not_now_rate,
        error_rate=args.error_rate,
    )
    async with run_simulator(config, host or "127.0.0.1", int(port)) as (sim, url):
        print(
            f"simulator ({config.mode}) on {url}\n"
            f"  MDMFLOW_ENQUEUE_URL={sim.enqueue_url(url)}\n"
            f"  MDMFLOW_PUSH_URL={sim.push_url(url)}\n"
            f"  MDMFLOW_ENQUEUE_API_KEY={config.api_key}\n"
            f"  devices: {', '.join(sim.enrollment_ids())}",
            flush=True,
        )
        await asyncio.Event().wait()
    return 0
