"""Node.js packages the suite drives (audit suite, client end-to-end scripts, browser test).

Each lives in its own folder with a committed package-lock.json and is installed
with `npm ci` the first time a test needs it. Without Node.js the tests that need
it are skipped with the reason shown; with CI=true that is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
NPM_TIMEOUT_SECONDS = 600


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it")
        pytest.skip(message)
    return path


def ensure_npm_packages(package_dir: Path) -> None:
    """`npm ci` in package_dir unless its node_modules matches its lock file already."""
    npm = require_tool("npm")
    lock = package_dir / "package-lock.json"
    marker = package_dir / "node_modules" / ".package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=package_dir,
        check=True,
        timeout=NPM_TIMEOUT_SECONDS,
    )
