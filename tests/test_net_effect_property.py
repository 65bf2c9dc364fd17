"""Property: for any history, the catalog `init` writes passes both `check` and `verify`.

Histories are drawn from the operations that made check and verify disagree on real
histories (issue 11): tables created (also ``IF NOT EXISTS``), renamed, changed and
dropped (``IF EXISTS``, ``CASCADE``), columns added, renamed and dropped, indexes and views
made and dropped in one script, temporary tables, and Prisma's enum change. Each drawn
history runs on PostgreSQL as written (the draw follows the schema, so that every
statement is valid); `init` adopts it, and neither check (MG201, MG202) nor replay (MG405)
may then find anything to declare or undeclare.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migdocs.checks import run_static
from migdocs.discovery import Choice
from migdocs.init import adopt
from migdocs.pg import ScratchServer
from migdocs.project import Project
from migdocs.replay import replay_project
from migdocs.runners import runner_class

PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    # In CI the same histories every run; at a developer's machine a new search each time.
    derandomize=bool(os.environ.get("CI")),
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow],
)

OPERATIONS = (
    "create_table",
    "create_table_if_not_exists",
    "add_column",
    "drop_column",
    "rename_column",
    "rename_table",
    "rename_then_drop_column",
    "drop_table",
    "drop_table_if_exists",
    "create_index",
    "drop_index",
    "drop_index_if_exists",
    "create_and_drop_index",
    "create_view",
    "drop_view",
    "temp_table",
    "enum_change",
)


@dataclass
class Schema:
    """What the drawn history has made so far, to draw only valid statements."""

    tables: dict[str, list[str]] = field(default_factory=dict)
    indexes: dict[str, tuple[str, str]] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)
    enum: str | None = None
    counter: int = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def pick(self, names: list[str], choice: int) -> str | None:
        return sorted(names)[choice % len(names)] if names else None


def statement(schema: Schema, operation: str, choice: int) -> str | None:
    """The SQL of ``operation`` on ``schema`` (which it updates), or ``None`` if it cannot
    apply."""
    table = schema.pick([name for name in schema.tables if name != "User"], choice)
    if operation in ("create_table", "create_table_if_not_exists"):
        exists = operation.endswith("exists") and table is not None and choice % 2 == 0
        name = table if exists and table is not None else schema.fresh("t")
        if not exists:
            schema.tables[name] = ["id", "a", "b"]
        keyword = "IF NOT EXISTS " if operation.endswith("exists") else ""
        return f"CREATE TABLE {keyword}{name} (id int PRIMARY KEY, a int, b text);"
    if operation == "temp_table":
        if table is None:
            return None
        name = schema.fresh("tmp")
        return (
            f"CREATE TEMP TABLE {name} AS SELECT id FROM {table};\n"
            f"CREATE INDEX {name}_id ON {name} (id);\n"
            f"UPDATE {table} SET id = id WHERE id IN (SELECT id FROM {name});\n"
            f"DROP TABLE {name};"
        )
    if operation == "enum_change":
        if schema.enum is None:
            schema.enum = "Role"
            schema.tables["User"] = ["id", "role"]
            return (
                "CREATE TYPE \"Role\" AS ENUM ('USER', 'ADMIN');\n"
                'CREATE TABLE "User" (id int PRIMARY KEY, role "Role" NOT NULL);'
            )
        if "User" not in schema.tables or schema.tables["User"] != ["id", "role"]:
            return None
        return (
            "CREATE TYPE \"Role_new\" AS ENUM ('USER', 'ADMIN', 'GUEST');\n"
            'ALTER TABLE "User" ALTER COLUMN "role" TYPE "Role_new" '
            'USING ("role"::text::"Role_new");\n'
            'ALTER TYPE "Role" RENAME TO "Role_old";\n'
            'ALTER TYPE "Role_new" RENAME TO "Role";\n'
            'DROP TYPE "Role_old";'
        )
    if operation == "drop_index_if_exists":
        name = schema.pick(list(schema.indexes), choice) if choice % 2 else None
        if name is None:
            return f"DROP INDEX IF EXISTS {schema.fresh('never_made_')};"
        del schema.indexes[name]
        return f"DROP INDEX IF EXISTS {name};"
    if operation == "drop_table_if_exists" and (table is None or choice % 2 == 0):
        return f"DROP TABLE IF EXISTS {schema.fresh('never_made_')};"
    if table is None:
        return None
    columns = schema.tables[table]
    column = schema.pick([c for c in columns if c != "id"], choice)
    if operation == "add_column":
        name = schema.fresh("c")
        columns.append(name)
        return f"ALTER TABLE {table} ADD COLUMN {name} int;"
    if operation in ("drop_table", "drop_table_if_exists"):
        return drop_table(schema, table, "IF EXISTS " if operation.endswith("exists") else "")
    if operation == "rename_table":
        name = schema.fresh("t")
        rename_table(schema, table, name)
        return f"ALTER TABLE {table} RENAME TO {name};"
    if operation == "create_view":
        name = schema.fresh("v")
        schema.views[name] = table
        return f"CREATE VIEW {name} AS SELECT count(*) AS n FROM {table};"
    if operation == "drop_view":
        view = schema.pick(list(schema.views), choice)
        if view is None:
            return None
        del schema.views[view]
        return f"DROP VIEW {view};"
    if operation == "drop_index":
        index = schema.pick(list(schema.indexes), choice)
        if index is None:
            return None
        del schema.indexes[index]
        return f"DROP INDEX {index};"
    if column is None:
        return None
    if operation == "drop_column":
        drop_column(schema, table, column)
        return f"ALTER TABLE {table} DROP COLUMN {column};"
    if operation == "rename_column":
        name = schema.fresh("c")
        columns[columns.index(column)] = name
        for index, (on, indexed) in list(schema.indexes.items()):
            if on == table and indexed == column:
                schema.indexes[index] = (table, name)
        return f"ALTER TABLE {table} RENAME COLUMN {column} TO {name};"
    if operation == "rename_then_drop_column":
        name = schema.fresh("t")
        rename_table(schema, table, name)
        drop_column(schema, name, column)
        return f"ALTER TABLE {table} RENAME TO {name};\nALTER TABLE {name} DROP COLUMN {column};"
    if operation == "create_index":
        name = schema.fresh("i")
        schema.indexes[name] = (table, column)
        return f"CREATE INDEX {name} ON {table} ({column});"
    if operation == "create_and_drop_index":
        name = schema.fresh("i")
        return f"CREATE INDEX {name} ON {table} ({column});\nDROP INDEX {name};"
    return None


def drop_table(schema: Schema, table: str, keyword: str) -> str:
    del schema.tables[table]
    for index, (on, _) in list(schema.indexes.items()):
        if on == table:
            del schema.indexes[index]
    views = [view for view, on in schema.views.items() if on == table]
    for view in views:
        del schema.views[view]
    return f"DROP TABLE {keyword}{table}{' CASCADE' if views else ''};"


def rename_table(schema: Schema, table: str, name: str) -> None:
    schema.tables[name] = schema.tables.pop(table)
    for index, (on, column) in list(schema.indexes.items()):
        if on == table:
            schema.indexes[index] = (name, column)
    for view, on in list(schema.views.items()):
        if on == table:
            schema.views[view] = name


def drop_column(schema: Schema, table: str, column: str) -> None:
    schema.tables[table].remove(column)
    for index, (on, indexed) in list(schema.indexes.items()):
        if on == table and indexed == column:
            del schema.indexes[index]


STEP = st.tuples(st.sampled_from(OPERATIONS), st.integers(min_value=0, max_value=7))
HISTORY = st.lists(st.lists(STEP, min_size=1, max_size=4), min_size=1, max_size=4)


def history_of(draw: list[list[tuple[str, int]]]) -> dict[str, str]:
    """The drawn migrations' SQL, by folder name (a first one makes a table to work on)."""
    schema = Schema()
    migrations = {"000_start": statement(schema, "create_table", 0) or ""}
    for number, steps in enumerate(draw, start=1):
        sql = [statement(schema, operation, choice) for operation, choice in steps]
        text = "\n".join(part for part in sql if part)
        if text:
            migrations[f"{number:03d}_step"] = text + "\n"
    return migrations


@PROPERTY_SETTINGS
@given(HISTORY)
def test_init_writes_what_check_and_verify_both_accept(
    pg_server: ScratchServer, draw: list[list[tuple[str, int]]]
) -> None:
    history = history_of(draw)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, up in history.items():
            (root / "migrations" / name).mkdir(parents=True)
            (root / "migrations" / name / "up.sql").write_text(up)
        choice = Choice(runner_class("folders"), root / "migrations", None)
        (root / "catalog.yaml").write_text(adopt(root, choice))
        project = Project.load(root / "catalog.yaml")
        context, static = run_static(project)
        result = replay_project(project, context, pg_server)
    failed = [(m.migration, m.reason) for m in result.migrations if m.forward != "ok"]
    assert failed == [], history
    found = [
        (finding.code, finding.migration, finding.message)
        for finding in [*static, *result.findings]
        if finding.code in ("MG201", "MG202", "MG405")
    ]
    assert found == [], history
