"""The bridge's own metrics, served in Prometheus format on ``GET /metrics``.

Each app has its own registry, not prometheus_client's global one: a test process serves many
bridges, and each must count only what it handled. The intake backlog is not tracked as
webhooks come and go: it is read from the app database at scrape time, so every replica
reports the same shared figure and a restart loses nothing.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mdmflow.store.intake import Backlog, IntakeOutcome
from mdmflow.workflows.registry import WORKFLOWS

log = logging.getLogger(__name__)

WEBHOOK_OUTCOMES = {
    200: "accepted",
    400: "rejected",
    401: "unauthorized",
    413: "too_large",
    503: "unavailable",
}
"""Every answer ``POST /webhook`` gives, by status; anything else (the handler failed or was
interrupted) counts as ``error``."""
OTHER_OUTCOME = "error"
StartResult = Literal["started", "already_running", "refused", "fanned_out"]
START_RESULTS: tuple[StartResult, ...] = ("started", "already_running", "refused", "fanned_out")
"""``fanned_out``: IDs of a fleet start handed to its fan-out workflow (which counts its own)."""
UNKNOWN_WORKFLOW = "unknown"
"""The ``workflow`` label of starts that name no registered workflow: a caller's typo must not
create a time series of its own."""


@dataclass
class WebhookTimer:
    """Filled in by the handler; the status stays 500 when it never answered."""

    status: int = 500


class BridgeMetrics:
    """Counters the handlers move and the backlog gauges a scrape refreshes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._webhooks = Counter(
            "mdmflow_webhooks",
            "Webhooks answered by POST /webhook, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self._webhook_seconds = Histogram(
            "mdmflow_webhook_duration_seconds",
            "Time from a webhook's request to its answer (commit to the intake included)",
            registry=self.registry,
        )
        self._starts = Counter(
            "mdmflow_workflow_starts",
            "Enrollment IDs of POST /v1/workflow/{name}/start calls, by result",
            ["workflow", "result"],
            registry=self.registry,
        )
        self._pending = Gauge(
            "mdmflow_intake_pending",
            "Webhooks accepted (answered 200) but not delivered to Temporal yet",
            registry=self.registry,
        )
        self._oldest = Gauge(
            "mdmflow_intake_oldest_pending_age_seconds",
            "Age of the oldest webhook waiting in the intake; 0 when none waits",
            registry=self.registry,
        )
        self._recorded = Gauge(
            "mdmflow_intake_recorded",
            "Delivered webhooks nobody waited for, kept for inspection, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self._database_up = Gauge(
            "mdmflow_app_database_up",
            "1 when this scrape could read the intake backlog from the app database",
            registry=self.registry,
        )
        # Every series exists from the start, at 0, so rate() sees the first increase too.
        for outcome in [*WEBHOOK_OUTCOMES.values(), OTHER_OUTCOME]:
            self._webhooks.labels(outcome)
        for workflow in [*WORKFLOWS, UNKNOWN_WORKFLOW]:
            for result in START_RESULTS:
                self._starts.labels(workflow, result)

    @contextlib.contextmanager
    def timed_webhook(self) -> Iterator[WebhookTimer]:
        """Count one webhook by the status the handler stores in the timer, and time it."""
        timer = WebhookTimer()
        began = time.perf_counter()
        try:
            yield timer
        finally:
            self._webhook_seconds.observe(time.perf_counter() - began)
            self._webhooks.labels(WEBHOOK_OUTCOMES.get(timer.status, OTHER_OUTCOME)).inc()

    def count_starts(self, workflow: str, result: StartResult, ids: int) -> None:
        """``ids`` enrollment IDs of one start call ended as ``result``."""
        if ids > 0:
            name = workflow if workflow in WORKFLOWS else UNKNOWN_WORKFLOW
            self._starts.labels(name, result).inc(ids)

    async def render(self, backlog: Callable[[], Awaitable[Backlog]]) -> bytes:
        """The exposition text, with the backlog read now; when the app database cannot be
        read the other metrics are still served and ``mdmflow_app_database_up`` says so."""
        try:
            current = await backlog()
        except Exception as exc:
            log.warning("metrics: cannot read the intake backlog", extra={"reason": str(exc)})
            self._database_up.set(0)
        else:
            self._database_up.set(1)
            self._pending.set(current.pending)
            self._oldest.set(current.oldest_pending_age_s or 0.0)
            for outcome in IntakeOutcome:
                self._recorded.labels(outcome.value).set(current.recorded.get(outcome.value, 0))
        return generate_latest(self.registry)
