"""SchemaModel: cascades, renames moving what hangs on an object, undo, and net effects."""

from __future__ import annotations

from typing import Any

import pytest

from migdocs.objects import ObjectKind, ObjectRef, parse_declared
from migdocs.sql import SchemaModel, parse_text

BASE = """
CREATE TABLE orgs (id int PRIMARY KEY);
CREATE TABLE users (
  id int PRIMARY KEY,
  email text CONSTRAINT users_email_key UNIQUE,
  name varchar(50),
  org_id int REFERENCES orgs (id)
);
CREATE INDEX users_email_idx ON users (email);
CREATE INDEX users_email_name_idx ON users (email, name);
CREATE INDEX users_name_idx ON users (name);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
CREATE POLICY users_own ON users USING (true);
CREATE VIEW active_users AS SELECT * FROM users;
"""

BASE_OBJECTS = {
    "table:public.orgs",
    "column:public.orgs.id",
    "constraint:public.orgs.orgs_pkey",
    "table:public.users",
    "column:public.users.id",
    "column:public.users.email",
    "column:public.users.name",
    "column:public.users.org_id",
    "constraint:public.users.users_pkey",
    "constraint:public.users.users_email_key",
    "constraint:public.users.users_org_id_fkey",
    "index:public.users_email_idx",
    "index:public.users_email_name_idx",
    "index:public.users_name_idx",
    "function:public.touch",
    "trigger:public.users.users_touch",
    "policy:public.users.users_own",
    "view:public.active_users",
}


def model_of(sql: str = BASE) -> SchemaModel:
    model = SchemaModel()
    model.apply_all(parse_text(sql).statements)
    model.commit()
    return model


def apply(model: SchemaModel, sql: str) -> None:
    script = parse_text(sql)
    assert script.problems == []
    model.apply_all(script.statements)


def keys(model: SchemaModel) -> set[str]:
    return {ref.key for ref in model.objects.values()}


def state(model: SchemaModel) -> tuple[Any, ...]:
    return (
        dict(model.objects),
        {owner: frozenset(children) for owner, children in model.children.items()},
        dict(model.keys),
        dict(model.column_types),
        dict(model.sources),
    )


def test_base_model() -> None:
    model = model_of()
    assert keys(model) == BASE_OBJECTS
    users = ObjectRef(ObjectKind.TABLE, "public", "users").identity
    assert {child[3] for child in model.children[users]} == {
        "id",
        "email",
        "name",
        "org_id",
        "users_pkey",
        "users_email_key",
        "users_org_id_fkey",
        "users_email_idx",
        "users_email_name_idx",
        "users_name_idx",
        "users_touch",
        "users_own",
    }


@pytest.mark.parametrize(
    ("sql", "gone"),
    [
        (
            "DROP TABLE users CASCADE",
            # the view reads users: CASCADE takes it along
            {key for key in BASE_OBJECTS if ".users" in key} | {"view:public.active_users"},
        ),
        (
            "ALTER TABLE users DROP COLUMN email",
            {
                "column:public.users.email",
                "constraint:public.users.users_email_key",
                "index:public.users_email_idx",
                "index:public.users_email_name_idx",
            },
        ),
        (
            "ALTER TABLE users DROP COLUMN org_id",
            {"column:public.users.org_id", "constraint:public.users.users_org_id_fkey"},
        ),
        (
            "ALTER TABLE users DROP COLUMN name",
            {
                "column:public.users.name",
                "index:public.users_email_name_idx",
                "index:public.users_name_idx",
            },
        ),
        ("DROP INDEX users_email_idx", {"index:public.users_email_idx"}),
        (
            "ALTER TABLE users DROP CONSTRAINT users_email_key",
            {"constraint:public.users.users_email_key"},
        ),
        ("DROP TRIGGER users_touch ON users", {"trigger:public.users.users_touch"}),
        ("DROP POLICY users_own ON users", {"policy:public.users.users_own"}),
        ("DROP VIEW active_users", {"view:public.active_users"}),
        ("DROP FUNCTION touch()", {"function:public.touch"}),
        ("DROP TABLE IF EXISTS nothing_here", set()),
        ("DROP INDEX IF EXISTS nothing_idx", set()),
        ("ALTER TABLE users DROP COLUMN IF EXISTS nothing", set()),
    ],
)
def test_drops_cascade_to_what_hangs_on_the_object(sql: str, gone: set[str]) -> None:
    model = model_of()
    apply(model, sql)
    assert keys(model) == BASE_OBJECTS - gone


