"""SIGTERM while requests are in flight: every one of them finishes with 200."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx

from tests.live_server import live_server, sqlite_env

SIGNUP = (
    'mutation S($e: String!) { signup(input: {email: $e, password: "correct horse battery"})'
    " { user { email } } }"
)


async def test_sigterm_lets_ten_in_flight_requests_finish(tmp_path: Path) -> None:
    env = sqlite_env(
        tmp_path / "shutdown.db",
        {
            # Slow hashing keeps the ten signups in flight when the signal arrives: one
            # hash at 14 rounds took 0.8 s here (13 rounds, 0.4 s, was over before it).
            "BCRYPT_ROUNDS": "14",
            "RATE_LIMIT_PER_ADDRESS": "1000/minute",
            "LOG_LEVEL": "WARNING",
        },
    )
    with live_server(env) as (base_url, process):
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, limits=no_reuse, timeout=60) as http:
            requests = [
                asyncio.create_task(
                    http.post(
                        "/graphql",
                        json={"query": SIGNUP, "variables": {"e": f"u{n}@example.com"}},
                    )
                )
                for n in range(10)
            ]
            await asyncio.sleep(0.3)
            assert not any(request.done() for request in requests)
            process.send_signal(signal.SIGTERM)
            responses = await asyncio.gather(*requests)
        assert [response.status_code for response in responses] == [200] * 10
        assert all("errors" not in response.json() for response in responses)
        # uvicorn finishes its graceful shutdown, then re-raises the caught signal (see
        # Server.capture_signals) with the default handler back: the process ends by SIGTERM.
        assert await asyncio.to_thread(process.wait, 30) == -signal.SIGTERM
