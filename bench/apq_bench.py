"""W1 as an automatic persisted query sent by GET, against W1 sent in full, in one run.

    uv run python -m bench.apq_bench [DSN]   (default postgresql://postgres@127.0.0.1:5432/taskql_apq_bench)

Seeds DSN like bench/seed.py (the database is dropped and recreated), starts one
uvicorn worker (APP_ENV=production), registers W1 once, then loads the two forms
in alternating rounds with wrk and prints the median of each. Needs wrk
(apt-get update && apt-get install -y wrk). Knobs: SECONDS_EACH (8),
CONNECTIONS (32), ROUNDS (3).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bench.seed import email, seed
from bench.tasks_load import SECRET, UNITS, W1, login
from tests.live_server import live_server

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/taskql_apq_bench"
SECONDS = os.environ.get("SECONDS_EACH", "8")
CONNECTIONS = os.environ.get("CONNECTIONS", "32")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
POST_BODY_SCRIPT = """
local f = io.open(os.getenv("BODY_FILE"), "r"); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body
wrk.headers["Content-Type"] = "application/json"
"""


def persisted_extensions() -> str:
    sha256 = hashlib.sha256(W1.encode()).hexdigest()
    return json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha256}})


def wrk(url: str, token: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, float]:
    wrk_path = shutil.which("wrk")
    assert wrk_path is not None
    output = subprocess.run(  # noqa: S603
        [
            wrk_path,
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            "Accept: application/json",
            *extra,
            url,
        ],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Non-2xx or 3xx responses" not in output, output
    rps = re.search(r"Requests/sec:\s*([\d.]+)", output)
    assert rps is not None, output
    result = {"rps": float(rps.group(1))}
    for percentile in ("50", "99"):
        match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        assert match is not None, output
        result[f"p{percentile}"] = float(match.group(1)) * UNITS[match.group(2)]
    return result


def register_and_check(base: str, token: str, hashed_url: str) -> None:
    """Store W1 by hash once, then prove the GET is answered from the store."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    body = {"query": W1, "extensions": json.loads(persisted_extensions())}
    registered = httpx.post(f"{base}/graphql", json=body, headers=headers, timeout=30).json()
    hit = httpx.get(hashed_url, headers=headers, timeout=30).json()
    assert "errors" not in registered, registered
    assert hit == registered, hit


def median(samples: list[dict[str, float]], key: str) -> float:
    return statistics.median(sample[key] for sample in samples)


def main(dsn: str) -> int:
    if shutil.which("wrk") is None:
        hint = "apt-get update && apt-get install -y wrk"
        print(f"apq_bench: wrk is missing; {hint}", file=sys.stderr)  # noqa: T201
        return 2
    print(f"==> seeding {dsn}")  # noqa: T201
    asyncio.run(seed(dsn))
    env = {
        "APP_ENV": "production",
        "JWT_SECRET": SECRET,
        "DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://"),
        "AUTO_MIGRATE": "false",
        "LOG_LEVEL": "WARNING",
    }
    workdir = Path(tempfile.mkdtemp(prefix="taskql-apq-bench-"))
    script, body_file = workdir / "post.lua", workdir / "W1.json"
    script.write_text(POST_BODY_SCRIPT)
    body_file.write_text(json.dumps({"query": W1}))
    with live_server(env, extra_args=("--log-level", "warning")) as (base, _process):
        token = login(base, email(0))
        url = f"{base}/graphql"
        hashed_url = f"{url}?{urlencode({'extensions': persisted_extensions()})}"
        register_and_check(base, token, hashed_url)
        in_full: list[dict[str, float]] = []
        persisted: list[dict[str, float]] = []
        for _ in range(ROUNDS):
            in_full.append(wrk(url, token, "-s", str(script), env={"BODY_FILE": str(body_file)}))
            persisted.append(wrk(hashed_url, token))
    sizes = {
        "W1 in full, POST": len(body_file.read_bytes()),
        "W1 persisted, GET by hash": len(hashed_url.removeprefix(base)),
    }
    print(f"\nmedian of {ROUNDS} alternating rounds, {SECONDS} s each, {CONNECTIONS} connections")  # noqa: T201
    print(f"{'workload':28} {'bytes':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")  # noqa: T201
    for name, samples in (("W1 in full, POST", in_full), ("W1 persisted, GET by hash", persisted)):
        print(  # noqa: T201
            f"{name:28} {sizes[name]:6d} {median(samples, 'rps'):9.0f} "
            f"{median(samples, 'p50'):8.2f} {median(samples, 'p99'):8.2f}"
        )
    ratio = median(persisted, "rps") / median(in_full, "rps")
    print(f"persisted / in full, req/s: {ratio:.2f}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DSN))
