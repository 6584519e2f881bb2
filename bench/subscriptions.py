"""Task events at scale: 1,000 sockets over 2 workers, 10,000 deliveries, latency and memory.

One command: a fresh PostgreSQL database (`taskql_bench_ws`), `uvicorn main:app
--workers 2` on it (APP_ENV=production), 100 users with 10 sockets each, one
`taskEvents` subscription per socket. A writer then updates the users' tasks over
HTTP, 50 changes a second, 1,000 in all: each reaches the 10 sockets of its user,
10,000 deliveries. It prints delivery latency from commit (`at`, the change's
commit time) to receipt, p50 and p99, deliveries lost and duplicated (each
change is known by its `at`, which the writer reads back as `updatedAt`), and
memory per idle socket: the workers' RSS with every socket idle, minus their RSS
before any socket, over the number of sockets.

Usage: uv run python -m bench.subscriptions [POSTGRES_ADMIN_URL]
       (default postgresql://postgres@127.0.0.1:5432/postgres)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from db import migrate
from tests.live_server import live_server

SECRET = "bench-secret-for-taskql-0123456789abcdef"  # noqa: S105 - a throwaway benchmark key
PASSWORD = "correct horse battery"  # noqa: S105 - the benchmark users' password
DATABASE = "taskql_bench_ws"
USERS = 100
SOCKETS_PER_USER = 10
WORKERS = 2
CHANGES = 1000
CHANGES_PER_SECOND = 50
SETTLE_SECONDS = 5.0
TARGET_P99_MS = 250.0
TARGET_BYTES_PER_SOCKET = 64 * 1024
CLIENT_CLOSED = 1000
SIGNUP = "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }"
CREATE = 'mutation { createTask(input: {title: "bench"}) { id } }'
UPDATE = "mutation($id: ID!, $t: String!) { updateTask(id: $id, input: {title: $t}) { updatedAt } }"
EVENTS = "subscription { taskEvents { kind taskId at task { id title updatedAt } } }"


@dataclass(eq=False)
class Subscriber:
    user: int
    connection: ClientConnection
    received: list[tuple[str, float]] = field(default_factory=list)
    """(at, receipt time.time()) of each event."""
    problems: list[str] = field(default_factory=list)
    """Error codes received, and how the socket closed if the server closed it."""


async def create_database(admin_url: str) -> str:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    url = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{url}/{DATABASE}"


async def drop_database(admin_url: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await admin.close()


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def make_users(http: httpx.AsyncClient) -> list[tuple[str, str]]:
    """(access token, task id) of each user."""

    async def one(number: int) -> tuple[str, str]:
        variables = {"input": {"email": f"ws{number}@example.com", "password": PASSWORD}}
        signed_up = await http.post("/graphql", json={"query": SIGNUP, "variables": variables})
        token: str = signed_up.json()["data"]["signup"]["accessToken"]
        created = await http.post(
            "/graphql", json={"query": CREATE}, headers={"Authorization": f"Bearer {token}"}
        )
        return token, created.json()["data"]["createTask"]["id"]

    users = []
    for start in range(0, USERS, 10):
        users += await asyncio.gather(*(one(n) for n in range(start, min(start + 10, USERS))))
    return users


async def open_subscriber(ws_url: str, user: int, token: str) -> Subscriber:
    connection = await connect(ws_url, subprotocols=["graphql-transport-ws"], open_timeout=30)  # type: ignore[list-item]
    await connection.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(connection.recv(), 30))
    assert ack["type"] == "connection_ack", ack
    payload = {"query": EVENTS}
    await connection.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return Subscriber(user, connection)


async def receive(subscriber: Subscriber) -> None:
    try:
        async for raw in subscriber.connection:
            received_at = time.time()
            message = json.loads(raw)
            payload = message.get("payload") or {}
            errors = payload if message["type"] == "error" else payload.get("errors", [])
            subscriber.problems += [error["extensions"]["code"] for error in errors]
            if message["type"] == "ping":
                await subscriber.connection.send('{"type":"pong"}')
            elif message["type"] == "next" and payload.get("data"):
                event = payload["data"]["taskEvents"]
                subscriber.received.append((event["at"], received_at))
    except ConnectionClosed as closed:
        if closed.rcvd is not None and closed.rcvd.code != CLIENT_CLOSED:
            subscriber.problems.append(f"closed {closed.rcvd.code}")


async def update(http: httpx.AsyncClient, token: str, task_id: str, title: str) -> str:
    response = await http.post(
        "/graphql",
        json={"query": UPDATE, "variables": {"id": task_id, "t": title}},
        headers={"Authorization": f"Bearer {token}"},
    )
    at: str = response.json()["data"]["updateTask"]["updatedAt"]
    return at


async def wait_all_live(
    http: httpx.AsyncClient, users: list[tuple[str, str]], subscribers: list[Subscriber]
) -> None:
    """Probe each user's task until every socket has seen an event (then forget them)."""
    for _ in range(20):
        waiting = {s.user for s in subscribers if not s.received}
        if not waiting:
            break
        await asyncio.gather(*(update(http, *users[user], "probe") for user in waiting))
        await asyncio.sleep(1.0)
    else:
        raise RuntimeError("some subscriptions never went live")
    await asyncio.sleep(1.0)
    for subscriber in subscribers:
        subscriber.received.clear()


