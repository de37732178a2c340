"""What one bench run does: which scenarios, at which sizes (the issue's, or ``--quick``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

SCENARIOS = ("a", "b", "c", "d", "e", "shared")
"""(a) K steps in one workflow and (b) start → step → complete, each side as deployed (every
part its own process; (b) also gives the CPU seconds per round by process), (c) fleet start,
(d) parked memory, (e) latency at N=1, and ``shared``: (a) and (b) again with every part in
the bench's one process, for reference and for the durable intake's cost."""


@dataclass(frozen=True)
class BenchConfig:
    steps: int = 3
    """(a) K: steps per workflow."""
    step_devices: tuple[int, ...] = (100, 1000)
    """(a) devices at once, one comparison each."""
    devices: int = 100
    """(b) devices at once."""
    rounds: int = 3
    """(b) runs per device, back to back."""
    fleet: int = 10_000
    """(c) IDs in the fleet start."""
    parked: int = 10_000
    """(d) workflows parked."""
    pairs: int = 3
    """(a) and (b) as deployed: each side this many times, alternating which goes first; each
    target is the median of the pairs' ratios (one pair on this machine is a coin toss near a
    line: bare's own CPU per round moved 15.0 to 24.7 ms between runs of one afternoon)."""
    latency_runs: int = 4
    latency_steps: int = 51
    """(e) runs of K steps on one device; K-1 samples a run."""
    database_url: str = ""
    """The app database (routes, intake); empty: SQLite in the run's temp dir."""
    only: frozenset[str] = frozenset(SCENARIOS)

    def runs(self, scenario: str) -> bool:
        return scenario in self.only

    @property
    def in_process(self) -> bool:
        """Whether the shared in-process stack is needed at all."""
        return bool(self.only & {"c", "e", "shared"})

    @property
    def deployed(self) -> bool:
        """Whether (a) and (b) run with each side's parts as separate processes."""
        return bool(self.only & {"a", "b"})

    @property
    def simulated_devices(self) -> int:
        """Devices the in-process simulator needs for the scenarios that run."""
        sizes = [1]
        if self.runs("shared"):
            sizes += [*self.step_devices, self.devices]
        if self.runs("c"):
            sizes.append(2 * self.fleet)  # the fan-out starts on IDs of its own
        return max(sizes)


FULL = BenchConfig()
"""The issue's sizes: (a) at 100 and 1,000 devices, fleet and parked at 10,000."""

QUICK = replace(
    FULL,
    steps=3,
    step_devices=(20, 100),
    devices=20,
    rounds=2,
    fleet=300,
    parked=300,
    pairs=1,
    latency_runs=2,
    latency_steps=21,
)
"""About two minutes on two cores: for iterating, not for the issue's figures."""
