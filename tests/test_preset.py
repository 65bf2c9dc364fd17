"""``replay.preset``: what a platform gives every database before its first migration.

``tests/fixtures/supabase_preset`` is a small Supabase CLI history (each file names its
source): profiles keyed by ``auth.users`` with a trigger on it, policies calling
``auth.uid()`` and ``auth.jwt()``, ``for … to authenticated``, storage buckets and policies
with ``storage.foldername()``, pgvector and citext in ``extensions``. With ``preset:
supabase`` and nothing else, it replays clean; without it, it cannot start.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from ruamel.yaml import YAML

from migdocs.checks import run_static
from migdocs.drift import LiveSection, compare_live
from migdocs.pg import ScratchServer, read_snapshot
from migdocs.project import PRESETS, Project
from migdocs.replay import ReplayResult, replay_project
from runner_kit import migdocs, migrate, run_script

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "supabase_preset"
EMBEDDINGS = "20240408072601_embeddings"


def _copy(tmp_path: Path, *, without: tuple[str, ...] = (), **replay: Any) -> Path:
    """The fixture in ``tmp_path``, its ``replay`` block replaced by ``replay`` where given,
    without the entries (and files) of ``without``."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    yaml = YAML()
    catalog = yaml.load(root / "catalog.yaml")
    if replay:
        catalog["replay"] = replay
    for entry in list(catalog["migrations"]):
        if entry["id"] in without:
            catalog["migrations"].remove(entry)
            (root / "supabase" / "migrations" / f"{entry['id']}.sql").unlink()
    yaml.dump(catalog, root / "catalog.yaml")
    return root


def _has_vector(server: ScratchServer) -> bool:
    url = server.create_database()
    try:
        with server.connect(url) as conn:
            row = conn.execute("SELECT FROM pg_available_extensions WHERE name = 'vector'")
            return row.fetchone() is not None
    finally:
        server.drop_database(url)


@pytest.fixture
def own_server() -> Iterator[ScratchServer]:
    """A server of the test's own: the roles it makes stay on it, and go with it."""
    with ScratchServer.embedded() as server:
        yield server


def _replay(root: Path, server: ScratchServer) -> ReplayResult:
    project = Project.load(root / "catalog.yaml")
    context, _ = run_static(project)
    return replay_project(project, context, server)


# -- replay ------------------------------------------------------------------------------------


