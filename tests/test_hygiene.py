"""ruff (lint and format) and mypy --strict are part of the test command."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runner_kit import run

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "src", "tests", "bench"],
        ["ruff", "format", "--check", "src", "tests", "bench"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_hygiene(command: list[str]) -> None:
    result = run([sys.executable, "-m", *command], cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
