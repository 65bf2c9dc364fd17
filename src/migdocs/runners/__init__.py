"""Runners: one module per migration tool, each a [Runner][migdocs.runners.base.Runner].

`runner_class(kind)` imports only the runner a catalog names; `all_runners()` imports every
one (for `init`, which recognises them by their evidence).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from migdocs.runners.base import Runner

if TYPE_CHECKING:
    from migdocs.catalog.models import RunnerSettings

#: Each runner kind and its module, in the order `init` ranks ties.
MODULES = {
    "drizzle": "drizzle",
    "prisma": "prisma",
    "sqitch": "sqitch",
    "supabase": "supabase",
    "dbmate": "dbmate",
    "goose": "goose",
    "flyway": "flyway",
    "golang-migrate": "golang_migrate",
    "folders": "folders",
    "plain": "plain",
}


def runner_class(kind: str) -> type[Runner]:
    """The runner class of a kind (``golang-migrate``)."""
    module = importlib.import_module(f"migdocs.runners.{MODULES[kind]}")
    runner: type[Runner] = module.RUNNER
    return runner


def all_runners() -> list[type[Runner]]:
    """Every runner class, in ranking order for ties."""
    return [runner_class(kind) for kind in MODULES]


def make_runner(root: Path, settings: RunnerSettings) -> Runner:
    """The catalog's runner, its folder resolved from the project folder ``root``."""
    cls = runner_class(settings.kind)
    return cls(root / (settings.path or cls.default_path), settings)


__all__ = ["MODULES", "Runner", "all_runners", "make_runner", "runner_class"]
