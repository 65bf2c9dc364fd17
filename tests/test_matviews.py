"""Materialized views as their own declarable kind, and every kind a snapshot holds.

The history below is an excerpt of rust-lang/crates.io's diesel ``migrations`` (the folders
runner: ``<id>/up.sql`` and ``<id>/down.sql``), where ``recent_crate_downloads`` is a
materialized view with a unique index for ``REFRESH … CONCURRENTLY``:

- ``20140929103756_dumped_migration_28`` and ``20140929103759_dumped_migration_31``: the
  tables it reads, as crates.io dumped them (``versions`` cut down to two columns, from
  ``20140924114059_dumped_migration_3``);
- ``2018-04-24-145128_create_recent_crate_downloads``: as is;
- ``2019-03-22-162022_define_recent_crate_downloads_in_terms_of_version_downloads``: as is
  (``DROP MATERIALIZED VIEW`` then ``CREATE`` again: changed, not dropped);
- ``2019-09-19-185655_add_experimental_indexes``: as is, plus the ``REFRESH`` that crates.io
  runs from a job;
- ``2024-01-01-000000_drop_recent_crate_downloads``: not in crates.io (it still has the
  view); its up is crates.io's 2018 ``down.sql`` without the ``DROP INDEX`` of the
  experimental index, which goes with the view.

Before materialized views had their own key, ``init`` wrote them under ``views``, which
``check`` read as plain views: MG201 and MG202 for each one, while replay's MG405 took a
view and a materialized view for the same thing.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from migdocs.catalog.models import Objects
from migdocs.objects import CATALOG_KEY_OF, CATALOG_KEYS, IMPLICIT_KINDS, ObjectKind
from migdocs.pg.queries import LAYOUTS
from migdocs.pg.reader import read_snapshot
from migdocs.pg.server import ScratchServer
from runner_kit import findings_of, migdocs, verify

SOURCE = "-- rust-lang/crates.io, migrations/{path}\n"
VIEW_QUERY_2018 = """\
CREATE MATERIALIZED VIEW recent_crate_downloads (crate_id, downloads) AS
  SELECT crate_id, SUM(downloads) FROM crate_downloads
    WHERE date > date(CURRENT_TIMESTAMP - INTERVAL '90 days')
    GROUP BY crate_id;
CREATE UNIQUE INDEX recent_crate_downloads_crate_id ON recent_crate_downloads (crate_id);
"""
VIEW_QUERY_2019 = """\
CREATE MATERIALIZED VIEW recent_crate_downloads (crate_id, downloads) AS
  SELECT crate_id, SUM(version_downloads.downloads) FROM version_downloads
    INNER JOIN versions
      ON version_downloads.version_id = versions.id
    WHERE version_downloads.date > date(CURRENT_TIMESTAMP - INTERVAL '90 days')
    GROUP BY crate_id;
CREATE UNIQUE INDEX recent_crate_downloads_crate_id ON recent_crate_downloads (crate_id);
"""
REFRESH_FUNCTION = """\
CREATE FUNCTION refresh_recent_crate_downloads() RETURNS VOID AS $$
  REFRESH MATERIALIZED VIEW CONCURRENTLY recent_crate_downloads;
$$ LANGUAGE SQL;
"""
EXPERIMENTAL_INDEX = """\
CREATE INDEX IF NOT EXISTS index_recent_crate_downloads_by_downloads
  ON recent_crate_downloads USING btree (downloads);
"""
CREATE_ID = "2018-04-24-145128_create_recent_crate_downloads"
REDEFINE_ID = "2019-03-22-162022_define_recent_crate_downloads_in_terms_of_version_downloads"
DROP_ID = "2024-01-01-000000_drop_recent_crate_downloads"
HISTORY: dict[str, tuple[str, str]] = {
    "20140929103756_dumped_migration_28": (
        """\
