"""The frontend toolchain against a live taskql: codegen from the committed
schema.graphql, `tsc --noEmit`, and the Apollo Client and urql end-to-end scripts.

Access tokens live two seconds here, so each script sees its token expire and
renews it through `refreshToken` as its client's documentation recommends.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import ROOT, live_server, sqlite_env
from tests.node_tools import ensure_npm_packages, require_tool

CLIENTS = ROOT / "clients" / "typescript"
NPM_SCRIPT_TIMEOUT_SECONDS = 300


def npm_run(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """`npm run <script>` in clients/typescript; fails the test with its output."""
    completed = subprocess.run(
        [require_tool("npm"), "run", "--silent", script, *(["--", *args] if args else [])],
        cwd=CLIENTS,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=NPM_SCRIPT_TIMEOUT_SECONDS,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"npm run {script} failed:\n{output}"
    return output


@pytest.fixture(scope="module")
def generated_types() -> Path:
    ensure_npm_packages(CLIENTS)
    npm_run("codegen")
    return CLIENTS / "src" / "gql" / "graphql.ts"


@pytest.fixture(scope="module")
def taskql_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("frontend") / "taskql.db"
    env = sqlite_env(
        database,
        {
            "ACCESS_TOKEN_TTL_SECONDS": "2",
            "RATE_LIMIT_PER_ADDRESS": "1000/minute",
            "RATE_LIMIT_PER_ACCOUNT": "1000/minute",
        },
    )
    with live_server(env) as (base_url, _process):
        yield base_url


def test_codegen_types_the_operations_from_the_committed_schema(generated_types: Path) -> None:
    types = generated_types.read_text()

    assert "export type TasksQuery = " in types
    assert "export type CreateTaskMutationVariables = " in types


def test_operations_type_check(generated_types: Path) -> None:
    assert generated_types.exists()

    npm_run("typecheck")


def test_trusted_documents_manifest_matches_the_operations(generated_types: Path) -> None:
    assert generated_types.exists()

    npm_run("manifest", "--check")


def test_apollo_client_end_to_end(generated_types: Path, taskql_url: str) -> None:
    assert generated_types.exists()

    output = npm_run("e2e:apollo", env={"TASKQL_URL": taskql_url})

    assert "apollo: all checks passed" in output


def test_urql_end_to_end(generated_types: Path, taskql_url: str) -> None:
    assert generated_types.exists()

    output = npm_run("e2e:urql", env={"TASKQL_URL": taskql_url})

    assert "urql: all checks passed" in output