def test_a_supabase_history_replays_with_the_preset_alone(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    # The external server may lack pgvector: the rest of the history replays there too.
    without = () if _has_vector(pg_server) else (EMBEDDINGS,)
    root = _copy(tmp_path, without=without)
    result = _replay(root, pg_server)
    assert [(m.migration, m.forward) for m in result.migrations] == [
        (m.migration, "ok") for m in result.migrations
    ]
    # Triggers on the platform's auth.users block its writers while they are made (MG406:
    # true of the hosted database too); nothing else.
    assert [f.message for f in result.findings if f.code != "MG406"] == []
    assert {lock.relation for m in result.migrations for lock in m.locks} >= {"table:auth.users"}
    first, *_, last = result.migrations
    assert "trigger:auth.users.on_auth_user_created" in first.added
    assert "policy:storage.objects.Anyone can upload an avatar." in first.added
    assert "policy:storage.objects.Users upload into their own folder" in last.added
    # What the preset made is the platform's: in the schema, made by no migration.
    for key in ("table:auth.users", "function:auth.uid()", "function:storage.foldername(text)"):
        assert key in result.platform
        assert key in result.schema
        assert key not in result.provenance
    assert "schema:public" not in result.platform


def test_without_the_preset_the_history_cannot_replay(tmp_path: Path) -> None:
    root = _copy(tmp_path, setup=[])
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 1
    first = json.loads(result.stdout)["findings"][0]
    assert first["code"] == "MG401"
    assert 'schema "auth" does not exist' in first["message"]


def test_verify_and_check_are_clean_with_the_preset(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["replay"] == "passed"
    assert [f for f in report["findings"] if f["severity"] != "info" and f["code"] != "MG406"] == []
    # The static model knows the platform's objects too: no MG203 on auth.users.
    checked = migdocs("check", "--format", "json", cwd=root)
    assert checked.returncode == 0, checked.stdout
    assert {f["code"] for f in json.loads(checked.stdout)["findings"]} <= {"MG602", "MG205"}


def test_a_project_writes_its_own_preset(tmp_path: Path) -> None:
    root = _copy(tmp_path, without=(EMBEDDINGS, "20240520101500_user_folders"), preset="p.sql")
    # Only what these migrations use, in a platform file of the project's own.
    (root / "p.sql").write_text(
        textwrap.dedent("""\
        CREATE SCHEMA auth;
        CREATE TABLE auth.users (id uuid PRIMARY KEY, raw_user_meta_data jsonb);
        CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
            AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
        CREATE SCHEMA storage;
        CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL);
        CREATE TABLE storage.objects (bucket_id text, name text, owner uuid);
        """)
    )
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [m["forward"] for m in json.loads(result.stdout)["replay"]] == ["ok"]


def test_init_adopts_a_supabase_history_with_the_preset(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "catalog.yaml").unlink()
    adopted = migdocs("init", cwd=root)
    assert adopted.returncode == 0, adopted.stderr
    catalog = YAML(typ="safe").load(root / "catalog.yaml")
    assert catalog["replay"] == {"preset": "supabase"}
    verified = migdocs("verify", "--format", "json", cwd=root)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert [m["forward"] for m in json.loads(verified.stdout)["replay"]] == ["ok"] * 3


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "files", "message"),
    [
        (
            "supabse",
            {},
            "catalog.yaml:11:3: replay.preset: 'supabse' is no preset of migdocs (supabase): "
            "name one, or give a .sql file relative to the catalog",
        ),
        ("platform.sql", {}, "catalog.yaml:11:3: replay.preset: platform.sql does not exist"),
        (
            "platform.sql",
            {"platform.sql": "CREATE SCHEMA auth;\nCREATE TABLE auth.users (;\n"},
            "catalog.yaml:11:3: replay.preset: platform.sql:2:26: does not parse: "
            'syntax error at or near ";"',
        ),
        (
            "../platform.sql",
            {},
            "catalog.yaml:11:3: replay.preset: '../platform.sql' leads outside the project",
        ),
    ],
)
@pytest.mark.parametrize("command", ["check", "verify"])
def test_a_preset_that_cannot_be_run_is_exit_2(
    tmp_path: Path, command: str, preset: str, files: dict[str, str], message: str
) -> None:
    root = _copy(tmp_path, preset=preset)
    for name, text in files.items():
        (root / name).write_text(text)
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    result = migdocs(command, cwd=root)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(f"migdocs: error: {message}")
    assert "Traceback" not in result.stderr
    assert {path: path.read_bytes() for path in root.rglob("*") if path.is_file()} == before


def test_a_preset_that_fails_on_the_server_names_its_line(tmp_path: Path) -> None:
    root = _copy(tmp_path, preset="p.sql")
    (root / "p.sql").write_text("CREATE SCHEMA auth;\nCREATE TABLE auth.users (id nosuchtype);\n")
    result = migdocs("verify", cwd=root)
    assert result.returncode == 2
    assert result.stderr.startswith("migdocs: error: p.sql:2: replay setup failed: ")
    assert 'type "nosuchtype" does not exist' in result.stderr


