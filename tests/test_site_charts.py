"""The overview's pictures (issue 12, item 4): rollback risk over time and schema growth,
inline SVG made at build time, each with a title, an ``aria-label`` and a table of its
numbers under it; the numbers are the history's (the schema's are checked against the
example applied to a real PostgreSQL); two builds give the same bytes; a long history's
charts are drawn by period, so the overview stays small; a catalog's title stays text.

The project is this repository's example (PromptSculptor's history), built whole with
``migdocs build``, and bench/generate.py's synthetic history of 1,000 migrations.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
import yaml
from pglast import split

from migdocs.project import Project
from migdocs.site.charts import MAX_COLUMNS, ChartColumn, columns, risk_chart
from migdocs.site.state import Site
from migdocs.site.templating import environment
from runner_kit import migdocs
from site_kit import copy_example

if TYPE_CHECKING:
    from migdocs.pg import ScratchServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_site import history  # noqa: E402
from bench.generate import generate  # noqa: E402

#: What PostgreSQL has after the migrations: tables, their columns, and the indexes made by
#: CREATE INDEX (not those backing a primary key or unique constraint), outside its schemas.
COUNTS = """
SELECT
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%'),
  (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%'),
  (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%'
      AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid))
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def build(project: Path, out: str = "out") -> Path:
    result = migdocs("build", "--site-dir", out, cwd=project)
    assert result.returncode == 0, result.stderr
    return project / out


def figures(page: str) -> list[str]:
    found = re.findall(r'<figure class="migdocs-figure">.*?</figure>', page, re.DOTALL)
    assert len(found) == 2, page[:2000]
    return found


def cells(figure: str) -> list[list[str]]:
    """The text alternative's rows, header first."""
    table = figure[figure.index("<details") :]
    return [
        [unescape(cell) for cell in re.findall(r"<t[hd]>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)
    ]


def test_the_overview_shows_both_charts_with_a_text_alternative(example: Path) -> None:
    page = (build(example) / "history" / "index.html").read_text()
    risk, growth = figures(page)
    for figure, title in ((risk, "Rollback risk over time"), (growth, "Schema growth")):
        svg = figure[: figure.index("</svg>")]
        assert '<svg class="migdocs-chart" role="img" aria-label="' in svg
        assert f"<title>{title}</title>" in svg
        assert "style=" not in svg
        assert "<script" not in figure
        assert "<details" in figure
        assert "<summary>The numbers" in figure
    assert "Rollback risk over time" in page[: page.index(risk)]  # under its heading


def test_the_risk_numbers_are_the_catalogs(example: Path) -> None:
    page = (build(example) / "history" / "index.html").read_text()
    risk, _ = figures(page)
    catalog = yaml.safe_load((example / "catalog.yaml").read_text())
    declared = {m["id"]: m["rollback"]["risk"] for m in catalog["migrations"]}
    header, *rows = cells(risk)
    assert header[0] == "migration"
    assert [row[0] for row in rows] == list(declared)  # one column per migration, in order
    for row in rows:
        assert row[1:] == ["1" if risk == declared[row[0]] else "0" for risk in header[1:]]
    total = {risk: list(declared.values()).count(risk) for risk in header[1:]}
    label = ", ".join(f"{n} {risk}" for risk, n in total.items())
    assert f'aria-label="Rollback risk of 4 migrations: {label}"' in risk


def test_the_growth_numbers_are_what_postgresql_has(
    example: Path, external_server: ScratchServer
) -> None:
    page = (build(example) / "history" / "index.html").read_text()
    _, growth = figures(page)
    header, *rows = cells(growth)
    assert header == ["migration", "tables", "columns", "indexes"]
    catalog = yaml.safe_load((example / "catalog.yaml").read_text())
    url = external_server.create_database()
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            for row, entry in zip(rows, catalog["migrations"], strict=True):
                sql = (example / "migrations" / f"{entry['id']}.sql").read_text()
                for statement in split(sql):
                    connection.execute(statement.encode())
                found = connection.execute(COUNTS).fetchone()
                assert found is not None
                assert row == [entry["id"], *(str(n) for n in found)], entry["id"]
    finally:
        external_server.drop_database(url)
    assert f"now {rows[-1][1]} tables, {rows[-1][2]} columns, {rows[-1][3]} indexes" in growth


def test_two_builds_give_the_same_bytes(example: Path) -> None:
    first = (build(example, "one") / "history" / "index.html").read_bytes()
    second = (build(example, "two") / "history" / "index.html").read_bytes()
    assert first == second
    assert b"migdocs-chart" in first


def test_a_long_history_is_drawn_by_period_and_the_overview_stays_small(tmp_path: Path) -> None:
    history(tmp_path, 1000)  # 8 migrations a day from 2020-01-01: 125 days, 5 months
    site = build(tmp_path, "site")
    page = site / "history" / "index.html"
    assert page.stat().st_size <= 150_000
    # Its thousand warnings are listed in part on the audit page: it stays small too.
    assert (site / "history" / "audit" / "index.html").stat().st_size <= 150_000
    risk, growth = figures(page.read_text())
    header, *rows = cells(growth)
    assert header[0] == "after"
    assert [row[0] for row in rows] == ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05"]
    # bench/generate.py: every fourth migration creates a table, with 3 columns at first.
    assert rows[-1][1] == "250"
    header, *rows = cells(risk)
    assert header[0] == "when"
    assert sum(int(n) for row in rows for n in row[1:]) == 1000
    assert risk.count("<rect") <= MAX_COLUMNS * len(header[1:])


def test_a_catalog_title_in_a_chart_stays_text() -> None:
    hostile = ChartColumn("m1", 'm1: </title><script>alert(1)</script><img src=x onerror="x">')
    hostile.risks["high"] = 1
    svg = risk_chart([hostile])
    assert "<script" not in svg
    assert "<img" not in svg
    assert "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_a_history_of_many_months_is_drawn_by_quarter(tmp_path: Path) -> None:
    catalog = generate(tmp_path, 400)
    # A migration every ten days: 400 of them span 132 months, more than a chart draws.
    start = dt.date(2015, 1, 1)
    dates = iter(start + dt.timedelta(days=10 * n) for n in range(400))
    catalog.write_text(
        re.sub(r"(?m)^    date: .*$", lambda _: f"    date: {next(dates)}", catalog.read_text())
    )
    site = Site(Project.load(catalog), None, environment(), "history")
    made = columns(site.project, site.analyses, site.proofs)
    labels = [column.label for column in made]
    assert labels[:3] == ["2015 Q1", "2015 Q2", "2015 Q3"]
    assert labels[-1] == "2025 Q4"
    assert len(made) == 44
    assert sum(n for column in made for n in column.risks.values()) == 400
    assert made[-1].counts[0] == 100  # a table every fourth migration
