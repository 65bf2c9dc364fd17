"""The site of a history against its floor, at several history sizes, in one run.

The floor is plain mkdocs-material building as many trivial pages with a one-page nav:
the least a site of that many pages costs. Both are `mkdocs build` runs of their own
project, timed whole; the table gives time, total size and the largest page.

Usage: python -m bench.bench_site [N ...]   (default 100 1000 10000)

Prints a Markdown table and writes bench/results/site.json. Each figure is the best of
``RUNS`` runs.
"""

from __future__ import annotations

import json
import os
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


def build(root: Path) -> tuple[float, int, int, str]:
    """Best wall time of ``RUNS`` builds; total size, largest page and its name."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MIGDOCS_TODAY": "2020-01-01"}
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "-q"],
            cwd=root,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            sys.exit(f"mkdocs build failed in {root}:\n{result.stderr[-2000:]}")
    pages = list((root / "site").rglob("*.html"))
    total = sum(p.stat().st_size for p in (root / "site").rglob("*") if p.is_file())
    largest = max(pages, key=lambda p: p.stat().st_size)
    name = str(largest.relative_to(root / "site"))
    return min(times), total, largest.stat().st_size, name


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [100, 1000, 10000]
    rows = []
    print("| migrations | site | floor | ratio | site size | largest page | floor size |")
    print("|---|---|---|---|---|---|---|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            history(Path(one), size)
            floor(Path(two), size)
            ours, our_size, largest, largest_name = build(Path(one))
            theirs, their_size, _, _ = build(Path(two))
        rows.append(
            {
                "migrations": size,
                "site": ours,
                "floor": theirs,
                "site_bytes": our_size,
                "largest_page_bytes": largest,
                "largest_page": largest_name,
                "floor_bytes": their_size,
            }
        )
        print(
            f"| {size:,} | {ours:.1f} s | {theirs:.1f} s | {ours / theirs:.1f}× "
            f"| {our_size / 1e6:.1f} MB | {largest / 1e3:.0f} kB ({largest_name}) "
            f"| {their_size / 1e6:.1f} MB |"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "site.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
