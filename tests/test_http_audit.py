"""The GraphQL-over-HTTP audit suite of `graphql-http` against a live taskql: every audit ok."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.live_server import live_server, sqlite_env
from tests.node_tools import ensure_npm_packages, require_tool

AUDIT_DIR = Path(__file__).parent / "http_audit"
AUDIT_TIMEOUT_SECONDS = 120
# graphql-http 1.23.1 (package-lock.json) runs 61 audits: the 60 of earlier releases and one more.
AUDIT_COUNT = 61


def test_graphql_http_audit_passes_every_check(tmp_path: Path) -> None:
    node = require_tool("node")
    ensure_npm_packages(AUDIT_DIR)
    env = sqlite_env(tmp_path / "audit.db", {"LOG_LEVEL": "WARNING"})
    with live_server(env) as (base_url, _):
        audit = subprocess.run(
            [node, "audit.mjs", f"{base_url}/graphql"],
            cwd=AUDIT_DIR,
            capture_output=True,
            text=True,
            timeout=AUDIT_TIMEOUT_SECONDS,
            check=False,
        )
    lines = audit.stdout.strip().splitlines()
    not_ok = [line for line in lines[:-1] if not line.startswith("ok ")]
    assert not_ok == [], audit.stdout + audit.stderr
    assert lines[-1] == f"{len(lines) - 1}/{len(lines) - 1} ok"
    assert len(lines) - 1 == AUDIT_COUNT, audit.stdout
    assert audit.returncode == 0
