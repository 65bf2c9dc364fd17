"""The schema reference: an index of the tables with overview ER diagrams, and one page per
table (columns in table order, keys and their targets, constraints, index definitions,
comments, policies, triggers, a one-hop ER diagram, and the table's history by migration).

A table's page holds only that table and its neighbours: it does not grow with the history,
only with the migrations that touched the table. Names reach Mermaid reduced to what it
reads (``mermaid_name``); the tables under each diagram print them, and the types, as
PostgreSQL does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from migdocs.objects import ObjectKind, ObjectRef
from migdocs.site.escape import mermaid_name, text, url
from migdocs.site.fragments import Cell, Link, Literal, Part, Text
from migdocs.site.schema_model import Constraint, SchemaTable, TableName, TableReader, qualified

if TYPE_CHECKING:
    from migdocs.project import Project

#: Tables on one page of the index.
SCHEMA_TABLES = 40
#: Neighbours drawn in a table's diagram, and rows of its "referenced by" list.
NEIGHBOURS = 40
#: Dropped tables listed on the index (the latest ones).
DROPPED_ROWS = 200
#: What every page of the reference says of where it comes from.
SOURCE = (
    "Read from the migrations' SQL, without a database: types and index definitions as "
    "PostgreSQL prints them, defaults and checks as the migrations write them."
)

#: Makes a table fragment's marker from its header and rows.
TableMaker = Callable[[tuple[str, ...], list[tuple[Cell, ...]]], str]
#: Renders a template with values.
Renderer = Callable[..., str]


@dataclass
class SchemaReference:
    """The schema reference of a history: its pages, and where each table's page is.

    Attributes:
        reader: The tables, as the migrations leave them.
        prefix: The folder of the generated pages (``history``).
        table: Makes a table fragment (``Site.table``).
        render: Renders a template (``Site.render``).
    """

    reader: TableReader
    prefix: str
    table: TableMaker
    render: Renderer

    def __post_init__(self) -> None:
        self.tables = sorted(self.reader.tables.values(), key=lambda t: t.key)
        self.slugs: dict[TableName, str] = {}
        taken: set[str] = set()
        for table in self.tables:
            # One file per table, told apart where two names reduce to one (or differ in
            # case only, for case-insensitive file systems).
            slug = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{table.schema}.{table.name}")
            made, number = slug, 1
            while made.lower() in taken:
                number += 1
                made = f"{slug}-{number}"
            taken.add(made.lower())
            self.slugs[table.key] = made
        self.referenced_by: dict[TableName, list[tuple[SchemaTable, Constraint]]] = {}
        for table in self.tables:
            for constraint in table.foreign_keys():
                if constraint.target is not None:
                    self.referenced_by.setdefault(constraint.target, []).append((table, constraint))

    # -- where things are ---------------------------------------------------------------------

    def uri(self, key: TableName) -> str | None:
        """The page of a table, under the prefix (``schema/tables/public.post.md``)."""
        slug = self.slugs.get(key)
        return f"schema/tables/{slug}.md" if slug is not None else None

    def uri_of(self, ref: ObjectRef) -> str | None:
        """The page that shows an object a catalog entry declares: its table's, for a table
        or what hangs on one (a column, an index, a constraint, a trigger, a policy)."""
        schema = ref.schema or "public"
        if ref.kind is ObjectKind.TABLE:
            return self.uri((schema, ref.name))
        if ref.table is not None:
            return self.uri((schema, ref.table))
        if ref.kind is ObjectKind.INDEX:
            owner = self.reader.index_table.get((schema, ref.name))
            return self.uri(owner) if owner is not None else None
        return None

    # -- pages --------------------------------------------------------------------------------

    def pages(self) -> dict[str, str]:
        """The index (one page, or an index and pages of ``SCHEMA_TABLES`` tables) and a
        page per table, by path under the docs folder."""
        base = self.prefix
        pages = {f"{base}/{self.uri(table.key)}": self.table_page(table) for table in self.tables}
        by_schema: dict[str, list[SchemaTable]] = {}
        for table in self.tables:
            by_schema.setdefault(table.schema, []).append(table)
        dropped = self._dropped("")
        if len(self.tables) <= SCHEMA_TABLES:
            pages[f"{base}/schema.md"] = self._index_page("Schema", by_schema, "", dropped)
            return pages
        lines = [
            "# Schema",
            "",
            f"{SOURCE} {SCHEMA_TABLES} tables a page, each table with a page of its own.",
            "",
            "| schema | tables | pages |",
            "|---|---|---|",
        ]
        slugs: dict[str, str] = {}
        for schema, tables in sorted(by_schema.items()):
            # A page name per schema, told apart when two names reduce to the same one.
            slug = mermaid_name(schema)
            slug = slugs[slug] = slug if slug not in slugs else f"{slug}_{len(slugs)}"
            links = []
            for number, start in enumerate(range(0, len(tables), SCHEMA_TABLES), 1):
                chunk = tables[start : start + SCHEMA_TABLES]
                uri = f"schema/{slug}-{number}.md"
                first, last = chunk[0].name, chunk[-1].name
                links.append(f"[{text(first)} … {text(last)}]({url(uri)})")
                pages[f"{base}/{uri}"] = self._index_page(
                    f"Schema {schema}: {first} … {last}", {schema: chunk}, "../", ""
                )
            lines.append(f"| {text(schema)} | {len(tables)} | {', '.join(links)} |")
        pages[f"{base}/schema.md"] = "\n".join(lines) + "\n\n" + dropped
        return pages

    def _index_page(
        self, title: str, by_schema: dict[str, list[SchemaTable]], base: str, dropped: str
    ) -> str:
        schemas = []
        for schema, tables in sorted(by_schema.items()):
            shown = tables[:SCHEMA_TABLES]
            items = [
                {
                    "name": f"{table.schema}.{table.name}",
                    "link": f"{base}{self.uri(table.key)}",
                    "summary": self._summary(table),
                    "by": table.history[0].migration,
                }
                for table in tables
            ]
            schemas.append((schema, self._diagram(shown, shown, full=True), items))
        return self.render(
            "schema.md.j2",
            title=title,
            source=SOURCE,
            schemas=schemas,
            base=base,
            dropped=dropped,
        )

    @staticmethod
    def _summary(table: SchemaTable) -> str:
        counts = [(len(table.columns), "column"), (len(table.indexes), "index")]
        parts = [f"{n} {word}{'es' if word == 'index' else 's'}" for n, word in counts if n != 1]
        parts += [f"1 {word}" for n, word in counts if n == 1]
        return ", ".join(sorted(parts, key=lambda p: "index" in p))

    def _dropped(self, base: str) -> str:
        """The tables dropped on the way, latest first, with who made and dropped them."""
        dropped = self.reader.dropped[::-1][:DROPPED_ROWS]
        if not dropped:
            return ""
        rows: list[tuple[Cell, ...]] = [
            (
                Literal(f"{table.schema}.{table.name}"),
                self._by(table.history[0].migration, base),
                self._by(table.dropped_by or "?", base),
                Text(
                    "; ".join(c.what for c in table.history if c.what.startswith("renamed")) or "—"
                ),
            )
            for table in dropped
        ]
        more = len(self.reader.dropped) - len(dropped)
        tail = f"\n\n*And {more} dropped before them.*" if more else ""
        header = ("table", "created by", "dropped by", "renames")
        return f"## Dropped tables\n\n{self.table(header, rows)}{tail}\n"

    def table_page(self, table: SchemaTable) -> str:
        """The page of one table."""
        base = "../../"  # from schema/tables/ to the prefix
        key_marks = self._key_marks(table)
        columns: list[tuple[Cell, ...]] = [
            (
                Text(str(position)),
                Literal(column.name),
                Literal(column.type),
                Text("NOT NULL" if column.not_null else "NULL"),
                Literal(column.default) if column.default else Text(""),
                key_marks.get(column.name, Text("")),
                Text(column.comment or ""),
            )
            for position, column in enumerate(table.columns.values(), 1)
        ]
        constraints: list[tuple[Cell, ...]] = [
            (Literal(c.name), Text(c.kind), Literal(c.definition()))
            for c in sorted(table.constraints.values(), key=lambda c: c.name)
        ]
        indexes: list[tuple[Cell, ...]] = [
            (Literal(i.name), Literal(i.definition(table.key)))
            for i in sorted(table.indexes.values(), key=lambda i: i.name)
        ]
        referencing = self.referenced_by.get(table.key, [])
        referenced_rows: list[tuple[Cell, ...]] = [
            (
                self._table_link(other.key),
                Literal(constraint.name),
                Literal(", ".join(constraint.columns)),
            )
            for other, constraint in referencing[:NEIGHBOURS]
        ]
        history: list[tuple[Cell, ...]] = [
            (self._by(change.migration, base), Text(change.what)) for change in table.history
        ]
        neighbours = self._neighbours(table)
        return self.render(
            "table.md.j2",
            name=f"{table.schema}.{table.name}",
            source=SOURCE,
            comment=table.comment or "",
            row_security=table.row_security,
            columns=self.table(
                ("#", "column", "type", "nullable", "default", "keys", "comment"), columns
            ),
            constraints=self.table(("name", "type", "definition"), constraints)
            if constraints
            else "",
            indexes=self.table(("name", "definition"), indexes) if indexes else "",
            policies=self.table(
                ("name", "definition"),
                [(Literal(n), Literal(d)) for n, d in sorted(table.policies.items())],
            )
            if table.policies
            else "",
            triggers=self.table(
                ("name", "definition"),
                [(Literal(n), Literal(d)) for n, d in sorted(table.triggers.items())],
            )
            if table.triggers
            else "",
            referenced_by=self.table(("table", "constraint", "columns"), referenced_rows)
            if referenced_rows
            else "",
            referenced_more=max(0, len(referencing) - NEIGHBOURS),
            diagram=self._diagram([table], [table, *neighbours], full=False),
            history=self.table(("migration", "change"), history),
        )

    # -- the parts ----------------------------------------------------------------------------

    def _key_marks(self, table: SchemaTable) -> dict[str, Cell]:
        """Each key column's marks: ``PK``, and ``FK →`` its targets, linked."""
        marks: dict[str, list[Part]] = {}
        for column in table.primary_key():
            marks.setdefault(column, []).append(Text("PK"))
        for constraint in sorted(table.foreign_keys(), key=lambda c: c.name):
            if constraint.target is None:
                continue
            for position, column in enumerate(constraint.columns):
                parts = marks.setdefault(column, [])
                target = qualified(constraint.target)
                if position < len(constraint.target_columns):
                    target += f".{constraint.target_columns[position]}"
                parts.append(Text(" FK → " if parts else "FK → "))
                page = self.uri(constraint.target)
                parts.append(
                    Link(Text(target), page[len("schema/tables/") :]) if page else Text(target)
                )
        return {column: tuple(parts) for column, parts in marks.items()}

    def _neighbours(self, table: SchemaTable) -> list[SchemaTable]:
        """The tables one foreign key away from ``table`` (both ways), at most ``NEIGHBOURS``."""
        keys: set[TableName] = {c.target for c in table.foreign_keys() if c.target is not None}
        keys |= {other.key for other, _ in self.referenced_by.get(table.key, [])}
        keys.discard(table.key)
        found = [self.reader.tables[k] for k in sorted(keys) if k in self.reader.tables]
        return found[:NEIGHBOURS]

    def _diagram(self, focus: list[SchemaTable], drawn: list[SchemaTable], *, full: bool) -> str:
        """An ``erDiagram``'s lines: every column of the ``focus`` tables (of all of them when
        ``full``), the key columns of the others, and the foreign keys among them."""
        entities: dict[TableName, str] = {}
        for table in drawn:
            entity = mermaid_name(table.name if full else f"{table.schema}.{table.name}")
            made, number = entity, 1
            while made in entities.values():
                number += 1
                made = f"{entity}_{number}"
            entities[table.key] = made
        focused = {t.key for t in focus}
        lines = []
        for table in drawn:
            primary = set(table.primary_key())
            foreign = {c for k in table.foreign_keys() for c in k.columns}
            lines.append(f"    {entities[table.key]} {{")
            for column in table.columns.values():
                marks = [
                    m
                    for m, on in (("PK", column.name in primary), ("FK", column.name in foreign))
                    if on
                ]
                if not marks and table.key not in focused and not full:
                    continue
                kind, name = mermaid_name(column.type), mermaid_name(column.name)
                lines.append(f"        {kind} {name} {', '.join(marks)}".rstrip())
            lines.append("    }")
        for table in drawn:
            for constraint in sorted(table.foreign_keys(), key=lambda c: c.name):
                target = constraint.target
                if target not in entities:
                    continue
                if not full and table.key not in focused and target not in focused:
                    continue
                nullable = any(
                    not table.columns[c].not_null for c in constraint.columns if c in table.columns
                )
                left = "|o" if nullable else "||"
                label = mermaid_name(constraint.name)
                lines.append(f"    {entities[target]} {left}--o{{ {entities[table.key]} : {label}")
        return "\n".join(lines)

    def _table_link(self, key: TableName, label: str | None = None) -> Part:
        """A link from a table's page to another's (a text where it has none)."""
        name = Text(label if label is not None else f"{key[0]}.{key[1]}")
        slug = self.slugs.get(key)
        return Link(name, f"{slug}.md") if slug is not None else name

    @staticmethod
    def _by(migration_id: str, base: str) -> Link:
        """A link to a migration's page."""
        return Link(Text(migration_id), f"{base}migrations/{url(migration_id)}.md")


def schema_reference(
    project: Project, prefix: str, table: TableMaker, render: Renderer
) -> SchemaReference:
    """The schema reference of a project's migrations."""
    return SchemaReference(TableReader.of(project), prefix, table, render)
