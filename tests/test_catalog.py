"""Catalog v1: loading, every error as `catalog.yaml:LINE:COL: path: message`, models, paths."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from migdocs.catalog import (
    Impact,
    Risk,
    Severity,
    load_catalog,
    yamlload,
)
from migdocs.catalog.models import PUBLISHED_NAMES, Catalog, Objects, Rollback, json_schema
from migdocs.checks import run_static
from migdocs.errors import CatalogError, MigdocsError
from migdocs.objects import ObjectKind, ObjectRef
from migdocs.project import Project

H = "version: 1\nproject: {name: X}\n"
#: One valid entry, lines 3-7 of a catalog that starts with H.
M = "migrations:\n  - id: 2025-08-30_a\n    date: 2025-08-30\n    title: t\n    purpose: p\n"

FULL = """\
version: 1
project:
  name: PromptSculptor
  description: Prompt generation app
paths:
  migrations: migrations
  rollbacks: migrations/rollbacks
conventions:
  migration: "{date}_{name}.sql"
  rollback: "{date}_rollback_{name}.sql"
review:
  every_days: 30
ledger:
  kind: table
  table: public.schema_migrations
rules:
  MG205: {severity: info}
  MG107: {severity: off, reason: files are applied by a runner that reads the catalog}
replay:
  setup: [scratch-setup.sql]
  statement_timeout: 60s
live:
  schemas: [public]
  ignore: ["public.pg_stat_statements*"]
migrations:
  - id: 2025-08-30_initial_schema
    file: 2025-08-30_initial_schema.sql
    date: 2025-08-30
    title: on
    purpose: yes
    changes: ["Creates `users`", no]
    features: [off]
    creates:
      tables: [users, app.prompts]
      columns: [users.deleted_at]
      indexes: [email_active_idx]
      constraints: [users.users_email_unique]
      triggers: [app.prompts.prompts_touch]
    drops:
      constraints: [users.users_email_unique]
    rollback:
      file: 2025-08-30_rollback_initial_schema.sql
      risk: critical
      impact: [data-loss, may-fail]
      summary: Removes ALL application data permanently
    reviewed: {date: 2025-09-01, by: ops-team}
    notes: "Free Markdown"
  - id: 2025-08-31_oauth
    date: 2025-08-31
    title: OAuth
    purpose: Config only
    rollback: {none: "config-only change; see OAuth procedure"}
