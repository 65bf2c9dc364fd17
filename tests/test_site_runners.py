"""The site of a runner's history: each migration's page shows the runner's scripts (a
dbmate file's up and down sections apart), and SQL files published whole keep the runner's
paths (every Prisma migration is a ``migration.sql``)."""

from __future__ import annotations

from pathlib import Path

from runner_kit import copy_fixture, migdocs

MKDOCS = """\
site_name: History
theme: {name: material}
plugins: [search, migdocs]
markdown_extensions:
  - admonition
  - pymdownx.highlight
  - pymdownx.superfences
  - pymdownx.tabbed: {alternate_style: true}
"""


def _build(root: Path) -> Path:
    (root / "mkdocs.yml").write_text(MKDOCS)
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "index.md").write_text("# History\n")
    result = migdocs("build", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "site" / "history"


def test_a_dbmate_page_shows_each_section_as_its_script(tmp_path: Path) -> None:
    root = copy_fixture("dbmate-e1", tmp_path)
    site = _build(root)
    migration = "20201022023923_create_eligibility_schema"
    text = (root / "db" / "migrations" / f"{migration}.sql").read_text()
    up, _, down = text.partition("-- migrate:down")
    page = (site / "migrations" / migration / "index.html").read_text()
    forward_at = page.index("migrate:up")
    rollback_at = page.index("migrate:down")
    assert forward_at < rollback_at
    # The down section's first statement shows once: in the rollback, not in the forward.
    first_down = next(line for line in down.splitlines() if line.strip() and "--" not in line)
    word = first_down.split()[0]
    assert word.lower() in page[rollback_at:].lower()
    assert up.strip().splitlines()[-1].split()[0] in page[forward_at:rollback_at]


def test_prisma_files_published_whole_keep_their_folders(tmp_path: Path) -> None:
    root = copy_fixture("prisma-calcom", tmp_path)
    folder = root / "packages" / "prisma" / "migrations"
    long = [
        "20210605225044_init",
        "20210615140247_added_selected_calendar",
    ]
    for name in long:  # long enough to be published whole beside its page
        path = folder / name / "migration.sql"
        path.write_text(path.read_text() + "".join(f"-- {name} {n}\n" for n in range(400)))
    site = _build(root)
    for name in long:
        published = site / "sql" / name / "migration.sql"
        assert published.read_text().endswith(f"-- {name} 399\n")
        page = (site / "migrations" / name / "index.html").read_text()
        assert f"../../sql/{name}/migration.sql" in page
