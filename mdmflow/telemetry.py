"""One tracing and logging setup shared by every mdmflow process.

Tracing follows the standard ``OTEL_*`` variables: spans are exported only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_TRACES_EXPORTER``) says where. Logs are JSON lines
so ``enrollment_id``, ``command_uuid`` and ``workflow_id`` can be searched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span

_STANDARD_RECORD_KEYS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """One JSON object per line with the record's extra fields and the current trace ID."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_RECORD_KEYS and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def setup_tracing(
    service: str, extra_processor: SpanProcessor | None = None
) -> TracerProvider | None:
    """Install the global tracer provider once per process and instrument httpx; with no
    exporter (and no ``extra_processor``) install nothing, so no span is recorded for nobody:
    OpenTelemetry's default provider makes every span a no-op."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    elif _exporter_configured() or extra_processor is not None:
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
        if _exporter_configured():
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    else:
        return None
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
    return provider


@dataclass(frozen=True)
class ClientCall:
    """One outgoing HTTP call as traced: the headers that carry its trace context to the
    server, and the span that records its answer (None with tracing off)."""

    headers: Mapping[str, str]
    span: Span | None = None

    def answered(self, status: int) -> None:
        if self.span is not None:
            self.span.set_attribute("http.response.status_code", status)


_UNTRACED = ClientCall({})


@contextlib.contextmanager
def client_span(method: str, url: str) -> Iterator[ClientCall]:
    """A client span around one HTTP call made without httpx (whose calls the instrumentor
    traces); with tracing off, no span and no headers."""
    if not tracing_enabled():
        yield _UNTRACED
        return
    parts = urlsplit(url)
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.full": url,
        "server.address": parts.hostname or "",
    }
    if parts.port:
        attributes["server.port"] = parts.port
    tracer = trace.get_tracer(__name__)
    with tracer.start_as_current_span(
        method, kind=trace.SpanKind.CLIENT, attributes=attributes
    ) as span:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        yield ClientCall(headers, span)


def tracing_enabled() -> bool:
    """Whether spans are recorded in this process (an exporter or a test's processor)."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def _exporter_configured() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "")
    if exporter and exporter != "none":
        return exporter == "otlp"
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
