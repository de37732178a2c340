"""The simulator, with a clock on the two moments the N=1 latency scenario needs.

Webhook → next enqueue is measured where the device sits: from the moment the simulated
device starts posting its report to the moment the worker's next enqueue request arrives at
the simulated MDM server. Both happen inside the simulator, so it records them: when a report
post starts (``_post``, the simulator's one way out) and when an API request arrives
(``record``, called by every API endpoint). Off unless ``timing`` is set, so the throughput
scenarios pay nothing. It also counts the requests that ask for a push (a push, or an enqueue
without ``nopush``), which is how the parked scenario knows every workflow got as far as
waiting for its device.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bench.measure import now
from mdmflow.simulator import Simulator, SimulatorConfig
from mdmflow.simulator.simulator import _Channel


class TimedSimulator(Simulator):
    def __init__(self, config: SimulatorConfig) -> None:
        super().__init__(config)
        self.timing = False
        self.posts: list[tuple[float, str, str]] = []
        """(time, enrollment ID, status) of each report post while timing, Idle included."""
        self.arrivals: list[tuple[float, str]] = []
        """(time, path) of each API request while timing."""
        self.push_requests = 0
        self._push_path = urlsplit(self.push_url("http://sim")).path
        self._enqueue_path = urlsplit(self.enqueue_url("http://sim")).path

    def start_timing(self) -> None:
        self.posts, self.arrivals = [], []
        self.timing = True

    def stop_timing(self) -> None:
        self.timing = False

    def record(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        if self.timing:
            self.arrivals.append((now(), path))
        if path.startswith(self._push_path) or (
            path.startswith(self._enqueue_path) and not query.get("nopush")
        ):
            self.push_requests += 1
        super().record(method, path, query, body)

    async def _post(self, channel: _Channel, event: dict[str, Any], what: str) -> bool:
        if self.timing:
            self.posts.append((now(), channel.id, what))
        return await super()._post(channel, event, what)
