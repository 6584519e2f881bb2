"""The database going away under load: prompt 503 with Retry-After, then recovery, no restart."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx

from main import create_app
from tests.conftest import make_settings
from tests.helpers import answered_within, error_codes, post_graphql, signup
from tests.tcp_proxy import TcpProxy

ME = "{ me { email } }"


async def test_database_outage_is_503_then_recovers(postgres_database: str) -> None:
    target = urlsplit(postgres_database)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    proxied = postgres_database.replace(f":{target.port}/", f":{proxy.port}/")
    app = create_app(
        make_settings(proxied, db_connect_timeout_seconds=1, db_pool_timeout_seconds=1)
    )
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                token = (await signup(client, "outage@example.com"))["accessToken"]
                load = [post_graphql(client, ME, token=token) for _ in range(10)]
                before = await asyncio.gather(*load)
                assert {response.status_code for response in before} == {200}

                await proxy.stop()
                during = await asyncio.wait_for(
                    asyncio.gather(*(post_graphql(client, ME, token=token) for _ in range(5))),
                    timeout=10,
                )
                for response in during:
                    assert response.status_code == 503, response.text
                    assert response.headers["retry-after"] == "5"
                    assert error_codes(response.json()) == ["SERVICE_UNAVAILABLE"]
                    assert "asyncpg" not in response.text
                    assert "Connect" not in response.text

                await proxy.start()
                # The breaker's probe (every DB_PROBE_INTERVAL_SECONDS) sees it back.
                after = await answered_within(1, lambda: post_graphql(client, ME, token=token))
                assert after.json() == {"data": {"me": {"email": "outage@example.com"}}}
    finally:
        await proxy.stop()