def test_drop_schema_takes_everything_in_it() -> None:
    model = model_of(
        BASE
        + "CREATE SCHEMA billing;\n"
        + "CREATE TABLE billing.invoices (id int PRIMARY KEY, due date);\n"
        + "CREATE INDEX invoices_due_idx ON billing.invoices (due);\n"
        + "CREATE TYPE billing.state AS ENUM ('open');\n"
        + "CREATE FUNCTION billing.total() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
    )
    apply(model, "DROP SCHEMA billing CASCADE")
    assert keys(model) == BASE_OBJECTS


def test_dropping_a_table_forgets_its_keys_and_types() -> None:
    model = model_of()
    apply(model, "DROP TABLE users CASCADE")
    assert all(key.table.name != "users" for key in model.keys.values())
    assert all(identity[2] != "users" for identity in model.column_types)
    assert ObjectRef(ObjectKind.TABLE, "public", "users").identity not in model.children


def test_rename_table_moves_columns_constraints_indexes_and_keys() -> None:
    model = model_of()
    apply(model, "ALTER TABLE users RENAME TO accounts")
    renamed = {key.replace("public.users.", "public.accounts.") for key in BASE_OBJECTS}
    renamed = {key.replace("table:public.users", "table:public.accounts") for key in renamed}
    assert keys(model) == renamed
    for name in ("users_email_idx", "users_email_name_idx", "users_pkey"):
        key = next(k for identity, k in model.keys.items() if identity[3] == name)
        assert key.table.key == "table:public.accounts"
    index = next(ref for ref in model.objects.values() if ref.name == "users_email_idx")
    assert index.table == "accounts"
    # what hangs on the new name goes when its column goes
    apply(model, "ALTER TABLE accounts DROP COLUMN email")
    assert "index:public.users_email_idx" not in keys(model)
    assert "constraint:public.accounts.users_email_key" not in keys(model)
    assert "index:public.users_name_idx" in keys(model)


def test_rename_column_moves_keys_and_type() -> None:
    model = model_of()
    apply(model, "ALTER TABLE users RENAME COLUMN email TO mail")
    assert "column:public.users.mail" in keys(model)
    assert "column:public.users.email" not in keys(model)
    by_name = {identity[3]: key.columns for identity, key in model.keys.items()}
    assert by_name["users_email_idx"] == ("mail",)
    assert by_name["users_email_name_idx"] == ("mail", "name")
    assert by_name["users_email_key"] == ("mail",)
    name = ObjectRef(ObjectKind.COLUMN, "public", "full_name", "users").identity
    apply(model, "ALTER TABLE users RENAME COLUMN name TO full_name")
    assert model.column_types[name] == "varchar(50)"
    apply(model, "ALTER TABLE users DROP COLUMN mail")
    assert keys(model) >= {"index:public.users_name_idx", "column:public.users.full_name"}
    assert "index:public.users_email_idx" not in keys(model)
    assert "index:public.users_email_name_idx" not in keys(model)


@pytest.mark.parametrize(
    ("sql", "old", "new"),
    [
        (
            "ALTER INDEX users_email_idx RENAME TO users_mail_idx",
            "index:public.users_email_idx",
            "index:public.users_mail_idx",
        ),
        (
            "ALTER TABLE users RENAME CONSTRAINT users_email_key TO users_email_unique",
            "constraint:public.users.users_email_key",
            "constraint:public.users.users_email_unique",
        ),
        (
            "ALTER TRIGGER users_touch ON users RENAME TO users_touch_2",
            "trigger:public.users.users_touch",
            "trigger:public.users.users_touch_2",
        ),
        (
            "ALTER VIEW active_users RENAME TO live_users",
            "view:public.active_users",
            "view:public.live_users",
        ),
        (
            "ALTER FUNCTION touch() RENAME TO touch_row",
            "function:public.touch",
            "function:public.touch_row",
        ),
    ],
)
def test_renames_of_other_objects(sql: str, old: str, new: str) -> None:
    model = model_of()
    apply(model, sql)
    assert keys(model) == (BASE_OBJECTS - {old}) | {new}


def test_renamed_index_keeps_its_key() -> None:
    model = model_of()
    apply(model, "ALTER INDEX users_email_idx RENAME TO users_mail_idx")
    key = next(k for identity, k in model.keys.items() if identity[3] == "users_mail_idx")
    assert key.columns == ("email",)
    apply(model, "ALTER TABLE users DROP COLUMN email")
    assert "index:public.users_mail_idx" not in keys(model)