CREATE TABLE crate_downloads (
            id              SERIAL PRIMARY KEY,
            crate_id        INTEGER NOT NULL,
            downloads       INTEGER NOT NULL,
            date            TIMESTAMP NOT NULL
        );""",
        "DROP TABLE crate_downloads;",
    ),
    "20140929103759_dumped_migration_31": (
        """\
CREATE TABLE versions (
            id              SERIAL PRIMARY KEY,
            crate_id        INTEGER NOT NULL
        );
CREATE TABLE version_downloads (
            id              SERIAL PRIMARY KEY,
            version_id      INTEGER NOT NULL,
            downloads       INTEGER NOT NULL,
            counted         INTEGER NOT NULL,
            date            TIMESTAMP NOT NULL,
            processed       BOOLEAN NOT NULL
        );""",
        "DROP TABLE version_downloads;\nDROP TABLE versions;",
    ),
    CREATE_ID: (
        f"{VIEW_QUERY_2018}\n{REFRESH_FUNCTION}",
        """\
DROP FUNCTION refresh_recent_crate_downloads();
DROP INDEX recent_crate_downloads_crate_id;
DROP MATERIALIZED VIEW recent_crate_downloads;
""",
    ),
    REDEFINE_ID: (
        f"DROP MATERIALIZED VIEW recent_crate_downloads;\n{VIEW_QUERY_2019}",
        f"DROP MATERIALIZED VIEW recent_crate_downloads;\n{VIEW_QUERY_2018}",
    ),
    "2019-09-19-185655_add_experimental_indexes": (
        f"""\
-- These indexes were created on production by hand and never existed in migrations; give them
-- better names now that we know we want to keep them
ALTER INDEX IF EXISTS sgrif_testing RENAME TO index_recent_crate_downloads_by_downloads;
ALTER INDEX IF EXISTS sgrif_testing2 RENAME TO index_version_downloads_by_date;

-- Create the above indexes for databases other than production
{EXPERIMENTAL_INDEX}\
CREATE INDEX IF NOT EXISTS index_version_downloads_by_date ON version_downloads USING brin (date);

REFRESH MATERIALIZED VIEW CONCURRENTLY recent_crate_downloads;
""",
        """\
DROP INDEX IF EXISTS index_version_downloads_by_date;
DROP INDEX IF EXISTS index_recent_crate_downloads_by_downloads;
""",
    ),
    DROP_ID: (
        """\
