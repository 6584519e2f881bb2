"""OpenTelemetry: request, operation and SQL spans, parented; trace ids on log lines; off
by default with nothing installed; JSON log lines without tokens or SQL."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from main import create_app
from tests.conftest import make_settings
from tests.helpers import DEFAULT_PASSWORD, graphql, signup
from tests.test_admission import graphql_endpoint
from tests.ws_client import WAIT_SECONDS, serving, socket, user_pk, wait_subscribed
from web.logging import JsonFormatter
from web.tracing import tracer_provider_from_environment, tracing_requested

MINE = "query Mine { me { email } tasks(first: 2) { edges { node { title tags } } } }"
CREATE = 'mutation { createTask(input: {title: "traced", tags: ["x"]}) { id } }'


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    yield spans
    spans.shutdown()


@pytest.fixture
async def traced_app(database_url: str, exporter: InMemorySpanExporter) -> AsyncIterator[FastAPI]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(make_settings(database_url, log_format="json"), tracer_provider=provider)
    async with app.router.lifespan_context(app):
        yield app
    provider.shutdown()


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


@contextmanager
def log_lines() -> Iterator[io.StringIO]:
    """What taskql's configured log handler writes (same formatter, same filters)."""
    taskql_logger = logging.getLogger("taskql")
    configured = taskql_logger.handlers[0]
    written = io.StringIO()
    copy = logging.StreamHandler(written)
    copy.setFormatter(configured.formatter)
    for log_filter in configured.filters:
        copy.addFilter(log_filter)
    taskql_logger.addHandler(copy)
    try:
        yield written
    finally:
        taskql_logger.removeHandler(copy)


async def test_one_operation_yields_request_operation_and_sql_spans_parented(
    traced_app: FastAPI, exporter: InMemorySpanExporter
) -> None:
    async with _client(traced_app) as client:
        token = (await signup(client, "ada@example.com"))["accessToken"]
        assert "errors" not in await graphql(client, CREATE, token=token)
        exporter.clear()
        with log_lines() as written:
            body = await graphql(client, MINE, token=token)
    assert body["data"]["me"] == {"email": "ada@example.com"}
    spans = exporter.get_finished_spans()
    (request,) = [span for span in spans if span.kind is SpanKind.SERVER]
    assert request.parent is None
    assert request.attributes is not None
    (operation,) = [span for span in spans if span.name == "query Mine"]
    assert operation.attributes == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "Mine",
    }
    assert request.context is not None
    assert operation.context is not None
    assert _parent(operation) == request.context.span_id
    statements = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert len(statements) >= 2  # the user, the page of tasks, their tags
    for statement in statements:
        assert _parent(statement) == operation.context.span_id
    assert {span.context.trace_id for span in spans if span.context} == {request.context.trace_id}
    # The request's log line leads to its trace.
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    (logged,) = [line for line in lines if line["logger"] == "taskql.operations"]
    assert logged["trace_id"] == format(request.context.trace_id, "032x")
    assert logged["span_id"] == format(request.context.span_id, "016x")


async def test_tracing_is_off_by_default_and_installs_nothing(app: FastAPI) -> None:
    assert not tracing_requested({})
    installed: list[object] = [middleware.cls for middleware in app.user_middleware]
    assert OpenTelemetryMiddleware not in installed
    assert graphql_endpoint(app).tracer is None
    dispatch = app.state.services.engine.sync_engine.dispatch
    assert not dispatch.before_cursor_execute
    assert not dispatch.after_cursor_execute
    handler = logging.getLogger("taskql").handlers[0]
    assert not handler.filters


def test_the_standard_variables_turn_tracing_on() -> None:
    assert tracing_requested({"OTEL_TRACES_EXPORTER": "otlp"})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing_requested(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}
    )


def test_the_provider_is_configured_by_the_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    provider = tracer_provider_from_environment(environ)
    assert provider.resource.attributes[SERVICE_NAME] == "taskql"
    provider.shutdown()
    monkeypatch.setenv("OTEL_SERVICE_NAME", "tasks-eu")
    provider = tracer_provider_from_environment(environ)
    assert provider.resource.attributes[SERVICE_NAME] == "tasks-eu"
    provider.shutdown()
    with pytest.raises(ValueError, match="no exporter named 'zipkin'"):
        tracer_provider_from_environment({"OTEL_TRACES_EXPORTER": "zipkin"})


