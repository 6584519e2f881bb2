"""The fuzz tests' settings and the invariants every answer must satisfy (tests/test_fuzz.py).

`TASKQL_FUZZ_EXAMPLES` sets how many requests each fuzz test sends per database
(default 100: three tests on two databases make 600), `TASKQL_FUZZ_SEED` a seed to
explore other examples than the fixed ones CI runs. What is sent comes from
tests/fuzz_values.py.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import httpx
from hypothesis import HealthCheck, Phase, settings

EXAMPLES = int(os.environ.get("TASKQL_FUZZ_EXAMPLES", "100"))
SEED = os.environ.get("TASKQL_FUZZ_SEED")

CONTRACT_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "CONFLICT",
        "RATE_LIMITED",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "SERVICE_UNAVAILABLE",
        "PERSISTED_QUERY_NOT_FOUND",
    }
)
"""Every code an answer may carry: the contract's, without INTERNAL_SERVER_ERROR, which
no input should ever reach."""

LEAK_MARKERS = (
    "Traceback",
    'File "',
    "SELECT ",
    "INSERT INTO",
    "DELETE FROM",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "sqlite3",
    "$2b$",
)
"""Text that only a stack trace, a statement or a password hash would put in an answer."""


def fuzz_settings() -> settings:
    """Deterministic unless TASKQL_FUZZ_SEED asks otherwise; no example database on disk."""
    return settings(
        max_examples=EXAMPLES,
        derandomize=SEED is None,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


# Values that broke something once, and their neighbours.


@dataclass(frozen=True)
class Sent:
    """One request as sent, kept for the invariants and for Hypothesis's failure report."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes = b""
    params: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """What the request itself says, which an answer may quote back (not its bearer
        token: that must never come back)."""
        headers = {name: value for name, value in self.headers.items() if name != "Authorization"}
        parts = [self.url, json.dumps(self.params), json.dumps(headers)]
        return "\n".join([*parts, self.content.decode("utf-8", "replace")])


def url_safe(params: dict[str, str]) -> dict[str, str]:
    """URL parameters travel as UTF-8, which cannot hold a lone surrogate."""
    return {name: value.encode("utf-8", "replace").decode() for name, value in params.items()}


async def send(client: httpx.AsyncClient, request: Sent) -> httpx.Response:
    return await client.request(
        request.method,
        request.url,
        headers=request.headers,
        content=request.content or None,
        params=request.params or None,
    )


def check_answer(request: Sent, response: httpx.Response, secrets: list[str]) -> None:
    """The contract's invariants, for any answer to any request."""
    status = response.status_code
    assert status < 500 or (status == 503 and "retry-after" in response.headers), (
        status,
        response.text[:500],
    )
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith(("application/json", "application/graphql-response+json")), (
        content_type
    )
    if request.method == "HEAD":
        return
    text = response.text
    sent = request.text()
    for marker in LEAK_MARKERS:
        assert marker not in text or marker in sent, f"{marker!r} in {text[:500]}"
    for secret in secrets:
        assert secret not in text or secret in sent, "a token the request did not carry"
    body = response.json()
    for answer in body if isinstance(body, list) else [body]:
        assert isinstance(answer, dict), body
        assert "data" in answer or answer.get("errors"), answer
        for error in answer.get("errors") or []:
            code = error.get("extensions", {}).get("code")
            assert code in CONTRACT_CODES, error
