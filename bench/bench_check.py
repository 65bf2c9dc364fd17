"""`migdocs check` against squawk on the same files, at several history sizes, in one run.

Usage: python -m bench.bench_check [N ...]   (default: 2000 10000, DESIGN.md's sizes)

Needs squawk on PATH (`pip install -e '.[bench]'`, which installs squawk-cli). For each size
it generates a history (`bench.generate`), then times the whole command of each tool, start-up
included: `migdocs check` in the project, and `squawk` given every SQL file migdocs reads (the
migrations and their rollbacks), from the same folder. Runs of the two alternate, so that a
change in the machine's load falls on both; each figure is the best of three, after one
untimed run of each that also checks both did their work (migdocs exits 0 and reports every
migration; squawk says it checked every file).

migdocs runs as an installed copy does, with its bytecode cached: `PYTHONDONTWRITEBYTECODE`
is dropped from its environment, or every run would compile migdocs from source again.

Prints a Markdown table and writes bench/results/check.json.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = [2000, 10000]
RUNS = 3


def tool(name: str) -> str | None:
    """The console script ``name`` of this Python's environment, else the one on PATH."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` once, keeping its output (for the untimed first run)."""
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall-clock seconds of one run of ``command``, its output thrown away as a pipe would."""
    start = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - start


def squawk_version(squawk: str) -> str:
    """``2.70`` from ``squawk --version`` (empty when it does not say)."""
    done = subprocess.run([squawk, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"(\d+\.\d+)", done.stdout)
    return found.group(1) if found else ""


def check_first_runs(
    ours: subprocess.CompletedProcess[str], theirs: subprocess.CompletedProcess[str], size: int
) -> None:
    """Stop when either tool did not do the whole job: a failed run would look fast."""
    if ours.returncode != 0 or f"{size} migrations" not in ours.stdout:
        sys.exit(f"migdocs check failed on {size} migrations:\n{ours.stdout}{ours.stderr}")
    if theirs.returncode not in (0, 1):
        sys.exit(f"squawk failed (exit {theirs.returncode}):\n{theirs.stderr[-2000:]}")
    checked = re.search(r"checked (\d+) source files", theirs.stdout + theirs.stderr)
    if checked is not None and int(checked.group(1)) != 2 * size:
        sys.exit(f"squawk checked {checked.group(1)} files, not {2 * size}")


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or SIZES
    squawk = tool("squawk") or sys.exit("squawk is not installed: pip install -e '.[bench]'")
    migdocs = tool("migdocs") or sys.exit("migdocs is not installed: pip install -e .")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["MIGDOCS_TODAY"] = "2020-01-01"  # reviews in the generated history are not overdue
    version = squawk_version(squawk)
    print(
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start"
    )
    print(f"| migrations | files | migdocs check | squawk {version} | ratio |")
    print("|---|---|---|---|---|")
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            generate(root, size)
            files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.sql"))
            ours_command, theirs_command = [migdocs, "check"], [squawk, *files]
            check_first_runs(run(ours_command, root, env), run(theirs_command, root, env), size)
            ours, theirs = [], []
            for _ in range(RUNS):
                ours.append(timed(ours_command, root, env))
                theirs.append(timed(theirs_command, root, env))
            best_ours, best_theirs = min(ours), min(theirs)
            rows.append(
                {
                    "migrations": size,
                    "files": len(files),
                    "migdocs": best_ours,
                    "squawk": best_theirs,
                    "ratio": best_ours / best_theirs,
                    "runs": {"migdocs": ours, "squawk": theirs},
                }
            )
            print(
                f"| {size:,} | {len(files):,} | {best_ours:.2f} s | {best_theirs:.2f} s "
                f"| {best_ours / best_theirs:.1f}× |"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "check.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
