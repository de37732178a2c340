"""Count the Temporal worker core's warnings instead of printing them to stdout.

By default sdk-core logs to stdout, which would break ``--json``. Forwarded to Python logging,
the two warnings that say the worker could not keep up become numbers per scenario: a workflow
task that took over 5 s (TMPRL1104), and one that took so long the server had given it away
("Workflow task not found" on completion: the work was done twice). The bridge's warning that
it could not deliver a webhook inline within its 5 s (so the report waits for the relay) and
an activity attempt done again (the SDK's "Completing activity as failed", under overload
mostly a missed 5 s heartbeat timeout, and the core's "Activity not found on completion", an
attempt that finished after the server had timed it out) are counted the same way: they say the
in-process stack fell behind. Anything else still goes to stderr.
"""

from __future__ import annotations

import logging
from collections import Counter

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

SLOW_TASK = "slow_workflow_tasks"
LOST_TASK = "lost_workflow_tasks"
DEFERRED_WEBHOOK = "deferred_webhooks"
REDONE_ACTIVITY = "redone_activities"
_KNOWN = {
    "TMPRL1104": SLOW_TASK,
    "Workflow task not found": LOST_TASK,
    "webhook kept in the intake": DEFERRED_WEBHOOK,
    "Completing activity as failed": REDONE_ACTIVITY,
    "Activity not found on completion": REDONE_ACTIVITY,
}
COUNTED_LOGGERS = ("mdmflow.bridge.intake", "temporalio.activity")


class CoreWarnings(logging.Handler):
    """Counts known core warnings; passes the rest on to stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self._stderr = logging.StreamHandler()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for marker, name in _KNOWN.items():
            if marker in message:
                self.counts[name] += 1
                return
        self._stderr.emit(record)

    def snapshot(self) -> Counter[str]:
        return Counter(self.counts)


def install_core_warnings() -> CoreWarnings:
    """Make the default runtime forward core logs here; call before any client connects.
    The bridge's intake warnings and the SDK's activity failures come here too."""
    handler = CoreWarnings()
    logger = logging.getLogger("bench.temporal_core")
    logger.addHandler(handler)
    logger.propagate = False
    for name in COUNTED_LOGGERS:
        counted = logging.getLogger(name)
        counted.addHandler(handler)
        counted.propagate = False
    Runtime.set_default(
        Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger=logger),
                )
            )
        )
    )
    return handler
