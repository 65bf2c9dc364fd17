"""`migdocs verify` against its floor, at several history sizes, in one run.

The floor runs the same statements on the same kind of server — an embedded PostgreSQL 18,
started for the run — each migration forward, its rollback, and forward again, one
statement at a time in autocommit, with no snapshot and no comparison: the least any tool
that really runs the round trips must do. Both are timed as whole commands, server start
included.

Usage: python -m bench.bench_verify [N ...]   (default 100 300 1000)

Prints a Markdown table and writes bench/results/verify.json. Each figure is the best of
three runs, the two taking turns (so that a busy machine slows both alike).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate

RESULTS = Path(__file__).resolve().parent / "results"


def timed(command: list[str], cwd: Path) -> float:
    """The wall-clock time of one run of ``command`` (which must succeed)."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return elapsed


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
    print("| migrations | migdocs verify | floor (SQL only) | ratio |")
    print("|---|---|---|---|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            catalog = generate(root, size)
            here = Path(__file__).resolve().parent.parent
            floor_command = [sys.executable, "-m", "bench.bench_verify", "--floor", str(catalog)]
            runs = [
                (timed([migdocs, "verify"], root), timed(floor_command, here)) for _ in range(3)
            ]
            ours = min(run[0] for run in runs)
            theirs = min(run[1] for run in runs)
            rows.append({"migrations": size, "migdocs": ours, "floor": theirs})
            print(f"| {size:,} | {ours:.2f} s | {theirs:.2f} s | {ours / theirs:.1f}× |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "verify.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