def test_set_schema_moves_the_table_and_what_hangs_on_it() -> None:
    model = model_of()
    apply(model, "ALTER TABLE users SET SCHEMA archive")
    assert "table:archive.users" in keys(model)
    assert "table:public.users" not in keys(model)
    assert {"column:archive.users.email", "constraint:archive.users.users_pkey"} <= keys(model)
    assert not any(
        key.startswith(("column:public.users", "constraint:public.users")) for key in keys(model)
    )


def test_find_a_table_reference_finds_views() -> None:
    model = model_of()
    view = model.find(ObjectRef(ObjectKind.TABLE, "public", "active_users"))
    assert view is not None
    assert view.kind is ObjectKind.VIEW
    assert model.exists(ObjectRef(ObjectKind.TABLE, "public", "users"))
    assert not model.exists(ObjectRef(ObjectKind.TABLE, "app", "users"))
    assert not model.exists(ObjectRef(ObjectKind.FUNCTION, "public", "active_users"))


def test_create_or_replace_keeps_one_object() -> None:
    model = model_of()
    apply(model, "CREATE OR REPLACE VIEW active_users AS SELECT id FROM users")
    assert keys(model) == BASE_OBJECTS


def test_retype_changes_the_known_type() -> None:
    model = model_of()
    apply(model, "ALTER TABLE users ALTER COLUMN name TYPE text")
    name = ObjectRef(ObjectKind.COLUMN, "public", "name", "users").identity
    assert model.column_types[name] == "text"
    apply(model, "ALTER TABLE nowhere ALTER COLUMN x TYPE text")
    assert ObjectRef(ObjectKind.COLUMN, "public", "x", "nowhere").identity not in model.column_types


# -- undo ------------------------------------------------------------------------------------------

SCRIPTS = [
    "DROP TABLE users CASCADE",
    "ALTER TABLE users DROP COLUMN email",
    "ALTER TABLE users RENAME TO accounts; ALTER TABLE accounts DROP COLUMN name",
    "ALTER TABLE users RENAME COLUMN email TO mail; CREATE INDEX ON users (mail)",
    "ALTER TABLE users SET SCHEMA archive",
    "DROP INDEX users_email_idx; CREATE INDEX users_email_idx ON users (name)",
    "CREATE TABLE t (id int PRIMARY KEY); DROP TABLE t",
    "CREATE SCHEMA s CREATE TABLE x (id int); DROP SCHEMA s CASCADE; DROP TABLE orgs CASCADE",
    "ALTER TABLE users ALTER COLUMN name TYPE text; ALTER TABLE users ADD COLUMN z int",
    "CREATE OR REPLACE VIEW active_users AS SELECT 1; DROP VIEW active_users",
]


@pytest.mark.parametrize("sql", SCRIPTS)
def test_undo_restores_exactly(sql: str) -> None:
    model = model_of()
    before = state(model)
    mark = model.mark()
    apply(model, sql)
    assert state(model) != before or sql.startswith("CREATE TABLE t")
    model.undo(mark)
    assert state(model) == before


def test_dropping_a_wide_table_drops_each_thing_on_it_once() -> None:
    columns = ", ".join(f"c{i} int" for i in range(300))
    indexes = "; ".join(f"CREATE INDEX i{i} ON wide (c{i}, c{(i + 1) % 300})" for i in range(300))
    model = model_of(BASE + f"CREATE TABLE wide (id int PRIMARY KEY, {columns}); {indexes};")
    before, mark = state(model), model.mark()
    apply(model, "DROP TABLE wide")
    dropped = [ref.key for ref in model.effect_since(mark).dropped]
    assert len(dropped) == len(set(dropped)) == 1 + 301 + 1 + 300  # table, columns, pkey, indexes
    assert dropped[-1] == "table:public.wide"  # what hangs on it goes first
    assert keys(model) == BASE_OBJECTS
    assert ("table", "public", None, "wide") not in model.children
    model.undo(mark)
    assert state(model) == before


def test_undo_to_an_inner_mark() -> None:
    model = model_of()
    apply(model, "ALTER TABLE users ADD COLUMN a int")
    middle_state, middle = state(model), model.mark()
    apply(model, "DROP TABLE users CASCADE")
    model.undo(middle)
    assert state(model) == middle_state
    assert "column:public.users.a" in keys(model)


def test_commit_keeps_the_changes() -> None:
    model = model_of()
    mark = model.mark()
    apply(model, "DROP TABLE users CASCADE")
    model.commit()
    assert model.mark() == 0
    model.undo(mark)
    assert "table:public.users" not in keys(model)


