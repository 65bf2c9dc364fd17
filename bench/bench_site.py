"""The site of a history against its floor, at several history sizes, in one run.

The floor is plain mkdocs-material building as many trivial pages with a one-page nav:
the least a site of that many pages costs. Both are `mkdocs build` runs of their own
project, timed whole; the table gives time, total size and the largest page.

Usage: python -m bench.bench_site [N ...]   (default 100 1000 10000)

Prints a Markdown table and writes bench/results/site.json. Each figure is the best of
``RUNS`` runs, the site's and the floor's builds taking turns; the CPU times (user and
system) are printed beside each row and kept in the JSON, as the steadier measure on a
machine shared with other work. Both projects have the search plugin.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = int(os.environ.get("RUNS", "2"))

THEME = """\
theme:
  name: material
  features: [navigation.sections, navigation.prune, content.code.copy]
markdown_extensions:
  - admonition
  - tables
  - pymdownx.highlight
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
  - pymdownx.tabbed: {alternate_style: true}
"""


def history(root: Path, count: int) -> None:
    """A generated history with the migdocs plugin."""
    generate(root, count)
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# Home\n", encoding="utf-8")
    (root / "mkdocs.yml").write_text(
        f"site_name: bench\n{THEME}plugins:\n  - search\n  - migdocs\nnav:\n  - index.md\n",
        encoding="utf-8",
    )


def floor(root: Path, count: int) -> None:
    """As many trivial pages, plain mkdocs-material, a one-page nav."""
    docs = root / "docs"
    (docs / "pages").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n", encoding="utf-8")
    for number in range(count):
        (docs / "pages" / f"page_{number:06d}.md").write_text(
            f"# Page {number}\n\nA trivial page.\n", encoding="utf-8"
        )
    (root / "mkdocs.yml").write_text(
        f"site_name: floor\n{THEME}plugins:\n  - search\nnav:\n  - index.md\nnot_in_nav: /pages/\n",
        encoding="utf-8",
    )


def build(root: Path) -> tuple[float, float]:
    """Wall and CPU time (user + system) of one `mkdocs build` of ``root``."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MIGDOCS_TODAY": "2020-01-01"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"mkdocs build failed in {root}:\n{result.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def measure(site: Path, floor: Path) -> tuple[tuple[float, float], tuple[float, float]]:
    """The best wall and CPU times of ``RUNS`` builds of each, the site's and the floor's
    taking turns, so that both see the same load on a shared machine."""
    ours, theirs = [], []
    for _ in range(RUNS):
        ours.append(build(site))
        theirs.append(build(floor))
    return (
        (min(wall for wall, _ in ours), min(cpu for _, cpu in ours)),
        (min(wall for wall, _ in theirs), min(cpu for _, cpu in theirs)),
    )


def sizes(root: Path) -> tuple[int, int, str]:
    """Total size of the built site, its largest page and that page's name."""
    pages = list((root / "site").rglob("*.html"))
    total = sum(p.stat().st_size for p in (root / "site").rglob("*") if p.is_file())
    largest = max(pages, key=lambda p: p.stat().st_size)
    return total, largest.stat().st_size, str(largest.relative_to(root / "site"))


def main() -> None:
    counts = [int(arg) for arg in sys.argv[1:]] or [100, 1000, 10000]
    rows = []
    print("| migrations | site | floor | ratio | site size | largest page | floor size |")
    print("|---|---|---|---|---|---|---|")
    for count in counts:
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            history(Path(one), count)
            floor(Path(two), count)
            (ours, ours_cpu), (theirs, theirs_cpu) = measure(Path(one), Path(two))
            our_size, largest, largest_name = sizes(Path(one))
            their_size, _, _ = sizes(Path(two))
        rows.append(
            {
                "migrations": count,
                "site": ours,
                "floor": theirs,
                "site_cpu": ours_cpu,
                "floor_cpu": theirs_cpu,
                "site_bytes": our_size,
                "largest_page_bytes": largest,
                "largest_page": largest_name,
                "floor_bytes": their_size,
            }
        )
        print(
            f"| {count:,} | {ours:.1f} s | {theirs:.1f} s | {ours / theirs:.1f}× "
            f"| {our_size / 1e6:.1f} MB | {largest / 1e3:.0f} kB ({largest_name}) "
            f"| {their_size / 1e6:.1f} MB |"
            f"  <!-- CPU {ours_cpu:.1f} s / {theirs_cpu:.1f} s = {ours_cpu / theirs_cpu:.1f}× -->"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "site.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
