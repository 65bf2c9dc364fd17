"""The overview's pictures, drawn at build time as inline SVG: rollback risk over time, and
the schema's growth (tables, columns and indexes after each migration).

Each chart is one HTML fragment (``fragments.py``): an ``<svg role="img">`` with a
``<title>`` and an ``aria-label``, and under it a ``<details>`` table of the same numbers
for whoever cannot see it. Colours are the stylesheet's classes (``migdocs.css``), on
Material's colour variables, so both palettes read them; no style attribute, no script.
Catalog text (a migration's title) only lands escaped, in a ``<title>`` or a table cell.

A chart's size does not grow with the history: past ``MAX_COLUMNS`` migrations they are
drawn by month, then by quarter, then by year.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from migdocs.objects import ObjectKind
from migdocs.site.fragments import html_table, html_text
from migdocs.site.proof import NO_ROLLBACK
from migdocs.sql.model import SchemaModel

if TYPE_CHECKING:
    from collections.abc import Callable

    from migdocs.checks.context import EntryAnalysis
    from migdocs.project import Project
    from migdocs.site.proof import Proof

#: Most columns a chart draws: one per migration up to this, then one per period.
MAX_COLUMNS = 60
#: The rows of the risk chart, worst first.
RISKS = ("critical", "high", "medium", "low", "?", NO_ROLLBACK)
#: What the schema chart counts, by the kind of object.
GROWTH = (
    ("tables", ObjectKind.TABLE),
    ("columns", ObjectKind.COLUMN),
    ("indexes", ObjectKind.INDEX),
)
_WIDTH = 480
_LEFT = 100  # room for the row labels
_ROW = 20
_PANEL = 56


@dataclass
class ChartColumn:
    """One column of a chart: a migration, or the migrations of a period."""

    label: str
    #: What a pointer over the column shows: the migration's title, or the period.
    title: str
    risks: dict[str, int] = field(default_factory=dict)
    #: Tables, columns and indexes after the column's last migration.
    counts: tuple[int, int, int] = (0, 0, 0)


def columns(
    project: Project, analyses: list[EntryAnalysis], proofs: dict[str, Proof]
) -> list[ChartColumn]:
    """The history in at most ``MAX_COLUMNS`` columns: each migration, or each month,
    quarter or year, whichever is the finest that fits."""
    counts = _growth(project, analyses)
    entries = project.entries
    periods: list[Callable[[int, int], str]] = [
        lambda year, month: f"{year}-{month:02d}",
        lambda year, month: f"{year} Q{(month - 1) // 3 + 1}",
        lambda year, month: str(year),
    ]
    if len(entries) <= MAX_COLUMNS:
        made = [
            ChartColumn(entry.id, f"{entry.id}: {entry.migration.title}", counts=counts[position])
            for position, entry in enumerate(entries)
        ]
        for column, entry in zip(made, entries, strict=True):
            column.risks[proofs[entry.id].rollback] = 1
        return made
    for period in periods:
        by_period: dict[str, ChartColumn] = {}
        for position, entry in enumerate(entries):
            date = entry.migration.date
            key = period(date.year, date.month)
            column = by_period.setdefault(key, ChartColumn(key, key))
            risk = proofs[entry.id].rollback
            column.risks[risk] = column.risks.get(risk, 0) + 1
            column.counts = counts[position]
        if len(by_period) <= MAX_COLUMNS or period is periods[-1]:
            return [by_period[key] for key in sorted(by_period)]
    raise AssertionError("unreachable")  # pragma: no cover


def _growth(project: Project, analyses: list[EntryAnalysis]) -> list[tuple[int, int, int]]:
    """Tables, columns and indexes after each migration, from the static walk's net effects
    (a migration it cannot read changes no count), on top of the setup scripts' schema."""
    model = SchemaModel()
    for script in project.setup_scripts():
        model.apply_all(script.statements)
    kinds = [kind for _, kind in GROWTH]
    now = [sum(1 for ref in model.objects.values() if ref.kind is kind) for kind in kinds]
    made = []
    for analysis in analyses:
        effect = analysis.forward_effect
        if effect is not None:
            for ref in effect.created:
                if ref.kind in kinds:
                    now[kinds.index(ref.kind)] += 1
            for ref in effect.dropped:
                if ref.kind in kinds:
                    now[kinds.index(ref.kind)] -= 1
        made.append((now[0], now[1], now[2]))
    return made


