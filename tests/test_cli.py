"""The command line: `taskql test` hands every further argument to pytest."""

from __future__ import annotations

import argparse

import pytest

import cli


@pytest.fixture
def pytest_args(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replaces the test gate with a recorder of what pytest would have been given."""
    seen: list[list[str]] = []

    def record(args: argparse.Namespace) -> int:
        seen.append(list(args.pytest_args))
        return 0

    monkeypatch.setattr(cli, "run_tests", record)
    return seen


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-q", "-x"],
        ["-q", "-x", "-p", "no:cacheprovider", "tests/test_cli.py"],
        ["tests/test_tasks.py", "-k", "delete", "--maxfail=1"],
    ],
)
def test_test_passes_every_argument_to_pytest(
    argv: list[str], pytest_args: list[list[str]]
) -> None:
    assert cli.main(["test", *argv]) == 0
    assert pytest_args == [argv]


def test_other_commands_still_refuse_unknown_options(pytest_args: list[list[str]]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["export-schema", "--bogus"])
    assert exit_info.value.code == 2
    assert pytest_args == []
