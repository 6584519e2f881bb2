"""taskql's command line: serve, migrate, export-schema, test.

taskql serve [--host H] [--port P] [--workers N] [--reload]
taskql migrate [upgrade|downgrade] [REVISION]
taskql export-schema [--check]
taskql promote EMAIL | taskql demote EMAIL
taskql test [PYTEST_ARGS...]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SCHEMA_FILE = ROOT / "schema.graphql"


def _build_graphiql_if_possible() -> None:
    """GraphiQL's assets come from npm; build them on first serve when npm is here."""
    from settings import ConfigurationError, load_settings  # noqa: PLC0415
    from web.graphiql import GRAPHIQL_DIST  # noqa: PLC0415

    try:
        production = load_settings().is_production
    except ConfigurationError:
        return  # main:app reports it, in one line, as it starts
    npm = shutil.which("npm")
    if production or npm is None or (GRAPHIQL_DIST / "graphiql.js").is_file():
        return
    print("==> building GraphiQL's assets (npm ci --prefix clients/graphiql)", flush=True)  # noqa: T201
    subprocess.call(  # noqa: S603 - fixed argv; a failure leaves the page's build hint
        [npm, "ci", "--prefix", str(ROOT / "clients" / "graphiql"), "--no-audit", "--no-fund"]
    )


def serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only this command needs it

    _build_graphiql_if_possible()
    uvicorn.run(
        "main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        proxy_headers=False,
        timeout_graceful_shutdown=30,
        # Task events are a few hundred bytes: compressing them saves little, and each
        # socket's zlib state would cost ~100 KiB (README "GraphQL over WebSocket").
        ws_per_message_deflate=False,
    )
    return 0


def migrate(args: argparse.Namespace) -> int:
    from db import migrate as migrations  # noqa: PLC0415
    from settings import ConfigurationError, load_settings  # noqa: PLC0415

    try:
        database_url = load_settings().database_url
    except ConfigurationError as error:
        print(f"taskql: {error}", file=sys.stderr)  # noqa: T201
        return 2
    if args.direction == "upgrade":
        migrations.upgrade(database_url, args.revision or "head")
    else:
        migrations.downgrade(database_url, args.revision or "-1")
    return 0


async def _set_role(database_url: str, email: str, role: str) -> int | None:
    from db.admin import set_role_by_email  # noqa: PLC0415
    from db.engine import create_engine, create_session_factory  # noqa: PLC0415
    from settings import load_settings  # noqa: PLC0415

    engine = create_engine(load_settings(database_url=database_url))
    try:
        async with create_session_factory(engine)() as session:
            user_id = await set_role_by_email(session, email=email, role=role)
            await session.commit()
            return user_id
    finally:
        await engine.dispose()


def set_role(args: argparse.Namespace) -> int:
    """promote / demote: the account's role, recorded in the audit log (actor: the command line).

    Takes effect on the account's next request: roles are read from the database."""
    from settings import ConfigurationError, load_settings  # noqa: PLC0415

    try:
        database_url = load_settings().database_url
    except ConfigurationError as error:
        print(f"taskql: {error}", file=sys.stderr)  # noqa: T201
        return 2
    role = "ADMIN" if args.command == "promote" else "USER"
    user_id = asyncio.run(_set_role(database_url, args.email, role))
    if user_id is None:
        print(f"taskql: no account has the email {args.email!r}", file=sys.stderr)  # noqa: T201
        return 1
    print(f"{args.email} is now {role}")  # noqa: T201
    return 0


def export_schema(args: argparse.Namespace) -> int:
    from schema import export_sdl  # noqa: PLC0415

    sdl = export_sdl()
    if args.check:
        if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != sdl:
            print("schema.graphql is out of date: run `taskql export-schema`", file=sys.stderr)  # noqa: T201
            return 1
        return 0
    SCHEMA_FILE.write_text(sdl)
    return 0


def run_tests(args: argparse.Namespace) -> int:
    """The whole gate: lint, format, types, then the test suite on both databases."""
    steps = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["pytest", *args.pytest_args],
    ]
    for step in steps:
        print(f"==> {' '.join(step)}", flush=True)  # noqa: T201
        code = subprocess.call([sys.executable, "-m", *step], cwd=ROOT)  # noqa: S603
        if code != 0:
            return code
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="taskql", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the server with uvicorn")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument("--workers", type=int, default=1)
    serve_parser.add_argument("--reload", action="store_true")
    serve_parser.set_defaults(handler=serve)

    migrate_parser = commands.add_parser("migrate", help="apply or revert migrations")
    migrate_parser.add_argument(
        "direction", choices=["upgrade", "downgrade"], nargs="?", default="upgrade"
    )
    migrate_parser.add_argument("revision", nargs="?")
    migrate_parser.set_defaults(handler=migrate)

    export_parser = commands.add_parser("export-schema", help="write schema.graphql")
    export_parser.add_argument(
        "--check", action="store_true", help="fail if schema.graphql differs from the code"
    )
    export_parser.set_defaults(handler=export_schema)

    for name, role in (("promote", "ADMIN"), ("demote", "USER")):
        role_parser = commands.add_parser(name, help=f"make the account with EMAIL a {role}")
        role_parser.add_argument("email", metavar="EMAIL")
        role_parser.set_defaults(handler=set_role)

    test_parser = commands.add_parser(
        "test", help="ruff, mypy --strict and pytest (any further arguments go to pytest)"
    )
    test_parser.set_defaults(handler=run_tests)

    # `taskql test -q -x` must reach pytest untouched: argparse's REMAINDER refuses a
    # leading option, so whatever it does not know after `test` is pytest's.
    args, extra = parser.parse_known_args(argv)
    if args.command == "test":
        args.pytest_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