# -- net effects -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "created", "dropped", "recreated"),
    [
        ("CREATE TABLE t (id int)", {"table:public.t", "column:public.t.id"}, set(), set()),
        ("CREATE TABLE t (id int); DROP TABLE t", set(), set(), set()),
        (
            "ALTER TABLE users DROP COLUMN name",
            set(),
            {
                "column:public.users.name",
                "index:public.users_email_name_idx",
                "index:public.users_name_idx",
            },
            set(),
        ),
        (
            "DROP INDEX users_email_idx; CREATE INDEX users_email_idx ON users (email)",
            set(),
            set(),
            {"index:public.users_email_idx"},
        ),
        (
            "ALTER TABLE users DROP CONSTRAINT users_email_key; "
            "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",
            set(),
            set(),
            {"constraint:public.users.users_email_key"},
        ),
        (
            "ALTER INDEX users_email_idx RENAME TO users_mail_idx",
            {"index:public.users_mail_idx"},
            {"index:public.users_email_idx"},
            set(),
        ),
        (
            "ALTER TABLE users RENAME COLUMN name TO full_name",
            {"column:public.users.full_name"},
            {"column:public.users.name"},
            set(),
        ),
        (
            "ALTER TABLE users ADD COLUMN a int; ALTER TABLE users DROP COLUMN a",
            set(),
            set(),
            set(),
        ),
        ("ALTER TABLE users ALTER COLUMN name TYPE text", set(), set(), set()),
    ],
)
def test_effect_since(sql: str, created: set[str], dropped: set[str], recreated: set[str]) -> None:
    model = model_of()
    mark = model.mark()
    apply(model, sql)
    effect = model.effect_since(mark)
    assert {ref.key for ref in effect.created} == created
    assert {ref.key for ref in effect.dropped} == dropped
    assert {ref.key for ref in effect.recreated} == recreated
    assert effect.created_ids() == {ref.identity for ref in effect.created}
    assert effect.dropped_ids() == {ref.identity for ref in effect.dropped}


def test_effect_of_a_table_rename_names_both_tables() -> None:
    model = model_of()
    mark = model.mark()
    apply(model, "ALTER TABLE users RENAME TO accounts")
    effect = model.effect_since(mark)
    created = {ref.key for ref in effect.created}
    dropped = {ref.key for ref in effect.dropped}
    assert {"table:public.accounts", "column:public.accounts.email"} <= created
    assert {"table:public.users", "column:public.users.email"} <= dropped
    assert not any(key.startswith("index:") for key in created | dropped)


def test_effect_keeps_the_keys_of_what_it_dropped() -> None:
    model = model_of()
    mark = model.mark()
    apply(model, "DROP INDEX users_email_name_idx")
    effect = model.effect_since(mark)
    (dropped,) = effect.dropped
    assert effect.keys_before[dropped.identity].columns == ("email", "name")
    assert effect.keys_before[dropped.identity].table.key == "table:public.users"


@pytest.mark.parametrize(
    ("sql", "covered", "not_covered"),
    [
        (
            "DROP TABLE users CASCADE",
            {
                "column:public.users.email",
                "constraint:public.users.users_pkey",
                "index:public.users_email_idx",
            },
            # a view is no part of its table: the catalog declares its drop in its own right
            {"table:public.users", "view:public.active_users"},
        ),
        (
            "ALTER TABLE users DROP COLUMN email",
            {
                "index:public.users_email_idx",
                "index:public.users_email_name_idx",
                "constraint:public.users.users_email_key",
            },
            {"column:public.users.email"},
        ),
        ("DROP INDEX users_email_idx", set(), {"index:public.users_email_idx"}),
    ],
)
def test_covered_goes_with_its_table_or_column(
    sql: str, covered: set[str], not_covered: set[str]
) -> None:
    model = model_of()
    mark = model.mark()
    apply(model, sql)
    effect = model.effect_since(mark)
    ids = effect.dropped_ids()
    by_key = {ref.key: ref for ref in effect.dropped}
    assert {key for key, ref in by_key.items() if effect.covered(ref, ids)} >= covered
    assert {key for key, ref in by_key.items() if not effect.covered(ref, ids)} == not_covered


def test_objects_in_a_dropped_schema_are_covered() -> None:
    model = model_of("CREATE SCHEMA s; CREATE TABLE s.t (id int); CREATE INDEX ti ON s.t (id);")
    mark = model.mark()
    apply(model, "DROP SCHEMA s CASCADE")
    effect = model.effect_since(mark)
    ids = effect.dropped_ids()
    assert {ref.key for ref in effect.dropped if not effect.covered(ref, ids)} == {"schema:s"}