DROP FUNCTION refresh_recent_crate_downloads();
DROP INDEX recent_crate_downloads_crate_id;
DROP MATERIALIZED VIEW recent_crate_downloads;
""",
        f"{VIEW_QUERY_2019}{EXPERIMENTAL_INDEX}{REFRESH_FUNCTION}",
    ),
}


def write_history(root: Path) -> Path:
    """The history under ``root/migrations``, each file naming where it comes from."""
    for name, (up, down) in HISTORY.items():
        folder = root / "migrations" / name
        folder.mkdir(parents=True)
        origin = SOURCE.format(path=name) if not name.startswith("2024") else "-- not crates.io\n"
        (folder / "up.sql").write_text(origin + up)
        (folder / "down.sql").write_text(origin + down)
    return root


def adopted(tmp_path: Path) -> Path:
    """The history with the catalog ``init`` writes for it."""
    root = write_history(tmp_path / "crates.io")
    result = migdocs("init", "--runner", "folders", "--migrations-dir", "migrations", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def codes(findings: list[dict[str, object]], *wanted: str) -> list[tuple[object, object]]:
    return [(f["code"], f["message"]) for f in findings if f["code"] in wanted]


def test_every_kind_a_snapshot_holds_has_a_catalog_key_or_is_implicit() -> None:
    assert {layout.kind for layout in LAYOUTS} == set(ObjectKind)
    assert CATALOG_KEY_OF == {
        ObjectKind.SCHEMA: "schemas",
        ObjectKind.EXTENSION: "extensions",
        ObjectKind.TABLE: "tables",
        ObjectKind.COLUMN: "columns",
        ObjectKind.INDEX: "indexes",
        ObjectKind.CONSTRAINT: "constraints",
        ObjectKind.VIEW: "views",
        ObjectKind.MATVIEW: "materialized_views",
        ObjectKind.SEQUENCE: "sequences",
        ObjectKind.TYPE: "types",
        ObjectKind.FUNCTION: "functions",
        ObjectKind.TRIGGER: "triggers",
        ObjectKind.POLICY: None,
    }
    assert frozenset({ObjectKind.POLICY}) == IMPLICIT_KINDS
    # One key per kind: a declaration parses back to the kind it was written for.
    assert all(len(kinds) == 1 for kinds in CATALOG_KEYS.values())
    assert set(Objects.model_fields) == set(CATALOG_KEYS)


def test_a_real_snapshot_holds_only_declarable_or_implicit_kinds(pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        # One the server has that can live in a schema of ours (pg_catalog is not read).
        extension = conn.execute(
            "SELECT name FROM pg_available_extension_versions"
            " WHERE relocatable AND requires IS NULL AND name <> 'plpgsql' ORDER BY name"
        ).fetchone()
        assert extension is not None
        conn.execute(b"CREATE SCHEMA app")
        conn.execute(f'CREATE EXTENSION "{extension[0]}" SCHEMA app'.encode())
        conn.execute(
            b"""
            CREATE TYPE app.mood AS ENUM ('ok');
            CREATE SEQUENCE app.invoice_no;
            CREATE TABLE app.t (id int CONSTRAINT t_pk PRIMARY KEY, v text);
            CREATE INDEX t_v_idx ON app.t (v);
            CREATE VIEW app.v AS SELECT id FROM app.t;
            CREATE MATERIALIZED VIEW app.m AS SELECT id FROM app.t;
            CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql
              AS $$ BEGIN RETURN NEW; END $$;
            CREATE TRIGGER t_touch BEFORE UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION app.touch();
            CREATE POLICY t_read ON app.t FOR SELECT USING (true);
            """
        )
        snapshot = read_snapshot(conn)
    kinds = {snapshot[key].ref.kind for key in snapshot}
    assert kinds == set(ObjectKind)
    for key in snapshot:
        ref = snapshot[key].ref
        declared_as = CATALOG_KEY_OF[ref.kind]
        if declared_as is None:
            assert ref.kind in IMPLICIT_KINDS
            continue
        # What init would write for it parses back to the same object.
        (parsed,) = Objects.model_validate({declared_as: [ref.qualified]}).refs()
        assert parsed.same(ref), (declared_as, ref)


def test_init_declares_materialized_views_under_their_own_key(tmp_path: Path) -> None:
    root = adopted(tmp_path)
    text = (root / "catalog.yaml").read_text()
    assert "views:" not in text.replace("materialized_views:", "")
    assert text.count("materialized_views: [recent_crate_downloads]") == 2
    create, drop = text.index(f"id: {CREATE_ID}"), text.index(f"id: {DROP_ID}")
    assert (
        "    creates:\n      indexes: [recent_crate_downloads_crate_id]\n"
        "      materialized_views: [recent_crate_downloads]\n"
        "      functions: [refresh_recent_crate_downloads]\n"
    ) in text[create:drop]
    # Its indexes go with the view, as a table's go with the table: the experimental one,
    # and the one the SQL drops first by name too; declaring the view covers them.
    assert (
        "    drops:\n      materialized_views: [recent_crate_downloads]\n"
        "      functions: [refresh_recent_crate_downloads]\n"
    ) in text[drop:]
    # Dropped and created again in one script: changed, declared nowhere.
    redefine = text.index(f"id: {REDEFINE_ID}")
    assert "views" not in text[redefine : text.index("id: 2019-09-19")]


def test_check_and_verify_agree_on_what_init_writes(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    root = adopted(tmp_path)
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert codes(findings_of(result), "MG200", "MG201", "MG202") == []

    returncode, report = verify(root, pg_server)
    assert codes(report["findings"], "MG401", "MG403", "MG405") == []  # type: ignore[arg-type]
    assert returncode == 0, report
    replay = report["replay"]
    assert isinstance(replay, list)
    assert [(r["forward"], r["rollback"]) for r in replay] == [("ok", "ok")] * len(HISTORY)


def test_a_materialized_view_declared_as_a_view_is_wrong_for_check(tmp_path: Path) -> None:
    root = adopted(tmp_path)
    catalog = root / "catalog.yaml"
    text = catalog.read_text()
    create = text.index(f"id: {CREATE_ID}")
    catalog.write_text(text[:create] + text[create:].replace("materialized_views:", "views:", 1))
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert codes(findings_of(result), "MG201", "MG202") == [
        (
            "MG201",
            "declares that it creates view public.recent_crate_downloads, but the SQL does not "
            "create it (it is a matview: declare it under `creates.materialized_views`)",
        ),
        (
            "MG202",
            "creates matview public.recent_crate_downloads, which "
            "`creates.materialized_views` does not declare",
        ),
    ]


#: MarquezProject/marquez's V112 flyway migration recreates its matview with dynamic SQL in
#: a DO block (cut down here): static analysis cannot see it, replay decides (MG405).
DYNAMIC_ID = "2024-02-01-000000_recreate_by_execute"
DYNAMIC_UP = """\
-- MarquezProject/marquez, V112 (lineage_events partitioning), cut down
DO $$
BEGIN
    EXECUTE 'CREATE MATERIALIZED VIEW recent_crate_downloads AS '
         || 'SELECT crate_id, SUM(downloads) AS downloads FROM version_downloads '
         || 'INNER JOIN versions ON version_downloads.version_id = versions.id '
         || 'GROUP BY crate_id';
