"""Latency of an authenticated `me` query, alone and while 20 logins run concurrently.

bcrypt runs at its production cost (12) on a thread pool one core smaller than
the machine, so a burst of logins should leave the event loop free for everything
else. Target: p99 of `me` under logins within 3x of p99 alone, on one worker.

Usage: uv run python -m bench.auth_latency [DATABASE_URL]   (default: a temporary SQLite file)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from db import migrate
from tests.live_server import live_server

SECRET = "bench-secret-for-taskql-0123456789abcdef"  # noqa: S105 - a throwaway benchmark key
PASSWORD = "correct horse battery"  # noqa: S105 - the benchmark user's password
CONCURRENT_LOGINS = 20
SAMPLES = 400
WARM_UP = 30
TARGET_RATIO = 3.0
ME = "{ me { id email } }"
SIGNUP = "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }"
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }"


async def sample_me(http: httpx.AsyncClient, token: str, count: int) -> list[float]:
    """Sequential `me` round trips on one keep-alive connection; milliseconds each."""
    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = await http.post("/graphql", json={"query": ME}, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.json()["data"]["me"]["email"] == "bench@example.com", response.text
    return timings


async def keep_logging_in(base_url: str, stop: asyncio.Event, done: list[float]) -> None:
    variables = {"input": {"email": "bench@example.com", "password": PASSWORD}}
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
        while not stop.is_set():
            started = time.perf_counter()
            response = await http.post("/graphql", json={"query": LOGIN, "variables": variables})
            assert "errors" not in response.json(), response.text
            done.append((time.perf_counter() - started) * 1000)


def percentile(timings: list[float], point: int) -> float:
    return statistics.quantiles(timings, n=100, method="inclusive")[point - 1]


async def measure(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        response = await http.post(
            "/graphql",
            json={
                "query": SIGNUP,
                "variables": {"input": {"email": "bench@example.com", "password": PASSWORD}},
            },
        )
        token = response.json()["data"]["signup"]["accessToken"]
        await sample_me(http, token, WARM_UP)
        alone = await sample_me(http, token, SAMPLES)

        stop = asyncio.Event()
        logins: list[float] = []
        loops = [
            asyncio.create_task(keep_logging_in(base_url, stop, logins))
            for _ in range(CONCURRENT_LOGINS)
        ]
        await asyncio.sleep(1.0)  # let the logins fill the bcrypt pool first
        under_logins = await sample_me(http, token, SAMPLES)
        stop.set()
        await asyncio.gather(*loops)

    rows = [("me alone", alone), (f"me with {CONCURRENT_LOGINS} logins running", under_logins)]
    print(f"{'scenario':<32} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8}")  # noqa: T201
    for name, timings in rows:
        print(  # noqa: T201
            f"{name:<32} {len(timings):>8} {statistics.median(timings):>8.2f} "
            f"{percentile(timings, 99):>8.2f}"
        )
    print(  # noqa: T201
        f"{'login (bcrypt cost 12)':<32} {len(logins):>8} {statistics.median(logins):>8.2f} "
        f"{percentile(logins, 99):>8.2f}"
    )
    ratio = percentile(under_logins, 99) / percentile(alone, 99)
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"p99 under logins / p99 alone = {ratio:.2f} (target <= {TARGET_RATIO}: {verdict})")  # noqa: T201


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        database_url = (
            sys.argv[1] if len(sys.argv) > 1 else f"sqlite+aiosqlite:///{Path(scratch) / 'b.db'}"
        )
        migrate.upgrade(database_url)
        env = {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "JWT_SECRET": SECRET,
            "BCRYPT_ROUNDS": "12",
            "AUTO_MIGRATE": "false",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_PER_ADDRESS": "1000000/minute",
            "RATE_LIMIT_PER_ACCOUNT": "1000000/minute",
        }
        with live_server(env, workers=1) as (base_url, _):
            asyncio.run(measure(base_url))


if __name__ == "__main__":
    main()
