"""The scenarios, by the letter issue 8 gives them; each returns one :class:`Figure`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faults.figures import Figure
from faults.scenarios.bridge_kill import bridge_kill
from faults.scenarios.fleet_kill import fleet_kill
from faults.scenarios.late_reports import late_reports
from faults.scenarios.mdm_outage import mdm_outage
from faults.scenarios.replicas import replicas
from faults.scenarios.temporal_down import temporal_down
from faults.scenarios.temporal_kill import temporal_kill
from faults.scenarios.worker_kill import worker_kill

SCENARIOS: dict[str, Callable[[], Awaitable[Figure]]] = {
    "a": worker_kill,
    "b": temporal_kill,
    "c": temporal_down,
    "d": bridge_kill,
    "e": mdm_outage,
    "f": late_reports,
    "g": replicas,
    "h": fleet_kill,
}
