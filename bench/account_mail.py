"""requestPasswordReset for a known and an unknown address, and the outbox's delivery rate.

1. A live taskql (one uvicorn worker, rate limits raised) with its outbox sender
   delivering to a local SMTP server (aiosmtpd): 200 `requestPasswordReset` for an
   existing account and 200 for an unknown address, alternated so that both see the
   same machine; p50 and p99 side by side and their ratio (target: within 1.1x).
2. The outbox alone: 1,000 composed messages in the table, drained by one sender
   over SMTP to the local server; messages a second (target: at least 50).

Usage: uv run python -m bench.account_mail [DATABASE_URL]   (default: a temporary SQLite file)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from db import migrate, outbox
from db.engine import create_engine, create_session_factory
from mail.messages import MessageKind, compose, new_message_id
from mail.sender import OutboxSender, transport_for
from settings import load_settings
from tests.live_server import live_server
from tests.smtp_server import Mailbox, smtp_server

SECRET = "bench-secret-for-taskql-0123456789abcdef"  # noqa: S105 - a throwaway benchmark key
PASSWORD = "correct horse battery"  # noqa: S105 - the benchmark user's password
REQUESTS_EACH = 200
WARM_UP = 20
MESSAGES = 1000
TARGET_RATIO = 1.1
# The sender works on each request after its answer (mail for a known address, nothing
# for an unknown one); a pause lets that finish, so that no request is timed while the
# previous one's mail is being sent: the request path alone is compared.
SETTLE_SECONDS = 0.05
# The p99 of 200 requests is their second-slowest: one stray pause moves it. Each round
# times 200 of each; the verdict takes the median of the rounds' ratios.
ROUNDS = 3
TARGET_RATE = 50.0
REQUEST_RESET = "mutation($email: String!) { requestPasswordReset(email: $email) }"
SIGNUP = "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }"


def percentile(timings: list[float], point: int) -> float:
    return statistics.quantiles(timings, n=100, method="inclusive")[point - 1]


async def time_reset(http: httpx.AsyncClient, email: str) -> float:
    started = time.perf_counter()
    response = await http.post(
        "/graphql", json={"query": REQUEST_RESET, "variables": {"email": email}}
    )
    elapsed = (time.perf_counter() - started) * 1000
    assert response.json() == {"data": {"requestPasswordReset": True}}, response.text
    return elapsed


async def measure_requests(base_url: str) -> list[tuple[list[float], list[float]]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        variables = {"input": {"email": "bench@example.com", "password": PASSWORD}}
        response = await http.post("/graphql", json={"query": SIGNUP, "variables": variables})
        assert "errors" not in response.json(), response.text
        for _ in range(WARM_UP):
            await time_reset(http, "bench@example.com")
            await time_reset(http, "nobody@example.com")
        return [await measure_round(http, number) for number in range(ROUNDS)]


async def measure_round(
    http: httpx.AsyncClient, round_number: int
) -> tuple[list[float], list[float]]:
    known: list[float] = []
    unknown: list[float] = []
    for number in range(REQUESTS_EACH):
        # Alternate which goes first, so neither always follows the other's mail work.
        pair = ["bench@example.com", f"nobody{round_number}-{number}@example.com"]
        for email in pair if number % 2 else reversed(pair):
            await asyncio.sleep(SETTLE_SECONDS)
            (known if email.startswith("bench") else unknown).append(await time_reset(http, email))
    return known, unknown


async def measure_outbox(database_url: str, smtp_port: int, mailbox: Mailbox) -> tuple[float, int]:
    settings = load_settings(
        app_env="test",
        database_url=database_url,
        jwt_secret=SECRET,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        outbox_batch_size=50,
    )
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    letter = compose(MessageKind.PASSWORD_CHANGED, settings)
    sender = OutboxSender(settings, sessions, transport_for(settings))
    try:
        while await sender.drain_once():  # what the live server left, untimed
            pass
        before = mailbox.count()
        async with sessions() as session:
            for number in range(MESSAGES):
                await outbox.enqueue(
                    session,
                    user_id=None,
                    kind=letter.kind.value,
                    recipient=f"reader{number}@example.com",
                    message_id=new_message_id(settings.mail_from),
                    subject=letter.subject,
                    body_text=letter.text,
                    body_html=letter.html,
                )
            await session.commit()
        started = time.perf_counter()
        sent = 0
        while claimed := await sender.drain_once():
            sent += claimed
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert sent == MESSAGES, sent
    return MESSAGES / elapsed, mailbox.count() - before


def report(rounds: list[tuple[list[float], list[float]]], rate: float, received: int) -> None:
    print(  # noqa: T201
        f"{'requestPasswordReset':<24} {'round':>5} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8}"
    )
    p50_ratios, p99_ratios = [], []
    for number, (known, unknown) in enumerate(rounds, start=1):
        for name, timings in (("existing address", known), ("unknown address", unknown)):
            print(  # noqa: T201
                f"{name:<24} {number:>5} {len(timings):>8} {statistics.median(timings):>8.2f} "
                f"{percentile(timings, 99):>8.2f}"
            )
        p50_ratios.append(statistics.median(known) / statistics.median(unknown))
        p99_ratios.append(percentile(known, 99) / percentile(unknown, 99))
    p50, p99 = statistics.median(p50_ratios), statistics.median(p99_ratios)
    worst = max(p50, p99, 1 / p50, 1 / p99)
    verdict = "met" if worst <= TARGET_RATIO else "MISSED"
    each = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(p50_ratios, p99_ratios, strict=True))
    print(  # noqa: T201
        f"existing / unknown, median of {len(rounds)} rounds: p50 {p50:.2f}x, p99 {p99:.2f}x "
        f"(rounds p50/p99: {each}; target within {TARGET_RATIO}x: {verdict})"
    )
    verdict = "met" if rate >= TARGET_RATE else "MISSED"
    print(  # noqa: T201
        f"outbox delivery: {MESSAGES} messages at {rate:.0f} messages/s over SMTP "
        f"({received} received; target >= {TARGET_RATE:.0f}: {verdict})"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        database_url = (
            sys.argv[1] if len(sys.argv) > 1 else f"sqlite+aiosqlite:///{Path(scratch) / 'b.db'}"
        )
        migrate.upgrade(database_url)
        with smtp_server() as (smtp_port, mailbox):
            env = {
                "APP_ENV": "test",
                "DATABASE_URL": database_url,
                "JWT_SECRET": SECRET,
                "BCRYPT_ROUNDS": "12",
                "AUTO_MIGRATE": "false",
                "LOG_LEVEL": "WARNING",
                "RATE_LIMIT_PER_ADDRESS": "1000000/minute",
                "RATE_LIMIT_PER_ACCOUNT": "1000000/minute",
                "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            }
            with live_server(env, workers=1) as (base_url, _):
                rounds = asyncio.run(measure_requests(base_url))
            rate, received = asyncio.run(measure_outbox(database_url, smtp_port, mailbox))
            report(rounds, rate, received)


if __name__ == "__main__":
    main()
