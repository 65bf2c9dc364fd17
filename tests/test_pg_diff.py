"""The differ: what changed between two snapshots, told as a DBA reads it."""

from __future__ import annotations

import random

import psycopg
import pytest

from migdocs.objects import ObjectKind, ObjectRef
from migdocs.pg import (
    Change,
    Difference,
    ObjectState,
    Snapshot,
    describe_change,
    diff,
    read_snapshot,
)

#: (setup, step, what the differ says the step did)
CASES = [
    pytest.param(
        "CREATE TABLE customers (id int, last_name text)",
        "CREATE INDEX customers_last_name_idx ON customers (last_name)",
        ["index public.customers_last_name_idx: added"],
        id="index-added",
    ),
    pytest.param(
        "CREATE SCHEMA app; CREATE TABLE app.orders (total numeric(14,2))",
        "ALTER TABLE app.orders ALTER COLUMN total TYPE numeric(12,3)",
        ["column app.orders.total: type numeric(14,2) → numeric(12,3)"],
        id="column-type",
    ),
    pytest.param(
        "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, CHECK (id > 0));"
        "CREATE INDEX users_email ON users (lower(email))",
        "DROP TABLE users",
        ["table public.users: removed"],
        id="table-removed-alone",
    ),
    pytest.param(
        "",
        "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);"
        "CREATE INDEX users_email ON users (email)",
        ["table public.users: added"],
        id="table-added-alone",
    ),
    pytest.param(
        "CREATE TABLE t (id int, note text)",
        "ALTER TABLE t ALTER COLUMN note SET DEFAULT 'n/a', ALTER COLUMN note SET NOT NULL",
        [
            "column public.t.note: not null no → yes",
            "column public.t.note: default (none) → 'n/a'::text",
        ],
        id="default-and-not-null",
    ),
    pytest.param(
        "CREATE SCHEMA app; CREATE TABLE app.t (id int); CREATE TYPE app.e AS ENUM ('a')",
        "DROP SCHEMA app CASCADE",
        ["schema app: removed"],
        id="schema-removed-alone",
    ),
    pytest.param(
        "CREATE TABLE t (id int)",
        "ALTER TABLE t RENAME TO accounts",
        ["table public.accounts: added", "table public.t: removed"],
        id="rename",
    ),
    pytest.param(
        "CREATE TABLE t (id int, v int)",
        "ALTER TABLE t ADD CONSTRAINT v_positive CHECK (v > 0)",
        ["constraint public.t.v_positive: added"],
        id="constraint-added",
    ),
    pytest.param(
        "CREATE TYPE status AS ENUM ('new', 'paid')",
        "ALTER TYPE status ADD VALUE 'shipped'",
        ["type public.status: labels [new, paid] → [new, paid, shipped]"],
        id="enum-value",
    ),
    pytest.param(
        "CREATE ROLE migdocs_diff_reader; CREATE TABLE t (id int)",
        "GRANT SELECT, UPDATE ON t TO migdocs_diff_reader",
        ["table public.t: grants +migdocs_diff_reader:SELECT +migdocs_diff_reader:UPDATE"],
        id="grants",
    ),
    pytest.param(
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'SELECT a'",
        "REVOKE EXECUTE ON FUNCTION f(int) FROM PUBLIC; COMMENT ON FUNCTION f(int) IS 'Doubles'",
        [
            "function public.f(integer): revoked +PUBLIC:EXECUTE",
            "function public.f(integer): comment (none) → Doubles",
        ],
        id="revoke-and-comment",
    ),
    pytest.param(
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN a;\nEND\n$$",
        "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n"
        "  RETURN a * 2;\nEND\n$$",
        ["function public.f(integer): body changed"],
        id="long-body",
    ),
    pytest.param(
        "CREATE TABLE t (id int); CREATE VIEW v AS SELECT id FROM t",
        "CREATE OR REPLACE VIEW v AS SELECT id FROM t WHERE id > 0",
        [
            "view public.v: definition SELECT id FROM public.t;"
            " → SELECT id FROM public.t WHERE (id > 0);"
        ],
        id="view",
    ),
    pytest.param(
        "CREATE TABLE t (id int)",
        "ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY mine ON t USING (id > 0)",
        ["table public.t: row security no → yes", "policy public.t.mine: added"],
        id="rls-and-policy",
    ),
]