def risk_chart(made: list[ChartColumn]) -> str:
    """Rollback risk over time: a row per risk, a column per migration or period, a cell
    where the column has migrations of that risk (darker for more)."""
    rows = [risk for risk in RISKS if any(column.risks.get(risk) for column in made)]
    step = (_WIDTH - _LEFT) / max(len(made), 1)
    height = _ROW * len(rows) + 24
    most = max((n for column in made for n in column.risks.values()), default=1)
    label = f"Rollback risk of {_span(made)}: " + ", ".join(
        f"{sum(c.risks.get(risk, 0) for c in made)} {risk}" for risk in rows
    )
    parts = [_open(height, label, "Rollback risk over time")]
    for row, risk in enumerate(rows):
        y = row * _ROW
        parts.append(
            f'<text class="migdocs-chart-label" x="{_LEFT - 6}" y="{y + 14}">{risk}</text>'
        )
        for position, column in enumerate(made):
            count = column.risks.get(risk, 0)
            if not count:
                continue
            shade = 1 + (3 * count - 1) // most  # 1 to 3
            parts.append(
                f'<rect class="migdocs-risk--{risk.replace(" ", "-").replace("?", "unknown")} '
                f'migdocs-shade--{shade}" x="{_LEFT + position * step:.1f}" y="{y + 2}" '
                f'width="{max(step - 1, 1):.1f}" height="{_ROW - 4}">'
                f"<title>{html_text(column.title)}: {count} {risk}</title></rect>"
            )
    parts.append(_axis(made, _ROW * len(rows)))
    parts.append("</svg>")
    table = html_table(
        ("when" if _by_period(made) else "migration", *rows),
        ((html_text(c.label), *(str(c.risks.get(r, 0)) for r in rows)) for c in made),
    )
    return _figure("".join(parts), "The numbers: migrations by rollback risk", table)


def growth_chart(made: list[ChartColumn]) -> str:
    """Schema growth: tables, columns and indexes after each migration or period, a line
    each, one panel each (columns outnumber tables)."""
    step = (_WIDTH - _LEFT) / max(len(made), 1)
    height = len(GROWTH) * (_PANEL + 8) + 24
    last = made[-1].counts if made else (0, 0, 0)
    label = f"Schema growth over {_span(made)}: now " + ", ".join(
        f"{last[n]} {name}" for n, (name, _) in enumerate(GROWTH)
    )
    parts = [_open(height, label, "Schema growth")]
    for panel, (name, _) in enumerate(GROWTH):
        top = panel * (_PANEL + 8)
        most = max((c.counts[panel] for c in made), default=0) or 1
        points = " ".join(
            f"{_LEFT + (position + 0.5) * step:.1f},"
            f"{top + _PANEL - (_PANEL - 4) * column.counts[panel] / most:.1f}"
            for position, column in enumerate(made)
        )
        parts.append(
            f'<text class="migdocs-chart-label" x="{_LEFT - 6}" y="{top + _PANEL / 2 + 5:.0f}">'
            f"{name} ({last[panel]})</text>"
            f'<line class="migdocs-chart-axis" x1="{_LEFT}" x2="{_WIDTH}" '
            f'y1="{top + _PANEL}" y2="{top + _PANEL}"/>'
            f'<polyline class="migdocs-growth--{name}" points="{points}"/>'
        )
    parts.append(_axis(made, len(GROWTH) * (_PANEL + 8)))
    parts.append("</svg>")
    table = html_table(
        ("after" if _by_period(made) else "migration", *(name for name, _ in GROWTH)),
        ((html_text(c.label), *(str(n) for n in c.counts)) for c in made),
    )
    return _figure("".join(parts), "The numbers: the schema after each step", table)


def _by_period(made: list[ChartColumn]) -> bool:
    """Whether the columns are periods (a migration's column has its title apart)."""
    return bool(made) and made[0].label == made[0].title


def _span(made: list[ChartColumn]) -> str:
    if not made:
        return "no migrations"
    if not _by_period(made):
        return f"{len(made)} migrations"
    return f"{made[0].label} to {made[-1].label}"


def _open(height: int, label: str, title: str) -> str:
    shown = html.escape(label)
    return (
        f'<svg class="migdocs-chart" role="img" aria-label="{shown}" '
        f'viewBox="0 0 {_WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{html.escape(title)}</title><desc>{shown}</desc>"
    )


def _axis(made: list[ChartColumn], y: int) -> str:
    """The first and last column's labels under the chart."""
    if not made:
        return ""
    first = html_text(_short(made[0].label))
    last = html_text(_short(made[-1].label))
    return (
        f'<text class="migdocs-chart-label migdocs-chart-start" x="{_LEFT}" y="{y + 18}">'
        f"{first}</text>"
        f'<text class="migdocs-chart-label" x="{_WIDTH}" y="{y + 18}">{last}</text>'
    )


def _short(label: str) -> str:
    """A label short enough that the first and the last do not meet under a chart."""
    return label if len(label) <= 24 else label[:23] + "…"


def _figure(svg: str, summary: str, table: str) -> str:
    return (
        f'<figure class="migdocs-figure">\n{svg}\n<details class="migdocs-chart-data">\n'
        f"<summary>{summary}</summary>\n{table}\n</details>\n</figure>"
    )
