"""Search leads with names (issue 12, item 6), and the rules reference is grouped by family
(item 8).

The project is this repository's example (PromptSculptor's history), built whole with
``migdocs build``. Search: the SQL of a migration page is left out of Material's index
(``data-search-exclude`` on its heading, through ``attr_list``), a table's page is boosted
(``search: {boost: 2}``), and the example splits names at dots (``public.users`` is found as
``users``); headless Chromium types each table's name in the search box and reads the first
result. Rules: an index of the families, each family's table of codes and names, and one
anchor per rule, which every finding's link reaches.
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from migdocs.checks import all_rules
from runner_kit import SITE_BUILD, environment, migdocs
from site_kit import copy_example, only_local, serve

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parent.parent
#: The example's tables, whose pages a search for their names must lead with.
TABLES = [
    "password_reset_tokens",
    "prompts",
    "templates",
    "user_api_keys",
    "user_sessions",
    "users",
]


def _build(project: Path) -> Path:
    out = project.parent / "site"
    result = migdocs("build", "--site-dir", str(out), cwd=project, env=environment(**SITE_BUILD))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The repository's example project (catalog.yaml, mkdocs.yml), copied."""
    return copy_example(tmp_path)


@pytest.fixture
def site(example: Path) -> Path:
    return _build(example)


