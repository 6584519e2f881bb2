"""Prometheus metrics at /metrics: operations by name and outcome, latencies, pool usage.

Several worker processes: point `PROMETHEUS_MULTIPROC_DIR` at an empty directory
that all workers share (empty it before each start). prometheus-client then keeps
every worker's samples in files there, and /metrics merges them, whichever worker
answers the scrape. Without it, each process reports only itself.
"""

from __future__ import annotations

import os
import re
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response

from auth.context import services_of
from settings import Settings

# Operation names come from clients; past this many distinct ones a process
# reports the rest as "other", so a client cannot grow the series without bound.
MAX_OPERATION_NAMES = 200
OTHER_OPERATION = "other"
ANONYMOUS_OPERATION = "anonymous"

OPERATIONS = Counter(
    "taskql_graphql_operations",
    "GraphQL operations by name, type and outcome (ok or the first error code).",
    ["operation", "type", "outcome"],
)
OPERATION_SECONDS = Histogram(
    "taskql_graphql_operation_seconds",
    "Time from receiving a GraphQL operation to having its response.",
    ["operation", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POOL_CHECKED_OUT = Gauge(
    "taskql_db_pool_checked_out_connections",
    "Database connections currently lent out by the pool.",
    multiprocess_mode="livesum",
)
POOL_CAPACITY = Gauge(
    "taskql_db_pool_capacity_connections",
    "Connections the pool may hold (pool size plus overflow).",
    multiprocess_mode="livesum",
)

MAX_OPERATION_NAME_LENGTH = 64
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")

_known_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    """The label of an operation name: a GraphQL name cut to 64 characters, one of at most
    MAX_OPERATION_NAMES per process; anything else is "other", whatever a client sends."""
    if not name:
        return ANONYMOUS_OPERATION
    if name in _known_operations:
        return name
    label = name[:MAX_OPERATION_NAME_LENGTH]
    if not _GRAPHQL_NAME.fullmatch(label):
        return OTHER_OPERATION
    if label not in _known_operations and len(_known_operations) >= MAX_OPERATION_NAMES:
        return OTHER_OPERATION
    _known_operations.add(label)
    return label


# The series an operation's (name, type, outcome) was last counted in: prometheus-client's
# `labels()` checks and looks them up again on every call. A name keeps its label once
# given one (`operation_label`), so what is remembered stays true; bounded, as names
# come from clients.
_series: dict[tuple[str | None, str, str], tuple[Any, Any]] = {}
MAX_REMEMBERED_SERIES = 1024


def record_operation(
    *, name: str | None, operation_type: str, outcome: str, seconds: float
) -> None:
    key = (name, operation_type, outcome)
    series = _series.get(key)
    if series is None:
        label = operation_label(name)
        series = (
            OPERATIONS.labels(label, operation_type, outcome),
            OPERATION_SECONDS.labels(label, operation_type),
        )
        if len(_series) < MAX_REMEMBERED_SERIES:
            _series[key] = series
    count, seconds_histogram = series
    count.inc()
    seconds_histogram.observe(seconds)


def instrument_pool(engine: AsyncEngine, settings: Settings) -> None:
    """Follow checkouts and check-ins, so the gauge is current without polling the pool."""

    def checked_out(*_: Any) -> None:
        POOL_CHECKED_OUT.inc()

    def checked_in(*_: Any) -> None:
        POOL_CHECKED_OUT.dec()

    event.listen(engine.sync_engine, "checkout", checked_out)
    event.listen(engine.sync_engine, "checkin", checked_in)
    if not settings.uses_sqlite:
        POOL_CAPACITY.inc(settings.db_pool_size + settings.db_max_overflow)


def release_pool(settings: Settings) -> None:
    if not settings.uses_sqlite:
        POOL_CAPACITY.dec(settings.db_pool_size + settings.db_max_overflow)
    if settings.prometheus_multiproc_dir:
        mark_process_dead(os.getpid(), settings.prometheus_multiproc_dir)  # type: ignore[no-untyped-call]


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    directory = services_of(request).settings.prometheus_multiproc_dir
    registry = REGISTRY
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
