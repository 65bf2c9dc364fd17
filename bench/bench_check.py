"""`migdocs check` against squawk on the same files, at several history sizes, in one run.

Usage: python -m bench.bench_check [N ...]   (default 1000 10000)

Needs squawk on PATH (`pip install squawk-cli`). Prints a Markdown table and writes
bench/results/check.json. Each figure is the best of three runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate

RESULTS = Path(__file__).resolve().parent / "results"


def best_of(command: list[str], cwd: Path, runs: int = 3) -> float:
    """The fastest wall-clock time of ``runs`` runs of ``command``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1000, 10000]
    squawk = shutil.which("squawk")
    if squawk is None:
        sys.exit("squawk is not on PATH: pip install squawk-cli")
    migdocs = shutil.which("migdocs") or sys.exit("migdocs is not on PATH")
    os.environ["MIGDOCS_TODAY"] = "2020-01-01"
    rows = []
    print("| migrations | files | migdocs check | squawk | ratio |")
    print("|---|---|---|---|---|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            generate(root, size)
            files = sorted(str(p) for p in (root / "migrations").rglob("*.sql"))
            ours = best_of([migdocs, "check"], root)
            theirs = best_of([squawk, *files], root)
            rows.append(
                {"migrations": size, "files": len(files), "migdocs": ours, "squawk": theirs}
            )
            ratio = ours / theirs
            print(f"| {size:,} | {len(files):,} | {ours:.2f} s | {theirs:.2f} s | {ratio:.1f}× |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "check.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