"""


def write(folder: Path, text: str, name: str = "catalog.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- a valid catalog ---------------------------------------------------------------------------


def test_full_catalog_loads_with_yaml_1_2_strings(tmp_path: Path) -> None:
    loaded = load_catalog(write(tmp_path, FULL), "catalog.yaml")
    catalog = loaded.catalog
    assert catalog.project.name == "PromptSculptor"
    assert catalog.review.every_days == 30
    assert catalog.ledger.kind == "table"
    assert catalog.ledger.table == "public.schema_migrations"
    # `off` unquoted is the string "off" in YAML 1.2, so the rule is off
    assert catalog.rules["MG107"].severity is Severity.OFF
    assert catalog.rules["MG205"].severity is Severity.INFO
    assert catalog.replay.setup == ["scratch-setup.sql"]
    assert catalog.live.ignore == ["public.pg_stat_statements*"]
    first, second = catalog.migrations
    assert (first.title, first.purpose) == ("on", "yes")
    assert first.changes == ["Creates `users`", "no"]
    assert first.features == ["off"]
    assert first.date == dt.date(2025, 8, 30)
    assert first.rollback is not None
    assert first.rollback.risk is Risk.CRITICAL
    assert first.rollback.impact == [Impact.DATA_LOSS, Impact.MAY_FAIL]
    assert first.reviewed is not None
    assert (first.reviewed.date, first.reviewed.by, first.reviewed.sha256) == (
        dt.date(2025, 9, 1),
        "ops-team",
        None,
    )
    assert second.file_name == "2025-08-31_oauth.sql"
    assert second.rollback is not None
    assert second.rollback.declared
    assert second.rollback.none == "config-only change; see OAuth procedure"
    assert loaded.display == "catalog.yaml"


def test_defaults(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, H + M)).catalog
    assert catalog.paths.migrations == "migrations"
    assert catalog.paths.rollbacks == "migrations/rollbacks"
    assert catalog.conventions.migration == "{date}_{name}.sql"
    assert catalog.conventions.rollback == "{date}_rollback_{name}.sql"
    assert catalog.review.every_days == 90
    assert catalog.ledger.kind == "none"
    assert catalog.rules == {}
    assert catalog.replay.statement_timeout == "60s"
    assert catalog.live.schemas is None
    (migration,) = catalog.migrations
    assert migration.file_name == "2025-08-30_a.sql"
    assert migration.rollback is None
    assert migration.reviewed is None
    assert not migration.creates
    assert not migration.drops


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (H + M).encode())
    assert load_catalog(path).catalog.migrations[0].id == "2025-08-30_a"


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("migrations", 0), 26),
        (("migrations", 0, "rollback", "risk"), 43),
        (("migrations", 0, "creates", "tables", 1), 34),
        (("migrations", 1, "rollback"), 52),
        (("rules", "MG107"), 18),
        (("migrations", 0, "no-such-key"), 26),
    ],
)
def test_line_of(tmp_path: Path, path: tuple[str | int, ...], line: int) -> None:
    assert load_catalog(write(tmp_path, FULL)).line_of(*path) == line


def test_error_names_file_line_column_and_path(tmp_path: Path) -> None:
    loaded = load_catalog(write(tmp_path, FULL), "sub/catalog.yaml")
    assert (
        loaded.error(("migrations", 0, "rollback", "risk"), "too low")
        == "sub/catalog.yaml:43:7: migrations[0].rollback.risk: too low"
    )


# -- every error as catalog.yaml:LINE:COL: path: message ----------------------------------------

ERRORS = [
    pytest.param(
        H + "migratons: []\n",
        ["catalog.yaml:3:1: unknown key 'migratons' (did you mean 'migrations'?)"],
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        H + "zzzzzz: 1\n",
        [
            "catalog.yaml:3:1: unknown key 'zzzzzz'; allowed: version, project, paths, "
            "conventions, review, ledger, runner, rules, replay, live, migrations"
        ],
        id="unknown-key-allowed",
    ),
    pytest.param(
        "version: 1\nproject: {name: X, descripton: d}\n",
        ["catalog.yaml:2:20: project: unknown key 'descripton' (did you mean 'description'?)"],
        id="unknown-key-project",
    ),
    pytest.param(
        H + M + "    purpse: q\n",
        ["catalog.yaml:8:5: migrations[0]: unknown key 'purpse' (did you mean 'purpose'?)"],
        id="unknown-key-entry",
    ),
    pytest.param(
        H + M + "    rollback: {file: r.sql, risk: low, summary: s, oops: 1}\n",
        [
            "catalog.yaml:8:52: migrations[0].rollback: unknown key 'oops'; "
            "allowed: file, risk, impact, summary, none"
        ],
        id="unknown-key-rollback",
    ),
    pytest.param(
        H + M + "    creates: {index: [x]}\n",
        ["catalog.yaml:8:15: migrations[0].creates: unknown key 'index' (did you mean 'indexes'?)"],
        id="unknown-key-creates",
    ),
    pytest.param(
        "version: 2\nproject: {name: X}\n",
        ["catalog.yaml:1:1: version: 2 is not one of 1"],
        id="version-2",
    ),
    pytest.param(
        "version: '1'\nproject: {name: X}\n",
        ["catalog.yaml:1:1: version: '1' is not one of 1"],
        id="version-as-text",
    ),
    pytest.param(
        "project: {name: X}\n", ["catalog.yaml:1:1: `version` is required"], id="no-version"
    ),
    pytest.param("version: 1\n", ["catalog.yaml:1:1: `project` is required"], id="no-project"),
    pytest.param(
        "version: 1\nproject: {description: d}\n",
        ["catalog.yaml:2:1: project: `name` is required"],
        id="no-project-name",
    ),
    pytest.param(
        H + "migrations:\n  - id: 2025-08-30_a\n    title: t\n",
        [
            "catalog.yaml:4:5: migrations[0]: `date` is required",
            "catalog.yaml:4:5: migrations[0]: `purpose` is required",
        ],
        id="missing-required",
    ),
    pytest.param(
        "version: 1\nproject: {name: [X]}\n",
        ["catalog.yaml:2:11: project.name: expected a string, got a list"],
        id="type-list-for-string",
    ),
    pytest.param(
        "version: 1\nproject: {name: }\n",
        ["catalog.yaml:2:11: project.name: expected a string, got nothing"],
        id="type-null-for-string",
    ),
    pytest.param(
        "version: 1\nproject: {name: ''}\n",
        ["catalog.yaml:2:11: project.name: must not be empty"],
        id="empty-string",
    ),
    pytest.param(
        "version: 1\nproject: X\n",
        ["catalog.yaml:2:1: project: expected a mapping, got str 'X'"],
        id="type-string-for-mapping",
    ),
    pytest.param(
        H + "migrations: {a: 1}\n",
        ["catalog.yaml:3:1: migrations: expected a list, got a mapping"],
        id="type-mapping-for-list",
    ),
    pytest.param(
        H + "migrations: [a]\n",
        ["catalog.yaml:3:14: migrations[0]: expected a mapping, got str 'a'"],
        id="type-string-for-entry",
    ),
    pytest.param(
        H + "migrations:\n  - id: a\n    date: 2025-08-30\n    title: true\n    purpose: p\n",
        ["catalog.yaml:6:5: migrations[0].title: expected a string, got bool True"],
        id="type-bool-for-string",
    ),
    pytest.param(
        H + "migrations:\n  - id: 0001\n    date: 2025-08-30\n    title: 1.5\n    purpose: p\n",
        [
            "catalog.yaml:4:5: migrations[0].id: expected a string, got int 1",
            "catalog.yaml:6:5: migrations[0].title: expected a string, got float 1.5",
        ],
        id="type-numbers-for-strings",
    ),
    pytest.param(
        H + M + "    changes: [no, true]\n",
        ["catalog.yaml:8:19: migrations[0].changes[1]: expected a string, got bool True"],
        id="type-bool-in-list",
    ),
    pytest.param(
        H + M + "    rollback: {file: r.sql, risk: low, summary: s, impact: data-loss}\n",
        ["catalog.yaml:8:52: migrations[0].rollback.impact: expected a list, got str 'data-loss'"],
        id="type-string-for-impact-list",
    ),
    pytest.param(
        H + M + "    rollback: {file: r.sql, risk: catastrophic, summary: s}\n",
        [
            "catalog.yaml:8:29: migrations[0].rollback.risk: 'catastrophic' is not one of "
            "low, medium, high, critical"
        ],
        id="enum-risk",
    ),
    pytest.param(
        H
        + M
        + "    rollback: {file: r.sql, risk: low, summary: s, impact: [data-loss, lost-data]}\n",
        [
            "catalog.yaml:8:72: migrations[0].rollback.impact[1]: 'lost-data' is not one of "
            "data-loss, may-fail, performance, downtime"
        ],
        id="enum-impact",
    ),
    pytest.param(
        H + "ledger: {kind: liquibase}\n",
        ["catalog.yaml:3:10: ledger.kind: 'liquibase' is not one of none, drizzle, flyway, table"],
        id="enum-ledger",
    ),
    pytest.param(
        H + "rules:\n  MG205: {severity: fatal}\n",
        [
            "catalog.yaml:4:11: rules.MG205.severity: 'fatal' is not one of "
            "error, warning, info, off"
        ],
        id="enum-severity",
    ),
    pytest.param(
        H
        + "migrations:\n  - id: 2025-08-30_a\n    date: 2025-02-30\n    title: t\n    purpose: p\n",
        ["catalog.yaml:5:5: migrations[0].date: '2025-02-30' is not a date (YYYY-MM-DD)"],
        id="date-impossible",
    ),
    pytest.param(
        H
        + "migrations:\n  - id: 2025-08-30_a\n    date: 30/08/2025\n    title: t\n    purpose: p\n",
        ["catalog.yaml:5:5: migrations[0].date: '30/08/2025' is not a date (YYYY-MM-DD)"],
        id="date-european",
    ),
    pytest.param(
        H + "migrations:\n  - id: 2025-08-30_a\n    date: 20250830\n    title: t\n    purpose: p\n",
        ["catalog.yaml:5:5: migrations[0].date: 20250830 is not a date (YYYY-MM-DD)"],
        id="date-number",
    ),
    pytest.param(
        H
        + "migrations:\n  - id: 2025-08-30_a\n    date: 2025-08-30T10:00:00\n"
        + "    title: t\n    purpose: p\n",
        ["catalog.yaml:5:5: migrations[0].date: '2025-08-30T10:00:00' is not a date (YYYY-MM-DD)"],
        id="date-with-time",
    ),
    pytest.param(
        H + M + "    reviewed: {date: yesterday, by: me}\n",
        ["catalog.yaml:8:16: migrations[0].reviewed.date: 'yesterday' is not a date (YYYY-MM-DD)"],
        id="date-review",
    ),
    pytest.param(
        H + 'rules:\n  MG107: {severity: "off"}\n',
        ["catalog.yaml:4:3: rules.MG107: turning a rule off needs a `reason`"],
        id="rule-off-without-reason",
    ),
    pytest.param(
        H + "rules:\n  MG107: {severity: off}\n",
        ["catalog.yaml:4:3: rules.MG107: turning a rule off needs a `reason`"],
        id="rule-off-unquoted-without-reason",
    ),
    pytest.param(
        H + "rules:\n  heavy-lock: {severity: info}\n",
        ["catalog.yaml:4:3: rules.heavy-lock: 'heavy-lock' is not a rule code (MGnnn)"],
        id="rule-not-a-code",
    ),
    pytest.param(
        H + M + "    rollback: {file: r.sql, none: n}\n",
        ["catalog.yaml:8:5: migrations[0].rollback: give either `file` or `none`, not both"],
        id="rollback-file-and-none",
    ),
    pytest.param(
        H + M + "    rollback: {file: r.sql}\n",
        ["catalog.yaml:8:5: migrations[0].rollback: a rollback `file` needs risk and summary"],
        id="rollback-file-without-risk",
    ),
    pytest.param(
        H + "ledger: {kind: table}\n",
        ["catalog.yaml:3:1: ledger: a ledger of kind 'table' needs `table`"],
        id="ledger-table-without-table",
    ),
    pytest.param(
        H
        + "migrations:\n  - id: 'has/slash '\n    date: 2025-08-30\n    title: t\n    purpose: p\n",
        [
            "catalog.yaml:4:5: migrations[0].id: 'has/slash ' is not a valid id "
            "(no slash, no line break, no space at either end)"
        ],
        id="id-with-space",
    ),
    pytest.param(
        H + M + "    creates: {tables: [a.b.c], columns: [users], schemas: [a.b]}\n",
        [
            "catalog.yaml:8:15: migrations[0].creates.tables: 'a.b.c': a table is named "
            "[schema.]name",
            "catalog.yaml:8:32: migrations[0].creates.columns: 'users': a column is named "
            "[schema.]table.name",
            "catalog.yaml:8:50: migrations[0].creates.schemas: 'a.b': a schema name has no dots",
        ],
        id="object-names",
    ),
    pytest.param(
        H + "replay: {setup: ['']}\n",
        ["catalog.yaml:3:18: replay.setup[0]: must not be empty"],
        id="empty-in-list",
    ),
    pytest.param(
        H + 'conventions:\n  migration: "{date}_{nam}.sql"\n  rollback: "{Date}_undo_{name}.sql"\n',
        [
            "catalog.yaml:4:3: conventions.migration: unknown placeholder {nam} in "
            "'{date}_{nam}.sql' (known: {date}, {name}, {version})",
            "catalog.yaml:5:3: conventions.rollback: unknown placeholder {Date} in "
            "'{Date}_undo_{name}.sql' (known: {date}, {name}, {version})",
        ],
        id="convention-placeholder",
    ),
    pytest.param(
        "version: 1\nproject: {name: X}\nproject: {name: Y}\n",
        ["catalog.yaml:3:1: the document: duplicate key 'project' (first at line 2)"],
        id="duplicate-key-root",
    ),
    pytest.param(
        H + M + "    date: 2025-08-31\n",
        ["catalog.yaml:8:5: migrations[0]: duplicate key 'date' (first at line 5)"],
        id="duplicate-key-entry",
    ),
    pytest.param(
        "version: 1\nproject: {name: X\n",
        ["catalog.yaml:3:1: invalid YAML: did not find expected ',' or '}'"],
        id="malformed-flow",
    ),
    pytest.param(
        "version: 1\nproject:\n\tname: X\n",
        ["catalog.yaml:3:1: invalid YAML: found character that cannot start any token"],
        id="malformed-tab",
    ),
    pytest.param(
        "version: 1\ntitle: !!python/object:os.system x\n",
        ["catalog.yaml:2:8: unsupported tag 'tag:yaml.org,2002:python/object:os.system'"],
        id="python-tag",
    ),
    pytest.param(
        "- version: 1\n", ["catalog.yaml:1:1: the catalog must be a mapping of keys"], id="list"
    ),
    pytest.param(
        "just text\n", ["catalog.yaml:1:1: the catalog must be a mapping of keys"], id="scalar"
    ),
    pytest.param(
        "", ["catalog.yaml: the catalog is empty (it needs at least `version: 1`)"], id="empty"
    ),
    pytest.param(
        "# nothing yet\n",
        ["catalog.yaml: the catalog is empty (it needs at least `version: 1`)"],
        id="comments-only",
    ),
]


@pytest.mark.skipif(yamlload._Parser is None, reason="messages of syntax errors are libyaml's")
@pytest.mark.parametrize(("text", "problems"), ERRORS)
def test_catalog_errors(tmp_path: Path, text: str, problems: list[str]) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, text), "catalog.yaml")
    assert caught.value.problems == problems
    assert str(caught.value) == "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "prefix", "words"),
    [
        (
            H + "review: {every_days: 0}\n",
            "catalog.yaml:3:10: review.every_days: ",
            "must be more than 0, got int 0",
        ),
        # as the other catalog messages read, not pydantic's words
        (
            H + "review: {every_days: ninety}\n",
            "catalog.yaml:3:10: review.every_days: ",
            "expected a whole number, got str 'ninety'",
        ),
        (
            H + "review: {every_days: 1.5}\n",
            "catalog.yaml:3:10: review.every_days: ",
            "expected a whole number, got float 1.5",
        ),
        (
            H + "review: {every_days: true}\n",
            "catalog.yaml:3:10: review.every_days: ",
            "expected a whole number, got bool True",
        ),
        (
            H + "replay: {statement_timeout: forever}\n",
            "catalog.yaml:3:10: replay.statement_timeout: ",
            "pattern",
        ),
        (
            H + M + "    reviewed: {date: 2025-09-01, by: me, sha256: abc}\n",
            "catalog.yaml:8:42: migrations[0].reviewed.sha256: ",
            "[0-9a-f]{64}",
        ),
    ],
)
def test_constraint_errors_keep_the_form(
    tmp_path: Path, text: str, prefix: str, words: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, text), "catalog.yaml")
    (problem,) = caught.value.problems
    assert problem.startswith(prefix)
    assert words in problem.removeprefix(prefix)


def test_several_problems_come_sorted_by_position(tmp_path: Path) -> None:
    text = (
        H
        + "migrations:\n"
        + "  - {id: a, date: 2025-08-30, title: t, purpose: p, oops: 1}\n"
        + "  - {id: b, date: nope, title: t, purpose: p}\n"
        + "  - {id: c, date: 2025-08-30, title: t}\n"
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, text), "catalog.yaml")
    lines = [int(problem.split(":")[1]) for problem in caught.value.problems]
    assert lines == [4, 5, 6]


def test_the_name_in_messages_is_the_one_given(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(write(tmp_path, "version: 3\nproject: {name: X}\n"), "conf/catalog.yaml")
    assert caught.value.problems == ["conf/catalog.yaml:1:1: version: 3 is not one of 1"]


def test_missing_catalog(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path / "catalog.yaml", "catalog.yaml")
    assert caught.value.problems == [
        "catalog.yaml: no such catalog (create one with `migdocs init`)"
    ]


def test_catalog_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "catalog.yaml").mkdir()
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path / "catalog.yaml", "catalog.yaml")
    assert caught.value.problems == ["catalog.yaml: is a folder, not a catalog file"]


def test_catalog_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_bytes(b"version: 1\nproject: {name: Caf\xe9}\n")
    with pytest.raises(CatalogError) as caught:
        load_catalog(path, "catalog.yaml")
    assert caught.value.problems == ["catalog.yaml:2: not UTF-8 text (byte 0xe9)"]


def test_unknown_rule_code_is_refused_by_the_engine(tmp_path: Path) -> None:
    write(tmp_path, H + "rules:\n  MG205: {severity: info}\n  MG999: {severity: info}\n")
    project = Project.load(tmp_path / "catalog.yaml", "catalog.yaml")
    with pytest.raises(CatalogError) as caught:
        run_static(project)
    assert caught.value.problems == [
        "catalog.yaml:5:3: rules.MG999: there is no rule MG999 (see `migdocs rules`)"
    ]


def test_since_an_unknown_id(tmp_path: Path) -> None:
    write(tmp_path, H + M)
    project = Project.load(tmp_path / "catalog.yaml", "catalog.yaml")
    with pytest.raises(MigdocsError, match=r"catalog.yaml: no migration with id 'nope'"):
        project.index_of("nope")


# -- models --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "name", "ref"),
    [
        ("tables", "users", ObjectRef(ObjectKind.TABLE, "public", "users")),
        ("tables", "app.orders", ObjectRef(ObjectKind.TABLE, "app", "orders")),
        ("columns", "users.email", ObjectRef(ObjectKind.COLUMN, "public", "email", "users")),
        ("columns", "app.o.total", ObjectRef(ObjectKind.COLUMN, "app", "total", "o")),
        (
            "constraints",
            "users.users_pkey",
            ObjectRef(ObjectKind.CONSTRAINT, "public", "users_pkey", "users"),
        ),
        ("triggers", "users.touch", ObjectRef(ObjectKind.TRIGGER, "public", "touch", "users")),
        ("indexes", "email_idx", ObjectRef(ObjectKind.INDEX, "public", "email_idx")),
        ("views", "app.v", ObjectRef(ObjectKind.VIEW, "app", "v")),
        ("materialized_views", "app.m", ObjectRef(ObjectKind.MATVIEW, "app", "m")),
        ("functions", "touch", ObjectRef(ObjectKind.FUNCTION, "public", "touch")),
        ("schemas", "app", ObjectRef(ObjectKind.SCHEMA, None, "app")),
        ("extensions", "pgcrypto", ObjectRef(ObjectKind.EXTENSION, None, "pgcrypto")),
        ("types", "mood", ObjectRef(ObjectKind.TYPE, "public", "mood")),
        ("sequences", "invoice_no", ObjectRef(ObjectKind.SEQUENCE, "public", "invoice_no")),
        ("tables", '"My.Table"', ObjectRef(ObjectKind.TABLE, "public", "My.Table")),
        ("tables", '"app"."Orders"', ObjectRef(ObjectKind.TABLE, "app", "Orders")),
    ],
)
def test_declared_names(key: str, name: str, ref: ObjectRef) -> None:
    (declared,) = Objects.model_validate({key: [name]}).refs()
    assert declared == ref
    assert declared.identity == ref.identity


def test_refs_keep_declaration_order_by_key() -> None:
    objects = Objects.model_validate(
        {"indexes": ["b_idx", "a_idx"], "tables": ["t"], "columns": ["t.c"]}
    )
    assert [ref.key for ref in objects.refs()] == [
        "table:public.t",
        "column:public.t.c",
        "index:public.b_idx",
        "index:public.a_idx",
    ]
    assert objects
    assert not Objects()


@pytest.mark.parametrize(
    ("rollback", "declared"),
    [
        ({"file": "r.sql", "risk": "low", "summary": "s"}, True),
        ({"none": "irreversible"}, True),
        ({"risk": "low"}, False),
        ({}, False),
    ],
)
def test_rollback_declared(rollback: dict[str, str], declared: bool) -> None:
    assert Rollback.model_validate(rollback).declared is declared


def test_ranks() -> None:
    assert [risk.rank for risk in Risk] == [0, 1, 2, 3]
    assert [Severity(s).rank for s in ("off", "info", "warning", "error")] == [0, 1, 2, 3]


def test_models_are_frozen(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, H + M)).catalog
    with pytest.raises(ValueError, match="frozen"):
        catalog.migrations[0].title = "changed"  # type: ignore[misc]


# -- JSON Schema ---------------------------------------------------------------------------------


def test_json_schema_has_every_key_and_forbids_others() -> None:
    schema = Catalog.model_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "version",
        "project",
        "paths",
        "conventions",
        "review",
        "ledger",
        "runner",
        "rules",
        "replay",
        "live",
        "migrations",
    }
    assert set(schema["required"]) == {"version", "project"}
    definitions = schema["$defs"]
    migration = definitions["Migration"]
    assert set(migration["required"]) == {"id", "date", "title", "purpose"}
    assert migration["additionalProperties"] is False
    assert set(migration["properties"]) >= {"creates", "drops", "rollback", "reviewed", "notes"}
    assert definitions["Risk"]["enum"] == ["low", "medium", "high", "critical"]
    assert definitions["Impact"]["enum"] == ["data-loss", "may-fail", "performance", "downtime"]
    assert set(definitions["Objects"]["properties"]) == {
        "schemas",
        "extensions",
        "tables",
        "columns",
        "indexes",
        "constraints",
        "views",
        "materialized_views",
        "sequences",
        "types",
        "functions",
        "triggers",
    }
    for name, definition in definitions.items():
        if definition.get("type") == "object" and "properties" in definition:
            assert definition.get("additionalProperties") is False, name


def test_json_schema_describes_keys_with_their_attribute_docstrings() -> None:
    schema = json_schema()
    definitions = schema["$defs"]
    assert schema["properties"]["version"]["description"] == "The catalog format's version."
    assert definitions["Migration"]["properties"]["id"]["description"] == (
        "Unique id: the runner's name for it (a file stem, a Prisma folder)."
    )
    assert definitions["Rollback"]["properties"]["none"]["description"] == (
        "Instead of a script: why this migration has no rollback."
    )
    assert definitions["Reviewed"]["properties"]["sha256"]["description"].startswith("SHA-256")
    undescribed = [
        f"{name}.{key}"
        for name, definition in [("Catalog", schema), *definitions.items()]
        for key, value in definition.get("properties", {}).items()
        if "description" not in value
    ]
    # Objects' keys have no docstrings (the class says what they all are); `paths` and the
    # other sections are described by their own model's docstring.
    assert all(name.startswith(("Objects.", "Catalog.")) for name in undescribed), undescribed
    published = {PUBLISHED_NAMES.get(name, name) for name in Catalog.model_json_schema()["$defs"]}
    assert published == definitions.keys()
    assert definitions["Project"]["title"] == "Project"  # catalog v1's name (ProjectInfo here)


def test_json_schema_refuses_rule_keys_that_are_not_codes() -> None:
    rules = Catalog.model_json_schema()["properties"]["rules"]
    assert rules.get("additionalProperties") is False or "propertyNames" in rules


def test_json_schema_validates_the_design_example(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = Catalog.model_json_schema()
    data = load_catalog(write(tmp_path, FULL)).document.data
    jsonschema.validate(data, schema)
    data["migrations"][0]["rollback"]["risk"] = "catastrophic"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


# -- paths that leave the project: a catalog error, and the file is never opened ----------------


@pytest.fixture
def opened() -> Iterator[list[str]]:
    """Every path Python opens while the test runs (an audit hook: nothing is mocked)."""
    seen: list[str] = []
    active = [True]

    def hook(event: str, args: tuple[object, ...]) -> None:
        if active[0] and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            seen.append(os.fsdecode(args[0]))

    sys.addaudithook(hook)
    yield seen
    active[0] = False  # audit hooks cannot be removed; this one goes quiet


ENTRY = "  - id: 2025-08-30_a\n    date: 2025-08-30\n    title: t\n    purpose: p\n"


@pytest.mark.parametrize(
    ("catalog", "problem"),
    [
        pytest.param(
            H + "migrations:\n" + ENTRY + "    file: ../../outside/secret.sql\n"
            "    rollback: {none: n}\n",
            "catalog.yaml:8:5: migrations[0].file: '../../outside/secret.sql' leads outside "
            "the project folder ({root})",
            id="dotdot",
        ),
        pytest.param(
            H + "migrations:\n" + ENTRY + "    file: {outside}/secret.sql\n"
            "    rollback: {none: n}\n",
            "catalog.yaml:8:5: migrations[0].file: '{outside}/secret.sql' is absolute; give a "
            "path inside the project",
            id="absolute",
        ),
        pytest.param(
            H + "migrations:\n" + ENTRY + "    file: linked.sql\n    rollback: {none: n}\n",
            "catalog.yaml:8:5: migrations[0].file: 'linked.sql' leads outside the project "
            "folder ({root})",
            id="symlink-file",
        ),
        pytest.param(
            H + "migrations:\n" + ENTRY + "    file: linkdir/secret.sql\n    rollback: {none: n}\n",
            "catalog.yaml:8:5: migrations[0].file: 'linkdir/secret.sql' leads outside the "
            "project folder ({root})",
            id="symlink-folder",
        ),
        pytest.param(
            H + "migrations:\n" + ENTRY + "    rollback: {file: ../../../outside/secret.sql, "
            "risk: low, summary: s}\n",
            "catalog.yaml:8:16: migrations[0].rollback.file: '../../../outside/secret.sql' "
            "leads outside the project folder ({root})",
            id="rollback-dotdot",
        ),
        pytest.param(
            H + "paths: {migrations: ../outside}\n",
            "catalog.yaml:3:9: paths.migrations: '../outside' leads outside the project folder "
            "({root})",
            id="migrations-folder",
        ),
        pytest.param(
            H + "replay: {setup: [../outside/secret.sql]}\n",
            "catalog.yaml:3:18: replay.setup[0]: '../outside/secret.sql' leads outside the "
            "project folder ({root})",
            id="setup-file",
        ),
    ],
)
def test_paths_outside_the_project_are_refused_unread(
    tmp_path: Path, opened: list[str], catalog: str, problem: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.sql"
    secret.write_text("DROP TABLE everything;\n")
    root = tmp_path / "project"
    (root / "migrations" / "rollbacks").mkdir(parents=True)
    (root / "migrations" / "linked.sql").symlink_to(secret)
    (root / "migrations" / "linkdir").symlink_to(outside)
    write(root, catalog.replace("{outside}", str(outside)))
    opened.clear()  # what the test itself wrote
    with pytest.raises(CatalogError) as caught:
        run_static(Project.load(root / "catalog.yaml", "catalog.yaml"))
    expected = problem.replace("{root}", str(root.resolve())).replace("{outside}", str(outside))
    assert caught.value.problems == [expected]
    assert not [path for path in opened if Path(path).resolve() == secret.resolve()]


def test_symlinks_inside_the_project_are_fine(tmp_path: Path) -> None:
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "2025-08-30_a.sql").write_text("CREATE TABLE a (id int);\n")
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "2025-08-30_a.sql").symlink_to(tmp_path / "sql" / "2025-08-30_a.sql")
    write(tmp_path, H + M + "    creates: {tables: [a]}\n    rollback: {none: n}\n")
    project = Project.load(tmp_path / "catalog.yaml", "catalog.yaml")
    _, findings = run_static(project)
    assert [f.code for f in findings if f.severity is not Severity.INFO] == []
