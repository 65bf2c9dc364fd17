"""The generated pages: each view (``views/``) rendered at its path under the section.

Every value lands escaped for where it lands (``escape.py``: catalog Markdown with raw HTML
and attribute lists escaped, names and messages as plain text, code spans whatever their
backticks, link targets percent-encoded, Mermaid names reduced to what Mermaid reads), and
every page or block carries the mark on which the plugin's Markdown extension defuses links
and attributes that would run code, so neither a catalog, nor a file name, nor a database
can put a script into the published site, and each is shown as written. Everything is
sorted and nothing depends on the clock or the machine, so two builds are identical.
"""

from __future__ import annotations

from migdocs.site.extension import SAFE_MARKER
from migdocs.site.state import Site
from migdocs.site.views.audit import audit
from migdocs.site.views.migration import SQL_LINES, migration
from migdocs.site.views.overview import overview
from migdocs.site.views.review import review
from migdocs.site.views.risk_matrix import risk_matrix, risk_parts
from migdocs.site.views.rules import rules
from migdocs.site.views.timeline import month_pages, timeline

#: The markers a hand-written page may hold: ``<!-- migdocs:NAME -->``.
MARKERS = ("risk-matrix", "timeline", "review-status")


def render_pages(site: Site) -> dict[str, str]:
    """Every generated page of ``site``, by its path under the docs folder.

    Long lists are split so that no page grows with the history: past ``PAGE_ROWS``
    migrations the timeline gets a page per month, the risk matrix pages of
    ``PAGE_ROWS`` rows, the schema pages of ``SCHEMA_TABLES`` tables.
    """
    base = site.prefix
    render = site.templates.render
    made = {
        f"{base}/index.md": overview(site),
        f"{base}/timeline.md": render("timeline.md.j2", block=timeline(site, "")),
        f"{base}/risk-matrix.md": render("risk-matrix.md.j2", block=risk_matrix(site, "")),
        f"{base}/audit.md": audit(site),
        f"{base}/rules.md": rules(site),
        f"{base}/review.md": render("review.md.j2", block=review(site, "")),
    }
    made.update(site.schema.pages())
    made.update({f"{base}/{uri}": text for uri, text in site.releases.pages().items()})
    if site.large:
        for (year, month), text in month_pages(site).items():
            made[f"{base}/timeline/{year}-{month:02d}.md"] = text
        for number, text in risk_parts(site).items():
            made[f"{base}/risk-matrix/{number}.md"] = text
    for position, entry in enumerate(site.entries):
        made[f"{base}/migrations/{entry.id}.md"] = migration(site, position)
    return {uri: f"{text.rstrip()}\n\n{SAFE_MARKER}\n" for uri, text in made.items()}


def render_block(site: Site, name: str, page_uri: str) -> str:
    """A generated block for a ``<!-- migdocs:NAME -->`` marker on a hand-written page."""
    depth = page_uri.count("/")
    base = "../" * depth + f"{site.prefix}/"
    if name == "risk-matrix":
        made = risk_matrix(site, base)
    elif name == "timeline":
        made = timeline(site, base)
    else:
        made = review(site, base)
    return f"{made.rstrip()}\n\n{SAFE_MARKER}\n"


def sql_files(site: Site) -> dict[str, bytes]:
    """The SQL files, published whole beside the pages that show them in part."""
    files: dict[str, bytes] = {}
    for entry in site.entries:
        for path in (entry.forward_path, entry.rollback_path):
            if path is None:
                continue
            script = site.project.script(path)
            if script is not None and len(script.raw.splitlines()) > SQL_LINES:
                files[f"{site.prefix}/sql/{site.sql_name(path)}"] = script.raw
    return files
