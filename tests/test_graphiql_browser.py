"""GraphiQL in headless Chromium: served by taskql alone, under its CSP, offline.

The page, its scripts and Monaco's workers all come from the live server; the
driver refuses every request that leaves 127.0.0.1 and reports it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import DEFAULT_PASSWORD
from tests.live_server import ROOT, live_server, sqlite_env
from tests.node_tools import ensure_npm_packages, require_tool

GRAPHIQL_PACKAGE = ROOT / "clients" / "graphiql"
BROWSER_TIMEOUT_SECONDS = 120
EMAIL = "browser@example.com"


@pytest.fixture(scope="module")
def graphiql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ensure_npm_packages(GRAPHIQL_PACKAGE)
    database = tmp_path_factory.mktemp("graphiql") / "taskql.db"
    with live_server(sqlite_env(database)) as (base_url, _process):
        yield base_url


def access_token(base_url: str) -> str:
    signup = "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }"
    variables = {"input": {"email": EMAIL, "password": DEFAULT_PASSWORD}}
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": signup, "variables": variables},
        headers={"Accept": "application/json"},
    )
    token: str = response.json()["data"]["signup"]["accessToken"]
    return token


def test_page_loads_only_its_own_scripts(graphiql_server: str) -> None:
    response = httpx.get(f"{graphiql_server}/graphql", headers={"Accept": "text/html"})
    scripts = re.findall(r"<script[^>]*>", response.text)

    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert scripts == ['<script type="module" src="/graphiql/assets/graphiql.js">']
    assert "</script>" in response.text
    assert re.search(r"<script[^>]*>[^<]+</script>", response.text) is None
    for asset in ("graphiql.js", "graphiql.css", "editor.worker.js", "graphql.worker.js"):
        assert httpx.get(f"{graphiql_server}/graphiql/assets/{asset}").status_code == 200


def test_asset_route_serves_nothing_outside_the_bundle(graphiql_server: str) -> None:
    outside = httpx.get(f"{graphiql_server}/graphiql/assets/..%2F..%2Fpackage.json")

    assert outside.status_code == 404


def test_graphiql_runs_me_with_a_token_from_the_headers_editor(graphiql_server: str) -> None:
    chromium = require_tool("chromium")
    node = require_tool("node")
    token = access_token(graphiql_server)

    driver = subprocess.run(
        [node, str(Path("e2e") / "run-query.mjs")],
        cwd=GRAPHIQL_PACKAGE,
        env={
            "PATH": str(Path(node).parent),
            "TASKQL_URL": graphiql_server,
            "TASKQL_TOKEN": token,
            "GRAPHIQL_QUERY": "{ me { email } }",
            "CHROMIUM_PATH": chromium,
        },
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_SECONDS,
        check=False,
    )
    outcome = json.loads(driver.stdout.strip().splitlines()[-1]) if driver.stdout else {}

    assert driver.returncode == 0, driver.stdout + driver.stderr
    assert outcome["external"] == []
    assert outcome["problems"] == []
    assert json.loads(outcome["response"]) == {"data": {"me": {"email": EMAIL}}}