def test_a_scratch_role_that_cannot_make_the_roles_needs_them_made_once(
    tmp_path: Path, own_server: ScratchServer
) -> None:
    """A team's shared server whose scratch role has no CREATEROLE: the preset names the
    roles it lacks; made once by an administrator, they are used as they are."""
    root = _copy(tmp_path, without=(EMBEDDINGS,))
    admin_url = own_server.url("postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("CREATE ROLE migdocs_ci LOGIN CREATEDB PASSWORD 'ci-secret'")
    params = psycopg.conninfo.conninfo_to_dict(admin_url)
    params.update(user="migdocs_ci", password="ci-secret")
    scratch = psycopg.conninfo.make_conninfo("", **params)
    refused = migdocs("verify", "--scratch-url", scratch, cwd=root)
    assert refused.returncode == 2
    error = refused.stderr.splitlines()[-1]  # after the warning about the URL's password
    assert error.startswith(
        "migdocs: error: migdocs:presets/supabase.sql:28: replay setup failed: the roles anon, "
        "authenticated, service_role, authenticator, supabase_admin"
    )
    assert "and migdocs_ci may not create roles" in error
    listed = (PRESETS / "supabase.sql").read_text().split("-- Roles")[1].split(" AS roles ")[0]
    roles = re.findall(r"\('(\w+)', '", listed)
    assert len(roles) == 12
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for role in roles:
            admin.execute(f"CREATE ROLE {role}")
    verified = migdocs("verify", "--scratch-url", scratch, "--format", "json", cwd=root)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert [m["forward"] for m in json.loads(verified.stdout)["replay"]] == ["ok"] * 2


def test_an_unknown_key_under_replay_is_named(tmp_path: Path) -> None:
    root = _copy(tmp_path, presets="supabase")
    result = migdocs("check", cwd=root)
    assert result.returncode == 2
    assert result.stderr == (
        "migdocs: error: catalog.yaml:11:3: replay: unknown key 'presets' "
        "(did you mean 'preset'?)\n"
    )


def test_the_shipped_preset_names_its_sources() -> None:
    head = (PRESETS / "supabase.sql").read_text().split("-- Roles")[0]
    for source in (
        "supabase/postgres 7db7e1a9e34b9ffb9b0e3372ccf08eb4fa772f4b",
        "00000000000000-initial-schema.sql",
        "supabase/auth bc32168e13fdc928c98b449fc76bc3fdb9a293c5",
        "supabase/storage 4fa61fba9371c4bd40cbb81509f07bcb3af21683",
    ):
        assert source in head


# -- audit -------------------------------------------------------------------------------------


def _audit(root: Path, replayed: ReplayResult, url: str) -> LiveSection:
    project = Project.load(root / "catalog.yaml")
    with psycopg.connect(url, autocommit=True) as conn:
        live = read_snapshot(conn)
    return compare_live(
        project, replayed, live, database="postgresql://auditor@db.example/app", server="18"
    )


def test_the_platform_of_a_live_supabase_database_is_no_drift(
    tmp_path: Path, own_server: ScratchServer
) -> None:
    root = _copy(tmp_path)
    replayed = _replay(root, own_server)
    url = own_server.create_database()
    project = Project.load(root / "catalog.yaml")
    preset = project.preset_script()
    assert preset is not None
    with psycopg.connect(url, autocommit=True) as conn:
        run_script(conn, preset)
        # A newer platform than the preset: more columns, tables and schemas of its own.
        conn.execute("ALTER TABLE auth.users ADD COLUMN is_robot boolean")
        conn.execute("CREATE TABLE storage.vector_buckets (id text PRIMARY KEY)")
        conn.execute(
            "CREATE FUNCTION realtime.topic() RETURNS text LANGUAGE sql AS 'SELECT 1::text'"
        )
        conn.execute("DROP FUNCTION storage.search_v2")
    migrate(url, root / "catalog.yaml")
    section = _audit(root, replayed, url)
    assert [f.message for f in section.findings] == []
    assert [state for _, state in section.states] == ["applied"] * 3

    # What the migrations made on the platform's tables is still audited.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER on_auth_user_created ON auth.users")
        conn.execute('DROP POLICY "Anyone can upload an avatar." ON storage.objects')
    section = _audit(root, replayed, url)
    missing = sorted((f.code, f.message.partition(" is missing")[0]) for f in section.findings)
    assert missing == [
        ("MG501", 'policy storage.objects."Anyone can upload an avatar."'),
        ("MG501", "trigger auth.users.on_auth_user_created"),
    ]
