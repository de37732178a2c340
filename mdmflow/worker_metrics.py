"""The Temporal SDK's own metrics (task latencies, failures, pollers) in Prometheus format.

The SDK's core exports them from its runtime, and a process can own only a few runtimes, each
with its own thread pool and, here, its own listening port. So the endpoint is opt-in per
process: ``MDMFLOW_WORKER_METRICS_LISTEN`` set (``host:port``) makes ``mdmflow worker`` and
``mdmflow dev`` build one runtime that serves ``/metrics`` there, and their Temporal client
(and so the worker built on it) use it. Unset, which is the default, the SDK's default runtime
is used and nothing listens: two workers on one host never fight over a port, and a test
process that builds many workers never builds a runtime at all.
"""

from __future__ import annotations

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from mdmflow.config import ConfigError

_runtimes: dict[str, Runtime] = {}


class WorkerMetricsSettings(BaseSettings):
    """Read on its own so the metrics endpoint needs nothing from the main settings."""

    model_config = SettingsConfigDict(env_prefix="MDMFLOW_", extra="ignore", frozen=True)

    worker_metrics_listen: str = ""
    """``host:port`` for the SDK's Prometheus endpoint; empty (the default) serves none."""

    @field_validator("worker_metrics_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        _host, sep, port = value.rpartition(":")
        if value and (not sep or not port.isdigit()):
            raise ValueError(f"must be host:port, got {value!r}")
        return value


def load_worker_metrics_settings() -> WorkerMetricsSettings:
    """The environment's setting; a bad value is a one-line :class:`ConfigError`."""
    try:
        return WorkerMetricsSettings()
    except ValidationError as exc:
        reason = exc.errors(include_input=False)[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid setting MDMFLOW_WORKER_METRICS_LISTEN: {reason}") from None


def metrics_runtime(listen: str) -> Runtime | None:
    """The runtime serving the SDK's metrics on ``listen``; ``None`` when it is empty.

    Built once per address and process: asking again returns the same runtime, so the port is
    bound once however many clients the process connects.
    """
    if not listen:
        return None
    if listen not in _runtimes:
        # Prometheus's conventions rather than the SDK's defaults: latencies in seconds, and
        # counters named `_total` (one SDK counter already ends so: `..._total_total`).
        prometheus = PrometheusConfig(
            bind_address=listen, counters_total_suffix=True, durations_as_seconds=True
        )
        try:
            _runtimes[listen] = Runtime(telemetry=TelemetryConfig(metrics=prometheus))
        except ValueError as exc:
            raise ConfigError(
                f"cannot serve worker metrics on {listen} (MDMFLOW_WORKER_METRICS_LISTEN): {exc}"
            ) from None
    return _runtimes[listen]
