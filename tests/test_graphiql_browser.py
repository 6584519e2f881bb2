"""GraphiQL in headless Chromium: served by taskql alone, under its CSP, offline.

The page, its scripts and Monaco's workers all come from the live server; the
driver refuses every request that leaves 127.0.0.1 and reports it. Subscriptions
run over the WebSocket on the same /graphql path.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    """A fresh login's access token (the user is signed up on first use)."""
    signup = "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }"
    login = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }"
    variables = {"input": {"email": EMAIL, "password": DEFAULT_PASSWORD}}
    for operation, field in ((signup, "signup"), (login, "login")):
        response = httpx.post(
            f"{base_url}/graphql",
            json={"query": operation, "variables": variables},
            headers={"Accept": "application/json"},
        )
        data = response.json().get("data")
        if data:
            token: str = data[field]["accessToken"]
            return token
    raise AssertionError(response.text)


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


def run_in_graphiql(base_url: str, token: str, query: str, *, while_waiting: Any = None) -> Any:
    """Run `query` in GraphiQL in headless Chromium; what its response pane shows.

    `while_waiting()` is called every half second until the page has an answer (a
    subscription shows one once an event arrives).
    """
    chromium = require_tool("chromium")
    node = require_tool("node")
    driver = subprocess.Popen(
        [node, str(Path("e2e") / "run-query.mjs")],
        cwd=GRAPHIQL_PACKAGE,
        env={
            "PATH": str(Path(node).parent),
            "TASKQL_URL": base_url,
            "TASKQL_TOKEN": token,
            "GRAPHIQL_QUERY": query,
            "CHROMIUM_PATH": chromium,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + BROWSER_TIMEOUT_SECONDS
    while driver.poll() is None and time.monotonic() < deadline:
        if while_waiting is not None:
            while_waiting()
        time.sleep(0.5)
    stdout, stderr = driver.communicate(timeout=10)
    outcome = json.loads(stdout.strip().splitlines()[-1]) if stdout else {}
    assert driver.returncode == 0, stdout + stderr
    assert outcome["external"] == []
    assert outcome["problems"] == []
    return json.loads(outcome["response"])


def test_graphiql_runs_me_with_a_token_from_the_headers_editor(graphiql_server: str) -> None:
    token = access_token(graphiql_server)

    response = run_in_graphiql(graphiql_server, token, "{ me { email } }")

    assert response == {"data": {"me": {"email": EMAIL}}}


def test_graphiql_runs_a_subscription_over_the_websocket(graphiql_server: str) -> None:
    token = access_token(graphiql_server)

    def change_a_task() -> None:
        httpx.post(
            f"{graphiql_server}/graphql",
            json={"query": 'mutation { createTask(input: {title: "Seen live"}) { id } }'},
            headers={"Authorization": f"Bearer {token}"},
        )

    response = run_in_graphiql(
        graphiql_server,
        token,
        "subscription { taskEvents { kind task { title } } }",
        while_waiting=change_a_task,
    )

    assert response == {"data": {"taskEvents": {"kind": "CREATED", "task": {"title": "Seen live"}}}}
