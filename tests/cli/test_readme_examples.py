"""Every ``sh`` example in README.md runs as written after ``make run``.

``mdmflow dev`` starts as ``make run`` starts it (default data dir ``.mdmflow`` in the working
folder, three simulated devices), on free ports; the README's blocks then run in order in bash,
in a folder that looks like the repository (``.venv`` and ``examples/`` linked in), each
starting from what the blocks before it exported. Only the default ports in the text are
replaced by the test's ones. A block fails on any failing command, failing pipe or HTTP error
(``curl`` is run with ``--fail-with-body``). A block the test must not run says so, with the
reason, in a ``<!-- not run by ... -->`` line right above it.

The banner's own lines (devices, simulator check-in, metrics) are run the same way, and SIGTERM
must then stop the stack and remove the simulator's address from the data dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import MDMFLOW, alive, children, free_port, read_banner

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VENV = Path(sys.executable).parent.parent
BLOCK = re.compile(r"(?P<skip><!-- not run by [^\n]*-->\n)?```sh\n(?P<body>.*?)```", re.S)
BLOCK_SECONDS = 120  # a safety net against hangs only; every block ends on its own
STOP_SECONDS = 60
BASH_PRELUDE = """set -eo pipefail
curl() { command curl --silent --show-error --fail-with-body "$@"; }
source "$MDMFLOW_README_STATE"
"""
BASH_EPILOGUE = '\nexport -p > "$MDMFLOW_README_STATE"\n'


@dataclass(frozen=True)
class Ports:
    temporal: int
    ui: int
    bridge: int
    worker_metrics: int

    def localize(self, text: str) -> str:
        """The README's default addresses replaced by this stack's."""
        for default, port in (
            ("127.0.0.1:9003", self.bridge),
            ("127.0.0.1:9464", self.worker_metrics),
            ("127.0.0.1:8233", self.ui),
            ("127.0.0.1:7233", self.temporal),
        ):
            text = text.replace(default, f"127.0.0.1:{port}")
        return text


def readme_blocks() -> tuple[list[str], list[str]]:
    """(blocks to run, blocks marked not run) in README order."""
    run: list[str] = []
    skipped: list[str] = []
    for match in BLOCK.finditer(README.read_text()):
        (skipped if match.group("skip") else run).append(match.group("body"))
    return run, skipped


def base_env(ports: Ports) -> dict[str, str]:
    """A shell as a user has it: no mdmflow settings, the venv not on PATH yet, and Temporal's
    address only because the test's server is not on the default port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MDMFLOW_", "TEMPORAL_"))}
    venv_bin = str(VENV / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["TEMPORAL_ADDRESS"] = f"127.0.0.1:{ports.temporal}"
    return env


class Shell:
    """Runs blocks in bash in ``folder``, carrying exported variables from one to the next."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.state = folder.parent / "readme-state.sh"
        self.state.write_text("")
        self.env = {**env, "MDMFLOW_README_STATE": str(self.state)}

    async def run(self, block: str) -> str:
        script = BASH_PRELUDE + block + BASH_EPILOGUE
        proc = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            script,
            cwd=self.folder,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(BLOCK_SECONDS):
            out, err = await proc.communicate()
        assert proc.returncode == 0, (
            f"README block failed ({proc.returncode}):\n{block}\n--- stdout\n{out.decode()}"
            f"\n--- stderr\n{err.decode()}"
        )
        return out.decode()

    async def variable(self, name: str) -> str:
        return (await self.run(f'printf %s "${name}"\n')).strip()


@contextlib.asynccontextmanager
async def make_run(folder: Path, ports: Ports, env: dict[str, str]) -> AsyncIterator[str]:
    """``mdmflow dev`` with its defaults in ``folder``; yields its banner. Stopped with SIGTERM
    by the test; whatever is left when the test ends (itself, its Temporal server) is killed."""
    proc = await asyncio.create_subprocess_exec(
        MDMFLOW,
        "dev",
        "--temporal-port",
        str(ports.temporal),
        "--ui-port",
        str(ports.ui),
        cwd=folder,
        env={
            **env,
            "MDMFLOW_LISTEN": f"127.0.0.1:{ports.bridge}",
            "MDMFLOW_WORKER_METRICS_LISTEN": f"127.0.0.1:{ports.worker_metrics}",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        banner = await read_banner(proc.stdout)
        drain = asyncio.create_task(proc.stdout.read())  # the rest of the banner, never blocks
        yield banner
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STOP_SECONDS):
            code = await proc.wait()
        assert code == 128 + signal.SIGTERM
        await drain
    finally:
        leftovers = children(proc.pid) if proc.returncode is None else []
        for pid in leftovers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def banner_line(banner: str, starts: str) -> str:
    [line] = [line.strip() for line in banner.splitlines() if line.strip().startswith(starts)]
    return line


async def test_every_readme_example_runs_as_written_after_make_run(tmp_path: Path) -> None:
    run, skipped = readme_blocks()
    assert len(run) >= 8, "the README's examples were not found"
    assert len(skipped) <= 4, "examples are for running: skip only what cannot run here"
    ports = Ports(free_port(), free_port(), free_port(), free_port())
    folder = tmp_path / "mdmflow"
    folder.mkdir()
    (folder / ".venv").symlink_to(VENV)
    (folder / "examples").symlink_to(ROOT / "examples")
    env = base_env(ports)
    shell = Shell(folder, env)
    async with make_run(
        folder, ports, {**env, "PATH": f"{VENV / 'bin'}{os.pathsep}{env['PATH']}"}
    ) as banner:
        for block in run:
            await shell.run(ports.localize(block))

        listed = banner_line(banner, "simulated devices:").removeprefix("simulated devices:")
        readme_ids = [await shell.variable(f"UDID{n}") for n in (1, 2, 3)]
        assert listed.strip().split(", ") == readme_ids, "the README's device IDs went stale"

        checkin_cli = banner_line(banner, "mdmflow simulate checkin")
        assert "--message Idle" in checkin_cli
        await shell.run(checkin_cli + "\n")
        await shell.run(banner_line(banner, "curl -u nanomdm:") + "\n")
        metrics = banner_line(banner, "metrics")
        bridge_metrics = f"http://127.0.0.1:{ports.bridge}/metrics"
        worker_metrics = f"http://127.0.0.1:{ports.worker_metrics}/metrics"
        assert bridge_metrics in metrics
        assert worker_metrics in metrics
        series = shlex.quote('^mdmflow_webhooks_total{outcome="accepted"}')
        accepted = await shell.run(f"curl {shlex.quote(bridge_metrics)} | grep {series}\n")
        assert float(accepted.split()[-1]) >= 4, "the check-ins above reached the bridge"
        sdk = await shell.run(f"curl {shlex.quote(worker_metrics)} | grep -c '^temporal_'\n")
        assert int(sdk) > 0
    assert not (folder / ".mdmflow" / "simulator.json").exists(), (
        "a stopped stack leaves no address"
    )
