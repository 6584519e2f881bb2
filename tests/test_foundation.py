"""The skeleton: the app answers, the schema file matches the code, migrations round-trip."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

import cli
from db import migrate
from db.models import Base
from schema import export_sdl
from settings import ConfigurationError, load_settings
from tests.conftest import POSTGRES_ADMIN_URL, _asyncpg_url
from tests.helpers import graphql

ROOT = Path(__file__).resolve().parent.parent


async def test_typename_answers_over_http(client: httpx.AsyncClient) -> None:
    assert await graphql(client, "{ __typename }") == {"data": {"__typename": "Query"}}


async def test_healthz_answers_while_the_process_runs(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_while_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200


async def test_request_id_is_made_or_echoed(client: httpx.AsyncClient) -> None:
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    echoed = await client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert echoed.headers["x-request-id"] == "trace-42"
    refused = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert refused.headers["x-request-id"] != "bad id\twith spaces"


def test_committed_schema_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == export_sdl(), "schema.graphql is stale: run `taskql export-schema`"


def test_export_schema_check_fails_on_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { stale: Int }\n")
    monkeypatch.setattr(cli, "SCHEMA_FILE", stale)
    assert cli.main(["export-schema", "--check"]) == 1
    assert cli.main(["export-schema"]) == 0
    assert stale.read_text() == export_sdl()
    assert cli.main(["export-schema", "--check"]) == 0


def _tables(sync_connection: object) -> set[str]:
    return set(inspect(sync_connection).get_table_names()) - {"alembic_version"}


async def _table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_tables)
    finally:
        await engine.dispose()


async def _roundtrip(url: str) -> None:
    expected = {table.name for table in Base.metadata.sorted_tables}
    await asyncio.to_thread(migrate.upgrade, url)
    assert await _table_names(url) == expected
    await asyncio.to_thread(migrate.downgrade, url, "base")
    assert await _table_names(url) == set()
    await asyncio.to_thread(migrate.upgrade, url)
    assert await _table_names(url) == expected


async def test_migrations_roundtrip_on_sqlite(tmp_path: Path) -> None:
    await _roundtrip(f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}")


async def test_migrations_roundtrip_on_postgresql(postgres_database: str) -> None:
    name = f"taskql_migrate_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await _roundtrip(_asyncpg_url(POSTGRES_ADMIN_URL, name))
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def test_alembic_command_line_runs_against_the_configured_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "test"}
    for args in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"]):
        result = subprocess.run(
            [sys.executable, "-m", "alembic", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import main"],
        cwd=ROOT,
        env={
            k: v
            for k, v in {**os.environ, **env}.items()
            if k != "JWT_SECRET" or "JWT_SECRET" in env
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_without_jwt_secret_refuses_to_start() -> None:
    result = _start({"APP_ENV": "production"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "JWT_SECRET" in lines[0]


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("JWT_SECRET", "too-short", "JWT_SECRET"),
        ("DATABASE_URL", "mysql://localhost/taskql", "DATABASE_URL"),
        ("ACCESS_TOKEN_TTL_SECONDS", "-5", "ACCESS_TOKEN_TTL_SECONDS"),
        ("APP_ENV", "staging", "APP_ENV"),
    ],
)
def test_bad_configuration_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, setting: str, value: str, named: str
) -> None:
    monkeypatch.setenv(setting, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert named in message
    assert "\n" not in message


def test_development_without_a_secret_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(app_env="development")
    assert settings.jwt_secret is None
    assert len(settings.signing_key) >= 32
