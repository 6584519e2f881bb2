"""A real PostgreSQL stop and start, survived without restarting taskql.

This stops the machine's PostgreSQL cluster, so it only runs when asked to with
TASKQL_TEST_RESTART_POSTGRES=1 (`.ci/run` does, in a step of its own after the
main suite, when nothing else is using the database).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from main import create_app
from tests.conftest import make_settings
from tests.helpers import graphql, signup

RECOVERY_DEADLINE_SECONDS = 60

pytestmark = pytest.mark.skipif(
    os.environ.get("TASKQL_TEST_RESTART_POSTGRES") != "1",
    reason="stops the machine's PostgreSQL; set TASKQL_TEST_RESTART_POSTGRES=1 to run",
)


def _cluster(action: str) -> None:
    version = sorted(path.name for path in Path("/etc/postgresql").iterdir())[-1]
    pg_ctlcluster = shutil.which("pg_ctlcluster")
    assert pg_ctlcluster is not None, "pg_ctlcluster is needed to stop and start PostgreSQL"
    subprocess.run(
        [pg_ctlcluster, "--skip-systemctl-redirect", version, "main", action, "-m", "fast"]
        if action == "stop"
        else [pg_ctlcluster, "--skip-systemctl-redirect", version, "main", action],
        check=True,
        timeout=60,
    )


async def _ready_within(client: httpx.AsyncClient, seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if (await client.get("/readyz")).status_code == 200:
            return True
        await asyncio.sleep(0.5)
    return False


async def test_taskql_survives_a_real_postgresql_restart(postgres_database: str) -> None:
    app = create_app(make_settings(postgres_database, db_connect_timeout_seconds=2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            token = (await signup(client, "restart@example.com"))["accessToken"]
            assert (await client.get("/readyz")).status_code == 200
            await asyncio.to_thread(_cluster, "stop")
            try:
                assert (await client.get("/readyz")).status_code == 503
            finally:
                await asyncio.to_thread(_cluster, "start")
            assert await _ready_within(client, RECOVERY_DEADLINE_SECONDS)
            body = await graphql(client, "{ me { email } }", token=token)
            assert body == {"data": {"me": {"email": "restart@example.com"}}}