END $$;
"""


def test_replay_tells_a_materialized_view_from_a_view(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    root = write_history(tmp_path / "crates.io")
    folder = root / "migrations" / DYNAMIC_ID
    folder.mkdir()
    (folder / "up.sql").write_text(DYNAMIC_UP)
    (folder / "down.sql").write_text("DROP MATERIALIZED VIEW recent_crate_downloads;\n")
    result = migdocs("init", "--runner", "folders", "--migrations-dir", "migrations", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    catalog = root / "catalog.yaml"
    adopted_text = catalog.read_text()

    # init cannot see it: replay does, and says under which key it goes.
    returncode, report = verify(root, pg_server)
    assert returncode == 1
    assert codes(report["findings"], "MG405") == [  # type: ignore[arg-type]
        (
            "MG405",
            "on replay the migration creates matview public.recent_crate_downloads, which "
            "the catalog does not declare (add it to creates.materialized_views)",
        )
    ]

    def declare(key: str) -> None:
        entry = adopted_text.index(f"id: {DYNAMIC_ID}")
        purpose = adopted_text.index("    purpose: TODO\n", entry) + len("    purpose: TODO\n")
        declared = f"    creates:\n      {key}: [recent_crate_downloads]\n"
        catalog.write_text(adopted_text[:purpose] + declared + adopted_text[purpose:])

    declare("materialized_views")
    returncode, report = verify(root, pg_server)
    assert codes(report["findings"], "MG405") == []  # type: ignore[arg-type]
    assert returncode == 0, report
    check = migdocs("check", "--format", "json", cwd=root)
    assert codes(findings_of(check), "MG201", "MG202") == []

    # A view of that name is another object: both directions are wrong.
    declare("views")
    returncode, report = verify(root, pg_server)
    assert returncode == 1
    assert codes(report["findings"], "MG405") == [  # type: ignore[arg-type]
        (
            "MG405",
            "the catalog says the migration creates view public.recent_crate_downloads, "
            "but on replay it does not",
        ),
        (
            "MG405",
            "on replay the migration creates matview public.recent_crate_downloads, which "
            "the catalog does not declare (add it to creates.materialized_views)",
        ),
    ]
