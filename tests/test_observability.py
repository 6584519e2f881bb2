"""One log line per operation, never a token or password; Prometheus metrics at /metrics."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.helpers import DEFAULT_PASSWORD, post_graphql, signup


async def test_one_log_line_per_operation_without_secrets(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="taskql.operations"):
        payload = await signup(client, "logs@example.com")
        await post_graphql(
            client,
            "query Me { me { id } }",
            token=payload["accessToken"],
            headers={"X-Request-ID": "log-1"},
        )
    lines = [record for record in caplog.records if record.name == "taskql.operations"]
    assert len(lines) == 2
    me = lines[1]
    assert vars(me)["request_id"] == "log-1"
    assert vars(me)["operation_name"] == "Me"
    assert vars(me)["operation_type"] == "query"
    assert isinstance(vars(me)["user_id"], int)
    assert vars(me)["error_codes"] == []
    assert vars(me)["duration_ms"] >= 0
    assert payload["accessToken"] not in caplog.text
    assert DEFAULT_PASSWORD not in caplog.text


async def test_metrics_count_operations_by_name_and_outcome(client: httpx.AsyncClient) -> None:
    await post_graphql(client, "query Metered { __typename }")
    await post_graphql(client, "query Metered { nope }")
    text = (await client.get("/metrics")).text
    assert 'taskql_graphql_operations_total{operation="Metered",outcome="ok",type="query"}' in text
    assert 'operation="Metered",outcome="GRAPHQL_VALIDATION_FAILED"' in text
    assert "taskql_graphql_operation_seconds_bucket" in text
    assert "taskql_db_pool_checked_out_connections" in text
