#!/usr/bin/env bash
# The tasks benchmark in one command: seed PostgreSQL, load one uvicorn worker, print the table.
#
#   bench/run-tasks.sh [DSN]     (default postgresql://postgres@127.0.0.1:5432/taskql_bench)
#
# Needs wrk (apt-get update && apt-get install -y wrk) and PostgreSQL. Knobs:
# SECONDS_EACH (8), CONNECTIONS (32), ROUNDS (3: W4 page pairs, tracing pairs, and rounds of the
# side-by-side runs), PGL_PORT/TASKQL_PORT (ports of the PostGraphile comparison, 9150/9151).
# Prints, in one run: W1-W4; W1 with tracing configured but no collector; W1 beside the REST and
# floor references (../shared/bench/compare.sh); W1 and W2 beside PostGraphile 5
# (../shared/bench/peers/postgraphile/side_by_side.sh, on the same database; needs npm).
set -euo pipefail
cd "$(dirname "$0")/.."
dsn=${1:-postgresql://postgres@127.0.0.1:5432/taskql_bench}
if ! command -v wrk >/dev/null; then
  echo "run-tasks.sh: wrk is missing; install it with: apt-get update && apt-get install -y wrk" >&2
  exit 2
fi
echo "==> seeding $dsn (200 users x 200 tasks, and one user with 10,200)"
uv run python -m bench.seed "$dsn"
echo "==> loading one worker"
uv run python -m bench.tasks_load "$dsn"
echo "==> W1 and W2 beside PostGraphile (same database)"
shared=${SHARED_BENCH:-$(cd .. && pwd)/shared/bench}
"$shared/peers/postgraphile/side_by_side.sh" "$dsn"
