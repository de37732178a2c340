"""The one place that builds a Temporal client, so every process agrees on serialization."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter

from mdmflow.config import ConfigError, Settings


async def connect(settings: Settings) -> Client:
    """Connect with the pydantic converter and tracing; workers built on it inherit both."""
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
            interceptors=[TracingInterceptor()],
        )
    except RuntimeError as exc:
        raise ConfigError(
            f"cannot reach Temporal at {settings.temporal_address} "
            f"(namespace {settings.temporal_namespace}): {exc}"
        ) from None