def _index(site: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = json.loads(
        (site / "search" / "search_index.json").read_text(encoding="utf-8")
    )["docs"]
    return docs


def _plain(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _sql_lines(example: Path) -> dict[str, list[str]]:
    """Each migration's statement lines (comments and short lines aside), from its forward
    and rollback files, by migration id."""
    lines: dict[str, list[str]] = {}
    for path in sorted((example / "migrations").rglob("*.sql")):
        words = [re.sub(r"\s+", " ", line.strip()) for line in path.read_text().splitlines()]
        lines[path.stem] = [w for w in words if len(w) >= 15 and not w.startswith("--")]
    return lines


def test_the_sql_of_a_migration_page_is_not_in_the_search_index(example: Path, site: Path) -> None:
    docs = _index(site)
    pages = [doc for doc in docs if doc["location"].startswith("history/migrations/")]
    assert {doc["location"].split("#")[0] for doc in pages} == {
        f"history/migrations/{path.stem}/" for path in (example / "migrations").glob("*.sql")
    }
    indexed = _plain(" ".join(doc["text"] for doc in pages))
    by_file = _sql_lines(example)
    assert sum(len(lines) for lines in by_file.values()) > 80  # the guard reads real SQL
    for name, lines in by_file.items():
        assert [line for line in lines if line in indexed] == [], name
    assert not [doc for doc in pages if doc["location"].endswith("#sql")]
    # What the page says about the migration is still found: its sections and objects.
    sections = {doc["location"].split("#")[-1] for doc in pages if "#" in doc["location"]}
    assert {"purpose", "objects", "rollback"} <= sections
    objects = next(
        doc["text"]
        for doc in pages
        if doc["location"] == "history/migrations/2025-08-30_initial_schema/#objects"
    )
    assert "user_api_keys" in objects
    # The page shows the SQL as before: its heading in the table of contents, both scripts.
    page = (site / "history/migrations/2025-08-30_initial_schema/index.html").read_text()
    assert '<h2 data-search-exclude id="sql">SQL<a class="headerlink"' in page
    assert 'href="#sql"' in page
    assert "CREATE TABLE" in _plain(page)
    assert "{ data-search-exclude }" not in page


def test_a_table_page_is_boosted_and_its_relations_left_out(site: Path) -> None:
    docs = _index(site)
    for table in TABLES:
        location = f"history/schema/tables/public.{table}/"
        entries = [doc for doc in docs if doc["location"].split("#")[0] == location]
        assert entries, table
        assert {doc.get("boost") for doc in entries} == {2}, table
        assert entries[0]["title"] == f"public.{table}"
        # The Mermaid source of the one-hop diagram is no text to find.
        assert not [doc for doc in entries if doc["location"].endswith("#relations")]
        assert not [doc for doc in entries if "erDiagram" in doc["text"]]


def test_without_attr_list_the_sql_heading_stays_plain_and_searchable(example: Path) -> None:
    config = example / "mkdocs.yml"
    text = config.read_text()
    assert "  - attr_list\n" in text
    config.write_text(text.replace("  - attr_list\n", ""))
    site = _build(example)
    page = (site / "history/migrations/2025-08-30_initial_schema/index.html").read_text()
    assert re.search(r'<h2 id="sql">SQL<a class="headerlink"', page)
    assert "data-search-exclude" not in page
    # Search then reads the SQL, as Material would without the attribute.
    docs = _index(site)
    assert [doc for doc in docs if doc["location"].endswith("2025-08-30_initial_schema/#sql")]


@pytest.fixture
def served(site: Path) -> Iterator[str]:
    with serve(site) as url:
        yield url


def test_in_a_browser_a_table_name_finds_its_page_first(
    site: Path, served: str, chromium: str
) -> None:
    from playwright.sync_api import sync_playwright

    tables = sorted(path.name for path in (site / "history/schema/tables").iterdir())
    assert tables == [f"public.{table}" for table in TABLES]

    blocked: list[str] = []

    firsts: dict[str, str] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", only_local(served, blocked))
            page = context.new_page()
            page.goto(f"{served}/history/", wait_until="load")
            for query in [*TABLES, "public.users"]:
                page.locator(".md-search__input").first.click()
                page.locator(".md-search__input").first.fill("")
                page.keyboard.type(query)
                firsts[query] = urlsplit(_first_result(page)).path
                page.keyboard.press("Escape")
        finally:
            browser.close()
    assert blocked == []
    expected = {table: f"/history/schema/tables/public.{table}/" for table in TABLES}
    expected["public.users"] = "/history/schema/tables/public.users/"
    assert firsts == expected


def _first_result(page: Page) -> str:
    """The link of the first search result, once the results have settled: Material searches
    again at each key typed, so the same count and first link twice, 300 ms apart."""
    seen = None
    for _ in range(100):
        now = page.evaluate(
            "() => [document.querySelector('.md-search-result__meta')?.textContent,"
            " document.querySelector('.md-search-result__item > a')?.getAttribute('href')]"
        )
        if now == seen and now[1] and "matching" in (now[0] or ""):
            return str(now[1])
        seen = now
        page.wait_for_timeout(300)
    raise AssertionError(f"search results did not settle: {seen}")


def test_the_rules_page_is_grouped_by_family_with_an_anchor_per_rule(site: Path) -> None:
    page = (site / "history/rules/index.html").read_text()
    article = page[page.index("<article") : page.index("</article>")]
    families = re.findall(r'<h2 id="([^"]+)">([^<]+)<a', article)
    assert [title for _, title in families] == [
        "Files (MG1xx)",
        "SQL (MG2xx)",
        "Rollback (MG3xx)",
        "Replay (MG4xx)",
        "Live (MG5xx)",
        "Review (MG6xx)",
    ]
    # The index links to each family, with its number of rules.
    index = article[: article.index("<h2")]
    for anchor, title in families:
        assert f'<a href="#{anchor}">{title.split(" ")[0]}</a>' in index
    rules = all_rules()
    assert re.findall(r'<h3 id="([^"]+)">', article) == [rule.code.lower() for rule in rules]
    for number, (anchor, _) in enumerate(families, 1):
        start = article.index(f'<h2 id="{anchor}"')
        end = article.find("<h2", start + 1)
        section = article[start : end if end != -1 else None]
        members = [rule for rule in rules if rule.code.startswith(f"MG{number}")]
        assert members
        head = section[: section.index("<h3")]
        for rule in members:
            # The family's table: the code linked to its anchor, the name, the severity.
            row = re.search(
                rf'<tr>\s*<td><a href="#{rule.code.lower()}">{rule.code}</a></td>\s*'
                rf"<td><code>{re.escape(rule.name)}</code></td>\s*"
                rf"<td>{rule.severity.value}</td>",
                head,
            )
            assert row, rule.code
            assert f'<h3 id="{rule.code.lower()}">' in section
        assert f"<td>{len(members)}</td>" in index


def test_every_link_to_a_rule_reaches_its_anchor(site: Path) -> None:
    rules = (site / "history/rules/index.html").read_text()
    anchors = set(re.findall(r' id="([^"]+)"', rules))
    linked = []
    for path in sorted(site.rglob("*.html")):
        for target in re.findall(r'href="([^"]*rules/#[^"]+)"', path.read_text()):
            resolved = (path.parent / target.split("#")[0]).resolve()
            assert resolved == (site / "history/rules").resolve(), (path, target)
            linked.append(target.split("#")[1])
    assert linked  # the example's findings link to their rules (MG602 at least)
    assert set(linked) <= anchors