async def test_json_log_lines_carry_no_tokens(database_url: str) -> None:
    app = create_app(make_settings(database_url, log_format="json", log_level="DEBUG"))
    with log_lines() as written:
        secrets = await _ask_with_tokens(app)
    logged = written.getvalue()
    assert "taskql.operations" in logged
    for secret in secrets:
        assert secret not in logged
        assert secret.split(".")[-1] not in logged  # not even a token's signature


async def _ask_with_tokens(app: FastAPI) -> list[str]:
    """Sign up, log in, and send a tampered token: the secrets that went by."""
    async with app.router.lifespan_context(app), _client(app) as client:
        payload = await signup(client, "ada@example.com")
        login = await graphql(
            client,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }",
            {"i": {"email": "ada@example.com", "password": DEFAULT_PASSWORD}},
        )
        tampered = payload["accessToken"][:-4] + "AAAA"
        await client.post(
            "/graphql",
            json={"query": "{ me { email } }"},
            headers={"Authorization": f"Bearer {tampered}"},
        )
    tokens = login["data"]["login"]
    return [
        payload["accessToken"],
        payload["refreshToken"],
        tampered,
        tokens["accessToken"],
        tokens["refreshToken"],
        DEFAULT_PASSWORD,
    ]


async def test_a_logged_database_error_shows_no_sql(app: FastAPI) -> None:
    engine = app.state.services.engine
    with pytest.raises(DBAPIError) as raised:
        async with engine.connect() as connection:
            await connection.execute(
                text("SELECT 'sql-marker' AS label, no_such_column FROM users WHERE email = :e"),
                {"e": "ada@example.com"},
            )
    record = logging.LogRecord(
        "taskql.errors", logging.ERROR, __file__, 1, "unexpected", None, _exc_info(raised.value)
    )
    line = JsonFormatter().format(record)
    assert "sql-marker" in str(raised.value)  # SQLAlchemy's own text has the SQL
    entry: dict[str, Any] = json.loads(line)
    assert "sql-marker" not in entry["traceback"]
    assert "ada@example.com" not in entry["traceback"]
    assert "[SQL hidden]" in entry["traceback"]


def _exc_info(error: BaseException) -> tuple[type[BaseException], BaseException, Any]:
    return type(error), error, error.__traceback__


async def test_websocket_operations_yield_operation_spans(
    traced_app: FastAPI, exporter: InMemorySpanExporter
) -> None:
    async with _client(traced_app) as client:
        signed = await signup(client, "socket@example.com")
        token = signed["accessToken"]
        assert "errors" not in await graphql(client, CREATE, token=token)
    exporter.clear()
    async with serving(traced_app) as url, socket(url, token=token) as ws:
        await ws.subscribe("1", MINE)
        assert [(await ws.receive())["type"] for _ in range(2)] == ["next", "complete"]
        await ws.subscribe("2", "subscription Bad { taskEvents { nope } }")
        assert (await ws.receive())["type"] == "error"
        await ws.subscribe("3", "subscription Events { taskEvents { kind } }")
        await wait_subscribed(traced_app, user_pk(signed["user"]["id"]))
        await ws.send({"id": "3", "type": "complete"})
        async with asyncio.timeout(WAIT_SECONDS):  # the subscription's span ends as it stops
            while not _named(exporter, "subscription Events"):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    (query,) = _named(exporter, "query Mine")
    assert query.attributes == {"graphql.operation.type": "query", "graphql.operation.name": "Mine"}
    assert query.context is not None
    statements = [span for span in exporter.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert any(_parent(statement) == query.context.span_id for statement in statements)
    (refused,) = _named(exporter, "subscription Bad")
    assert refused.attributes == {
        "graphql.operation.type": "subscription",
        "graphql.operation.name": "Bad",
        "taskql.error_codes": ("GRAPHQL_VALIDATION_FAILED",),
    }
    (events,) = _named(exporter, "subscription Events")
    assert events.attributes == {
        "graphql.operation.type": "subscription",
        "graphql.operation.name": "Events",
    }


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]