@pytest.mark.parametrize(("setup", "step", "expected"), CASES)
def test_diff_describes_a_step(
    pg_database: str, setup: str, step: str, expected: list[str]
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        if setup:
            conn.execute(setup)
        before = read_snapshot(conn)
        try:
            conn.execute(step)
            after = read_snapshot(conn)
        finally:
            if "migdocs_diff_reader" in setup:
                conn.execute("DROP OWNED BY migdocs_diff_reader; DROP ROLE migdocs_diff_reader")
    assert [difference.describe() for difference in diff(before, after)] == expected
    assert diff(before, before) == []


def _state(kind: ObjectKind, name: str, table: str | None = None, **attrs: object) -> ObjectState:
    return ObjectState(ObjectRef(kind, "public", name, table=table), dict(attrs))  # type: ignore[arg-type]


TABLE = _state(ObjectKind.TABLE, "users", owner="app")
COLUMN = _state(ObjectKind.COLUMN, "email", "users", type="text", **{"not null": False})
INDEX = _state(ObjectKind.INDEX, "users_email", "users", definition="CREATE INDEX …")
VIEW = _state(ObjectKind.VIEW, "active", definition="SELECT 1;")
SCHEMA = ObjectState(ObjectRef(ObjectKind.SCHEMA, None, "public"), {"owner": "app"})


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ([TABLE, COLUMN, INDEX], [], ["table public.users: removed"]),
        ([], [TABLE, COLUMN, INDEX], ["table public.users: added"]),
        (
            [TABLE, COLUMN, INDEX],
            [TABLE],
            ["column public.users.email: removed", "index public.users_email: removed"],
        ),
        ([TABLE], [TABLE, COLUMN], ["column public.users.email: added"]),
        ([COLUMN], [COLUMN], []),
        (
            [SCHEMA, VIEW, TABLE, COLUMN],
            [
                _state(ObjectKind.VIEW, "active", definition="SELECT 2;"),
                TABLE,
                _state(ObjectKind.COLUMN, "email", "users", type="citext", **{"not null": True}),
            ],
            [
                "schema public: removed",
                "view public.active: definition SELECT 1; → SELECT 2;",
                "column public.users.email: type text → citext",
                "column public.users.email: not null no → yes",
            ],
        ),
    ],
    ids=["table-removed", "table-added", "parts-removed", "column-added", "same", "order"],
)
def test_diff_of_snapshots(
    before: list[ObjectState], after: list[ObjectState], expected: list[str]
) -> None:
    assert [d.describe() for d in diff(Snapshot(before), Snapshot(after))] == expected


def test_diff_order_does_not_depend_on_reading_order() -> None:
    states = [
        _state(ObjectKind.TABLE, f"t{i % 7}")
        if i % 2
        else _state(ObjectKind.COLUMN, f"c{i}", f"t{i % 7}")
        for i in range(40)
    ]
    expected = diff(Snapshot(), Snapshot(states))
    shuffled = list(states)
    random.Random(4).shuffle(shuffled)
    assert diff(Snapshot(), Snapshot(shuffled)) == expected


def test_difference_carries_what_a_report_needs() -> None:
    [difference] = diff(
        Snapshot([COLUMN]),
        Snapshot(
            [_state(ObjectKind.COLUMN, "email", "users", type="citext", **{"not null": False})]
        ),
    )
    assert difference == Difference(Change.CHANGED, COLUMN.ref, "type", "text", "citext")
    assert difference.ref.key == "column:public.users.email"
    assert str(difference) == "column public.users.email: type text → citext"


@pytest.mark.parametrize(
    ("attribute", "before", "after", "expected"),
    [
        ("default", None, "0", "(none) → 0"),
        ("not null", False, True, "no → yes"),
        ("start", 1, 10, "1 → 10"),
        ("labels", ("a",), ("a", "b"), "[a] → [a, b]"),
        ("grants", ("x:SELECT",), ("y:SELECT",), "+y:SELECT −x:SELECT"),
        ("definition", "x" * 81, "y", "changed"),
        ("body", "a\nb", "a\nc", "changed"),
    ],
)
def test_describe_change(attribute: str, before: object, after: object, expected: str) -> None:
    assert describe_change(attribute, before, after) == expected  # type: ignore[arg-type]
