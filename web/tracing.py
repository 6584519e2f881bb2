"""OpenTelemetry tracing: off by default, and then nothing of it is on the request path.

It is on when `OTEL_TRACES_EXPORTER` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set (and
`OTEL_TRACES_EXPORTER` is not `none`, nor `OTEL_SDK_DISABLED` true). Everything else
comes from the standard `OTEL_*` variables, read by the SDK itself: the exporter's
endpoint, headers and timeout, the sampler (`OTEL_TRACES_SAMPLER`), the batch
processor (`OTEL_BSP_*`), the resource (`OTEL_RESOURCE_ATTRIBUTES`); `OTEL_SERVICE_NAME`
defaults to `taskql`. Exporters: `otlp` (OTLP over HTTP/protobuf, the package taskql
ships), `console`, or any other installed under the SDK's entry point group.

Each request then yields, parented in this order:
- the ASGI request span (opentelemetry-instrumentation-asgi, outermost middleware);
- one span per GraphQL operation, made by taskql around the operation's execution
  (`operation_span`), named `query Name` with `graphql.operation.type`/`.name`,
  whichever path executes it; over WebSocket too (`web/websocket.py`), where a
  subscription's span lasts until it stops, inside the socket's ASGI span;
- one span per SQL statement (opentelemetry-instrumentation-sqlalchemy on the engine).
The request's log line carries the trace and span ids (`web/logging.py`).

When off, none of the SDK is imported, no middleware or engine listener is installed,
and the endpoint holds no tracer, so a request pays nothing for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

DEFAULT_SERVICE_NAME = "taskql"
TRACER_NAME = "taskql"
# The spec's default exporter; taskql ships its HTTP/protobuf flavour.
_EXPORTER_ALIASES = {"otlp": "otlp_proto_http"}


def tracing_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces (see the module docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters == "none":
        return False
    return bool(exporters or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())


def tracer_provider_from_environment(environ: Mapping[str, str] = os.environ) -> TracerProvider:
    """A provider that exports as the `OTEL_*` variables say (batching, as the SDK does)."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    resource = Resource.create()  # OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource)  # the sampler from OTEL_TRACES_SAMPLER
    for exporter in _exporters(environ):
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _exporters(environ: Mapping[str, str]) -> list[SpanExporter]:
    names = [
        name.strip().lower()
        for name in (environ.get("OTEL_TRACES_EXPORTER") or "otlp").split(",")
        if name.strip()
    ]
    exporters = []
    for name in names:
        group = entry_points(group="opentelemetry_traces_exporter")
        found = group.select(name=_EXPORTER_ALIASES.get(name, name))
        if not found:
            raise ValueError(f"OTEL_TRACES_EXPORTER: no exporter named {name!r} is installed")
        exporter_class = next(iter(found)).load()
        exporters.append(exporter_class())  # reads its own OTEL_EXPORTER_* variables
    return exporters


def asgi_middleware_options(provider: TracerProvider) -> dict[str, Any]:
    """Options for the ASGI middleware: our provider; no spans per body chunk sent or read."""
    return {"tracer_provider": provider, "exclude_spans": ["receive", "send"]}


def instrument_engine(engine: AsyncEngine, provider: TracerProvider) -> None:
    """A span per statement `engine` runs, as a child of the current span."""
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer  # noqa: PLC0415
    from opentelemetry.metrics import NoOpMeter  # noqa: PLC0415

    tracer = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    # taskql's metrics are Prometheus' (`web/metrics.py`): the pool gauge goes nowhere.
    usage = NoOpMeter("taskql").create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]


def operation_tracer(provider: TracerProvider | None) -> Tracer | None:
    return None if provider is None else provider.get_tracer(TRACER_NAME)


def operation_span(
    tracer: Tracer | None, operation_type: str, operation_name: str | None
) -> AbstractContextManager[Span | None]:
    """The GraphQL operation's span (OpenTelemetry's GraphQL conventions), or nothing."""
    if tracer is None:
        return nullcontext()
    attributes = {"graphql.operation.type": operation_type}
    if operation_name:
        attributes["graphql.operation.name"] = operation_name
    name = f"{operation_type} {operation_name}" if operation_name else operation_type
    return tracer.start_as_current_span(name, attributes=attributes)


def end_operation(span: Span | None, codes: list[str]) -> None:
    """Mark the operation's span with its error codes; an unexpected error is an error."""
    if span is None or not codes:
        return
    from opentelemetry.trace import Status, StatusCode  # noqa: PLC0415

    span.set_attribute("taskql.error_codes", sorted(set(codes)))
    if "INTERNAL_SERVER_ERROR" in codes:
        span.set_status(Status(StatusCode.ERROR))


__all__ = [
    "asgi_middleware_options",
    "end_operation",
    "instrument_engine",
    "operation_span",
    "operation_tracer",
    "tracer_provider_from_environment",
    "tracing_requested",
]