def test_drop_table_cascade_drops_dependent_views() -> None:
    model = model_of()
    apply(model, "DROP TABLE users CASCADE")
    assert "view:public.active_users" not in keys(model)


@pytest.mark.parametrize(
    ("sql", "gone", "kept"),
    [
        ("DROP TABLE users", set(), {"view:public.active_users"}),
        (
            "CREATE VIEW v2 AS SELECT * FROM active_users;\nDROP VIEW active_users CASCADE",
            {"view:public.active_users", "view:public.v2"},
            set(),
        ),
        (
            "CREATE MATERIALIZED VIEW mv AS SELECT o.id FROM orgs o JOIN users u ON true;\n"
            "DROP TABLE orgs CASCADE",
            {"matview:public.mv"},
            {"view:public.active_users"},
        ),
        (
            "ALTER TABLE users RENAME TO accounts;\nDROP TABLE accounts CASCADE",
            {"view:public.active_users"},
            set(),
        ),
        (
            "ALTER VIEW active_users RENAME TO live_users;\nDROP TABLE users CASCADE",
            {"view:public.live_users"},
            set(),
        ),
        (
            "WITH x AS (SELECT 1) SELECT 1;\n"
            "CREATE VIEW v3 AS WITH orgs AS (SELECT 1 AS id) SELECT id FROM orgs;\n"
            "DROP TABLE orgs CASCADE",
            set(),
            {"view:public.v3"},
        ),
    ],
)
def test_views_follow_what_they_read(sql: str, gone: set[str], kept: set[str]) -> None:
    model = model_of()
    mark = model.mark()
    before = state(model)
    apply(model, sql)
    assert not gone & keys(model)
    assert kept <= keys(model)
    model.undo(mark)
    assert state(model) == before


@pytest.mark.parametrize(
    ("kind", "text", "key"),
    [
        (ObjectKind.TABLE, "Users", "table:public.Users"),
        (ObjectKind.TABLE, "users", "table:public.users"),
        (ObjectKind.TABLE, "App.Users", "table:App.Users"),
        (ObjectKind.TABLE, '"App".Users', "table:App.Users"),
        (ObjectKind.TABLE, '"a.B"', "table:public.a.B"),
        (ObjectKind.COLUMN, 'Users."Deleted""At"', 'column:public.Users.Deleted"At'),
        (ObjectKind.COLUMN, "User.is2FAEnabled", "column:public.User.is2FAEnabled"),
        (ObjectKind.TABLE, "Ünï", "table:public.Ünï"),
        (ObjectKind.TABLE, "A" * 70, f"table:public.{'A' * 63}"),
        (ObjectKind.SCHEMA, "Billing", "schema:Billing"),
    ],
)
def test_declared_names_read_as_postgresql_reads_identifiers(
    kind: ObjectKind, text: str, key: str
) -> None:
    ref = parse_declared(kind, text)
    assert ref.key == key
    # What migdocs prints reads back as the same object: hints can be copied into the catalog.
    assert parse_declared(kind, ref.qualified) == ref
    assert parse_declared(kind, ref.declared) == ref


def _effect(before: str, script: str) -> tuple[list[str], list[str]]:
    model = SchemaModel()
    for statement in parse_text(before).statements:
        model.apply(statement)
    mark = model.mark()
    for statement in parse_text(script).statements:
        model.apply(statement)
    effect = model.effect_since(mark)
    return [r.key for r in effect.created], [r.key for r in effect.dropped]


def test_an_index_a_constraint_takes_over_is_neither_created_nor_dropped() -> None:
    # The pattern squawk and pmantra/e1 use: build the index concurrently, then attach it.
    table = "CREATE TABLE t (id int, email text);"
    attach = "ALTER TABLE t ADD CONSTRAINT t_email_key UNIQUE USING INDEX t_email_idx;"
    index = "CREATE UNIQUE INDEX CONCURRENTLY t_email_idx ON t (email);"
    assert _effect(table, f"{index}\n{attach}") == (["constraint:public.t.t_email_key"], [])
    assert _effect(table + index, attach) == (["constraint:public.t.t_email_key"], [])
    # Without a name of its own, the constraint takes the index's.
    bare = "ALTER TABLE t ADD PRIMARY KEY USING INDEX t_email_idx;"
    assert _effect(table + index, bare) == (["constraint:public.t.t_email_idx"], [])