async def write(http: httpx.AsyncClient, users: list[tuple[str, str]]) -> dict[int, list[str]]:
    """CHANGES updates at CHANGES_PER_SECOND, round robin over users; each user's `at`s."""
    committed: dict[int, list[str]] = defaultdict(list)
    started = time.monotonic()
    pending = []

    async def change(number: int) -> None:
        user = number % USERS
        committed[user].append(await update(http, *users[user], f"change {number}"))

    for number in range(CHANGES):
        delay = started + number / CHANGES_PER_SECOND - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(change(number)))
    await asyncio.gather(*pending)
    return committed


def percentile(values: list[float], point: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[point - 1]


async def run(admin_url: str) -> None:
    url = await create_database(admin_url)
    await asyncio.to_thread(migrate.upgrade, url)
    env = {
        "APP_ENV": "production",
        "DATABASE_URL": url,
        "JWT_SECRET": SECRET,
        "BCRYPT_ROUNDS": "4",
        "ACCESS_TOKEN_TTL_SECONDS": "3600",
        "RATE_LIMIT_PER_ADDRESS": "100000/minute",
        "RATE_LIMIT_PER_ACCOUNT": "100000/minute",
        "LOG_LEVEL": "WARNING",
    }
    try:
        # uvicorn logs every socket at info (a full pipe would stall it); per-message deflate
        # is off as README recommends for subscriptions (~100 KiB of zlib state per socket).
        flags = ("--log-level", "warning", "--ws-per-message-deflate", "false")
        with live_server(env, workers=WORKERS, extra_args=flags) as (base_url, process):
            limits = httpx.Limits(max_connections=20)
            async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
                users = await make_users(http)
                await asyncio.sleep(2)
                workers = worker_pids(process.pid)
                rss_none = sum(rss_bytes(pid) for pid in workers)
                ws_url = base_url.replace("http://", "ws://") + "/graphql"
                subscribers: list[Subscriber] = []
                for user, (token, _task) in enumerate(users):
                    subscribers += await asyncio.gather(
                        *(open_subscriber(ws_url, user, token) for _ in range(SOCKETS_PER_USER))
                    )
                readers = [asyncio.create_task(receive(s)) for s in subscribers]
                await wait_all_live(http, users, subscribers)
                await asyncio.sleep(3)
                rss_idle = sum(rss_bytes(pid) for pid in workers)
                write_started = time.monotonic()
                committed = await write(http, users)
                write_seconds = time.monotonic() - write_started
                await asyncio.sleep(SETTLE_SECONDS)
                for subscriber in subscribers:
                    await subscriber.connection.close()
                for reader in readers:
                    reader.cancel()
            report(subscribers, committed, rss_none, rss_idle, write_seconds)
    finally:
        await drop_database(admin_url)


def report(
    subscribers: list[Subscriber],
    committed: dict[int, list[str]],
    rss_none: int,
    rss_idle: int,
    write_seconds: float,
) -> None:
    latencies: list[float] = []
    lost = duplicated = delivered = 0
    for subscriber in subscribers:
        expected = set(committed[subscriber.user])
        seen: dict[str, int] = defaultdict(int)
        for at, received_at in subscriber.received:
            seen[at] += 1
            if seen[at] == 1 and at in expected:
                delivered += 1
                latencies.append((received_at - datetime.fromisoformat(at).timestamp()) * 1000)
        lost += len(expected - set(seen))
        duplicated += sum(count - 1 for count in seen.values())
    problems = Counter(problem for subscriber in subscribers for problem in subscriber.problems)
    sockets = len(subscribers)
    per_socket = (rss_idle - rss_none) / sockets
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    rows = [
        (
            "sockets (users x sockets, workers)",
            f"{sockets} ({USERS} x {SOCKETS_PER_USER}, {WORKERS})",
        ),
        ("changes (per second achieved)", f"{CHANGES} ({CHANGES / write_seconds:.1f}/s)"),
        ("deliveries expected / received", f"{CHANGES * SOCKETS_PER_USER} / {delivered}"),
        ("latency commit -> receipt p50", f"{p50:.1f} ms"),
        ("latency commit -> receipt p99", f"{p99:.1f} ms (target <= {TARGET_P99_MS:.0f})"),
        ("lost", f"{lost} (target 0)"),
        ("duplicated", f"{duplicated} (target 0)"),
        ("errors and closes seen", ", ".join(f"{k} x{v}" for k, v in problems.items()) or "none"),
        (
            "worker RSS, no sockets -> idle sockets",
            f"{rss_none / 2**20:.1f} -> {rss_idle / 2**20:.1f} MiB",
        ),
        ("memory per idle socket", f"{per_socket / 1024:.1f} KiB (target <= 64)"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |")  # noqa: T201
    print(f"| {'-' * width} | --- |")  # noqa: T201
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")  # noqa: T201
    ok = (
        p99 <= TARGET_P99_MS
        and lost == 0
        and duplicated == 0
        and per_socket <= TARGET_BYTES_PER_SOCKET
    )
    print("all targets met" if ok else "TARGETS MISSED")  # noqa: T201


def main() -> None:
    admin_url = (
        sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    asyncio.run(run(admin_url))


if __name__ == "__main__":
    main()
