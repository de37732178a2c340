"""The one place that builds a Temporal client, so every process agrees on serialization.

Every client (bridge, worker, starter) encrypts payloads with the deployment's key ring; a
worker built on a client inherits its converter, so workflows never see a different one.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import Runtime

from mdmflow.config import ConfigError, Settings
from mdmflow.crypto.codec import data_converter
from mdmflow.telemetry import tracing_enabled


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """Connect with the encrypting pydantic converter and, when spans are exported, tracing;
    workers inherit both, and
    the ``runtime`` (the SDK's default when ``None``), which is where the SDK's metrics go."""
    converter = data_converter(settings.keyring())
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=converter,
            interceptors=[TracingInterceptor()] if tracing_enabled() else [],
            runtime=runtime,
        )
    except RuntimeError as exc:
        raise ConfigError(
            f"cannot reach Temporal at {settings.temporal_address} "
            f"(namespace {settings.temporal_namespace}): {exc}"
        ) from None
