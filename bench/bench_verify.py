"""`migdocs verify` against its floor, at several history sizes, in one run.

The floor runs the same statements on the same kind of server — an embedded PostgreSQL 18,
started for the run — each migration forward, its rollback, and forward again, one
statement at a time in autocommit, as psql runs them (``CONCURRENTLY`` and ``VACUUM``
included), with no snapshot and no comparison: the least any tool that really runs the
round trips must do. Both are timed as whole commands, server start included.

Two workloads: the synthetic history of ``bench/generate.py`` as it is (every migration
can run in a transaction block), and the same with a fifth of the migrations that cannot,
as in real histories (``generate(…, outside=True)``: mostly ``CREATE INDEX CONCURRENTLY``
and ``DROP INDEX CONCURRENTLY``, some ``ALTER TYPE … ADD VALUE`` then used, some
``VACUUM``). For the second, the report's per-migration times give what a migration that
cannot run in a transaction costs against one that can, early in the history and late.

Usage: python -m bench.bench_verify [N ...]   (default 100 300 1000)

Prints Markdown tables and writes bench/results/verify.json. Each figure is the best of
three runs, the two taking turns (so that a busy machine slows both alike).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.generate import generate

RESULTS = Path(__file__).resolve().parent / "results"
#: How many migrations make "early" and "late" in the per-migration figures.
EDGE = 100


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    """The wall-clock time of one run of ``command`` (which must succeed), and its output."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return elapsed, result.stdout


def floor(catalog: str) -> None:
    """Run every migration forward, back and forward on a new embedded server; nothing else."""
    from migdocs.pg import ScratchServer
    from migdocs.project import Project

    project = Project.load(Path(catalog))
    with ScratchServer.embedded() as server, server.connect(server.create_database()) as conn:
        for entry in project.entries:
            forward = project.forward(entry)
            rollback = project.rollback(entry)
            if forward is None or rollback is None:
                sys.exit(f"{entry.id}: a generated file is missing")
            for script in (forward, rollback, forward):
                for statement in script.statements:
                    conn.execute(script.statement_text(statement).encode(), prepare=False)


def per_migration(report: dict[str, Any], root: Path) -> dict[str, float]:
    """Median replay time (ms) of the migrations that can and cannot run in a transaction
    block, among the first and the last ``EDGE``."""
    from migdocs.project import Project

    project = Project.load(root / "catalog.yaml")
    outside = {
        entry.id
        for entry in project.entries
        if (script := project.forward(entry)) is not None and not script.in_one_transaction
    }
    items = report["replay"]
    figures: dict[str, float] = {}
    for part, chosen in (("early", items[:EDGE]), ("late", items[-EDGE:])):
        for kind, wanted in (("in", False), ("out", True)):
            times = [item["ms"] for item in chosen if (item["migration"] in outside) is wanted]
            figures[f"{part}_{kind}"] = statistics.median(times) if times else 0.0
    return figures


def main() -> None:
    if sys.argv[1:2] == ["--floor"]:
        floor(sys.argv[2])
        return
    sizes = [int(arg) for arg in sys.argv[1:]] or [100, 300, 1000]
    beside = Path(sys.executable).with_name("migdocs")
    migdocs = shutil.which("migdocs") or (str(beside) if beside.exists() else None)
    if migdocs is None:
        sys.exit("migdocs is not on PATH")
    rows = []
    here = Path(__file__).resolve().parent.parent
    for outside in (False, True):
        print(
            "\nA fifth of the migrations outside a transaction:"
            if outside
            else "\nEvery migration in a transaction:"
        )
        print("| migrations | migdocs verify | floor (SQL only) | ratio |")
        print("|---|---|---|---|")
        for size in sizes:
            with tempfile.TemporaryDirectory() as folder:
                root = Path(folder)
                catalog = generate(root, size, outside=outside)
                floor_command = [
                    sys.executable,
                    "-m",
                    "bench.bench_verify",
                    "--floor",
                    str(catalog),
                ]
                runs = []
                for _ in range(3):
                    ours, output = timed([migdocs, "verify", "--format", "json"], root)
                    runs.append((ours, timed(floor_command, here)[0], output))
                best = min(runs, key=lambda run: run[0])
                theirs = min(run[1] for run in runs)
                row: dict[str, Any] = {
                    "migrations": size,
                    "outside": outside,
                    "migdocs": best[0],
                    "floor": theirs,
                }
                if outside:
                    row["per_migration_ms"] = per_migration(json.loads(best[2]), root)
                rows.append(row)
                print(f"| {size:,} | {best[0]:.2f} s | {theirs:.2f} s | {best[0] / theirs:.1f}× |")
    print("\nPer migration (median ms of the first and last 100; in / outside a transaction):")
    print("| migrations | early in | early outside | late in | late outside |")
    print("|---|---|---|---|---|")
    for row in rows:
        if row["outside"]:
            f = row["per_migration_ms"]
            print(
                f"| {row['migrations']:,} | {f['early_in']:.0f} | {f['early_out']:.0f} "
                f"| {f['late_in']:.0f} | {f['late_out']:.0f} |"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "verify.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
