"""The site of a history against its floor, at several history sizes, in one run.

The floor is the same history written by hand as plain mkdocs-material pages: per
migration a facts table, its purpose, a rollback admonition and both scripts highlighted;
per month a page of links, the navigation's leaves under their years. It is what a team
writing the site without migdocs would build, and what migdocs' pages cost beyond it is
the price of the rest (the timeline, the schema, the matrix, the checks). Both are
`mkdocs build` runs of their own project, timed whole; the table gives time, total size
and the largest page.

Usage: python -m bench.bench_site [--engine mkdocs|zensical] [N ...]   (default 500 10000)

With ``--engine zensical`` both are built by Zensical: the site by ``migdocs build --engine
zensical`` (the section staged as files, see ``migdocs/site/zensical.py``), the floor by
``zensical build`` of its own ``mkdocs.yml``; with MkDocs (the default), both by
``mkdocs build``.

Prints a Markdown table and writes bench/results/site.json. Each figure is the best of
``RUNS`` runs, the site's and the floor's builds taking turns; the CPU times (user and
system) are printed beside each row and kept in the JSON, as the steadier measure on a
machine shared with other work. Both projects have the search plugin.

migdocs runs as an installed copy does, with its bytecode cached, as MkDocs' is:
`PYTHONDONTWRITEBYTECODE` is dropped from the builds' environment, or every build would
compile migdocs from source again (0.07 s a build here); it is compiled once before the runs.
"""

from __future__ import annotations

import compileall
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


#: The admonition a rollback of each risk gets on the floor's pages, as on the site's.
ADMONITION = {"critical": "danger", "high": "warning", "medium": "warning", "low": "note"}


def floor(root: Path, count: int) -> None:
    """The same history written by hand as plain mkdocs-material pages: per migration a
    facts table, its purpose, a rollback admonition and both scripts highlighted in tabs;
    per month a page listing its migrations, the navigation's leaves under their years."""
    import yaml  # the benchmark's own reading of the generated catalog

    catalog = yaml.safe_load(generate(root, count).read_text(encoding="utf-8"))
    sql = root / "migrations"
    docs = root / "docs"
    (docs / "migrations").mkdir(parents=True)
    (docs / "months").mkdir()
    (docs / "index.md").write_text("# Home\n", encoding="utf-8")
    months: dict[str, list[str]] = {}
    for entry in catalog["migrations"]:
        ident, day = entry["id"], str(entry["date"])
        rollback = entry["rollback"]
        created = ", ".join(
            f"{kind[:-1]} `{name}`" for kind, names in entry["creates"].items() for name in names
        )
        forward = (sql / f"{ident}.sql").read_text(encoding="utf-8")
        backward = (sql / "rollbacks" / rollback["file"]).read_text(encoding="utf-8")
        page = (
            f"# {entry['title']}\n\n"
            "| | |\n|---|---|\n"
            f"| **ID** | `{ident}` |\n| **Date** | {day} |\n"
            f"| **Reviewed** | {entry['reviewed']['date']} by {entry['reviewed']['by']} |\n"
            f"| **Rollback risk** | {rollback['risk']} |\n"
            f"| **Impact** | {', '.join(rollback['impact']) or 'none'} |\n"
            f"| **Creates** | {created or 'nothing'} |\n\n"
            f"## Purpose\n\n{entry['purpose']}\n\n"
            f"## Rollback\n\n"
            f'!!! {ADMONITION[rollback["risk"]]} "Rollback risk: {rollback["risk"]}"\n\n'
            f"    {rollback['summary']}\n\n"
            "## SQL\n\n"
            f'=== "Forward"\n\n    ```sql\n{_indent(forward)}    ```\n\n'
            f'=== "Rollback"\n\n    ```sql\n{_indent(backward)}    ```\n'
        )
        (docs / "migrations" / f"{ident}.md").write_text(page, encoding="utf-8")
        months.setdefault(day[:7], []).append(f"- [{entry['title']}](../migrations/{ident}.md)")
    years: dict[str, list[str]] = {}
    for month, links in months.items():
        (docs / "months" / f"{month}.md").write_text(
            f"# {month}\n\n" + "\n".join(links) + "\n", encoding="utf-8"
        )
        years.setdefault(month[:4], []).append(f"      - {month}: months/{month}.md")
    nav = "".join(f"  - '{year}':\n" + "\n".join(items) + "\n" for year, items in years.items())
    (root / "mkdocs.yml").write_text(
        f"site_name: floor\n{THEME}plugins:\n  - search\n"
        f"nav:\n  - index.md\n{nav}not_in_nav: /migrations/\n",
        encoding="utf-8",
    )


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())


def build(root: Path, engine: str = "mkdocs", *, floor: bool = False) -> tuple[float, float]:
    """Wall and CPU time (user + system) of one build of ``root`` by ``engine``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"NO_MKDOCS_2_WARNING": "1", "MIGDOCS_TODAY": "2020-01-01"}
    if engine == "mkdocs":
        command = ["-m", "mkdocs", "build", "-q"]
    elif floor:
        command = ["-m", "zensical", "build", "--clean"]
    else:
        command = ["-m", "migdocs", "build", "--engine", "zensical"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *command],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{engine} build failed in {root}:\n{result.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def measure(
    site: Path, floor: Path, engine: str = "mkdocs"
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The best wall and CPU times of ``RUNS`` builds of each, the site's and the floor's
    taking turns, so that both see the same load on a shared machine."""
    import migdocs

    compileall.compile_dir(Path(migdocs.__file__).parent, quiet=1)  # as an install has it
    ours, theirs = [], []
    for _ in range(RUNS):
        ours.append(build(site, engine))
        theirs.append(build(floor, engine, floor=True))
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
    args = sys.argv[1:]
    engine = "mkdocs"
    if args[:1] == ["--engine"]:
        engine, args = args[1], args[2:]
    counts = [int(arg) for arg in args] or [500, 10000]
    rows = []
    print("| migrations | site | floor | ratio | site size | largest page | floor size |")
    print("|---|---|---|---|---|---|---|")
    for count in counts:
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            history(Path(one), count)
            floor(Path(two), count)
            (ours, ours_cpu), (theirs, theirs_cpu) = measure(Path(one), Path(two), engine)
            our_size, largest, largest_name = sizes(Path(one))
            their_size, _, _ = sizes(Path(two))
        rows.append(
            {
                "engine": engine,
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
    name = "site.json" if engine == "mkdocs" else f"site-{engine}.json"
    (RESULTS / name).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
