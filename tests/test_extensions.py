"""The embedded server runs `CREATE EXTENSION "uuid-ossp"`, `pgcrypto` and `pgjwt` out of the
box: its PostgreSQL build lacks them, so migdocs ships packages of its own (every function
with its signature, bodies on core functions, a clear error where core has none). A server
that has the real extensions (``--scratch-url``) keeps them.

What no scratch server has (a platform's own extensions) is ``replay.stub_extensions``: on the
embedded server ``CREATE EXTENSION`` then makes an empty one; elsewhere replay says why not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from migdocs.checks import run_static
from migdocs.extension_stubs import extension_stubs
from migdocs.objects import ObjectKind
from migdocs.pg import ScratchServer
from migdocs.pg.embedded import PACKAGED_EXTENSIONS
from migdocs.pg.reader import read_snapshot
from migdocs.pg.server import STUB_COMMENT, ExtensionStub
from migdocs.project import Project
from migdocs.replay import ReplayResult, replay_project
from runner_kit import migdocs


@pytest.fixture
def packaged(embedded_server: ScratchServer) -> Iterator[psycopg.Connection[object]]:
    """A database on the embedded server with both packages made by the replay role."""
    url = embedded_server.create_database(owner="postgres")
    try:
        with embedded_server.connect(url, role="postgres") as conn:
            conn.execute('CREATE EXTENSION "uuid-ossp"')
            conn.execute("CREATE EXTENSION pgcrypto")
            yield conn
    finally:
        embedded_server.drop_database(url)


def test_the_packages_are_what_the_build_lacks() -> None:
    assert sorted(p.name for p in PACKAGED_EXTENSIONS.glob("*.control")) == [
        "pgcrypto.control",
        "pgjwt.control",
        "uuid-ossp.control",
    ]


def test_uuid_ossp_makes_real_uuids(packaged: psycopg.Connection[object]) -> None:
    row = packaged.execute(
        "SELECT uuid_generate_v4(), uuid_generate_v1(), uuid_nil(),"
        " uuid_generate_v3(uuid_ns_dns(), 'python.org'), uuid_generate_v3(uuid_ns_url(), 'é')"
    ).fetchone()
    assert row is not None
    v4, v1, nil, v3, v3_unicode = (uuid.UUID(str(value)) for value in row)
    assert v4.version == 4
    assert v1 != v4
    assert nil.int == 0
    assert v3 == uuid.uuid3(uuid.NAMESPACE_DNS, "python.org")
    assert v3_unicode == uuid.uuid3(uuid.NAMESPACE_URL, "é")
    with pytest.raises(psycopg.errors.RaiseException, match="--scratch-url"):
        packaged.execute("SELECT uuid_generate_v5(uuid_ns_dns(), 'python.org')")


def test_pgcrypto_digests_on_core_functions(packaged: psycopg.Connection[object]) -> None:
    for kind in ("md5", "sha224", "sha256", "sha384", "SHA512"):
        row = packaged.execute("SELECT digest('migdocs', %s)", [kind]).fetchone()
        assert row is not None
        assert bytes(row[0]) == hashlib.new(kind.lower(), b"migdocs").digest()
    row = packaged.execute("SELECT length(gen_random_bytes(16)), gen_random_uuid()").fetchone()
    assert row is not None
    assert row[0] == 16
    with pytest.raises(psycopg.errors.RaiseException, match="pgcrypto's own code"):
        packaged.execute("SELECT crypt('secret', gen_salt('bf'))")


@pytest.mark.parametrize("kind", ["md5", "sha224", "sha256", "sha384", "SHA512"])
@pytest.mark.parametrize("key", [b"", b"key", "clé".encode() * 60])  # none, short, past a block
def test_pgcrypto_hmac_is_rfc_2104(
    packaged: psycopg.Connection[object], kind: str, key: bytes
) -> None:
    row = packaged.execute(
        "SELECT hmac(%s::bytea, %s::bytea, %s), hmac('données', %s, %s)",
        [b"migdocs", key, kind, key.decode(), kind],
    ).fetchone()
    assert row is not None
    assert bytes(row[0]) == hmac.new(key, b"migdocs", kind.lower()).digest()
    assert bytes(row[1]) == hmac.new(key, "données".encode(), kind.lower()).digest()
    with pytest.raises(psycopg.errors.RaiseException, match="pgcrypto's own code"):
        packaged.execute("SELECT hmac('data', 'key', 'sha1')")


def _jwt(payload: dict[str, object], secret: bytes, kind: str = "sha256") -> str:
    """A JSON Web Token made in Python, as jwt.io makes it (base64url, no padding)."""

    def encode(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    algorithm = {"sha256": "HS256", "sha384": "HS384", "sha512": "HS512"}[kind]
    signables = ".".join(
        encode(json.dumps(part, separators=(",", ":")).encode())
        for part in ({"alg": algorithm, "typ": "JWT"}, payload)
    )
    return signables + "." + encode(hmac.new(secret, signables.encode(), kind).digest())


def test_pgjwt_signs_and_verifies_as_jwt_io(embedded_server: ScratchServer) -> None:
    # As Supabase installs them: both in `extensions`, called from a session without it.
    url = embedded_server.create_database(owner="postgres")
    try:
        with embedded_server.connect(url, role="postgres") as conn:
            conn.execute("CREATE SCHEMA extensions")
            conn.execute("CREATE EXTENSION pgjwt WITH SCHEMA extensions CASCADE")
            conn.execute("SET search_path = public")
            for algorithm, kind in (("HS256", "sha256"), ("HS512", "sha512")):
                row = conn.execute(
                    """SELECT extensions.sign('{"sub":"42","exp":4102444800}', 'sécret', %s)""",
                    [algorithm],
                ).fetchone()
                assert row is not None
                token = str(row[0])
                assert token == _jwt({"sub": "42", "exp": 4102444800}, "sécret".encode(), kind)
                rows = conn.execute(
                    "SELECT header::text, payload::text, valid FROM extensions.verify(%s, %s, %s)",
                    [token, "sécret", algorithm],
                ).fetchall()
                assert rows == [
                    (f'{{"alg":"{algorithm}","typ":"JWT"}}', '{"sub":"42","exp":4102444800}', True)
                ]
            expired = _jwt({"sub": "42", "exp": 1}, b"s")
            checks = conn.execute(
                "SELECT (SELECT valid FROM extensions.verify(%s, 's')),"
                " (SELECT valid FROM extensions.verify(%s, 'other'))",
                [expired, _jwt({"sub": "42"}, b"s")],
            ).fetchone()
            assert checks == (False, False)
    finally:
        embedded_server.drop_database(url)


def test_a_history_that_signs_tokens_with_pgjwt_replays(tmp_path: Path) -> None:
    # IMLS/estimating-wifi's imls-backend/init/200-extensions.sql (a dbmate history for
    # PostgREST) makes pgcrypto and pgjwt; its login function signs a token with sign().
    (tmp_path / "migrations" / "rollbacks").mkdir(parents=True)
    (tmp_path / "migrations" / "2025-02-01_jwt.sql").write_text(
        textwrap.dedent(
            """\
            CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;
            CREATE EXTENSION IF NOT EXISTS pgjwt WITH SCHEMA public;
            CREATE TABLE sessions (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                token text NOT NULL
            );
            CREATE FUNCTION login(sub text) RETURNS text LANGUAGE sql AS $$
                SELECT sign(json_build_object('sub', sub, 'role', 'web_user'), 'secret')
            $$;
            INSERT INTO sessions (token) SELECT login('admin');
            """
        )
    )
    (tmp_path / "migrations" / "rollbacks" / "2025-02-01_rollback_jwt.sql").write_text(
        "DROP FUNCTION login(text);\nDROP TABLE sessions;\nDROP EXTENSION pgjwt;\n"
        "DROP EXTENSION pgcrypto;\n"
    )
    (tmp_path / "catalog.yaml").write_text(
        textwrap.dedent(
            """\
            version: 1
            project: {name: jwt}
            migrations:
              - id: 2025-02-01_jwt
                date: 2025-02-01
                title: Tokens
                purpose: Signed session tokens.
                creates:
                  extensions: [pgcrypto, pgjwt]
                  tables: [sessions]
                  functions: [login]
                rollback:
                  file: 2025-02-01_rollback_jwt.sql
                  risk: high
                  impact: [data-loss]
                  summary: Drops the sessions.
            """
        )
    )
    result = migdocs("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["findings"] == []
    assert [(r["forward"], r["rollback"], r["round_trip"]) for r in report["replay"]] == [
        ("ok", "ok", "ok")
    ]


def test_a_history_that_starts_with_them_replays(tmp_path: Path) -> None:
    (tmp_path / "migrations" / "rollbacks").mkdir(parents=True)
    (tmp_path / "migrations" / "2025-01-01_extensions.sql").write_text(
        textwrap.dedent(
            """\
            CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
            CREATE EXTENSION IF NOT EXISTS pgcrypto;
            CREATE TABLE tokens (
                id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
                secret bytea NOT NULL DEFAULT gen_random_bytes(16),
                fingerprint bytea GENERATED ALWAYS AS (digest(secret, 'sha256')) STORED
            );
            INSERT INTO tokens DEFAULT VALUES;
            """
        )
    )
    (tmp_path / "migrations" / "rollbacks" / "2025-01-01_rollback_extensions.sql").write_text(
        'DROP TABLE tokens;\nDROP EXTENSION pgcrypto;\nDROP EXTENSION "uuid-ossp";\n'
    )
    (tmp_path / "catalog.yaml").write_text(
        textwrap.dedent(
            """\
            version: 1
            project: {name: tokens}
            migrations:
              - id: 2025-01-01_extensions
                date: 2025-01-01
                title: Extensions
                purpose: Tokens with random ids and secrets.
                creates: {extensions: [uuid-ossp, pgcrypto], tables: [tokens]}
                rollback:
                  file: 2025-01-01_rollback_extensions.sql
                  risk: high
                  impact: [data-loss]
                  summary: Drops the tokens.
            """
        )
    )
    result = migdocs("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [(r["forward"], r["rollback"], r["round_trip"]) for r in report["replay"]] == [
        ("ok", "ok", "ok")
    ]


# -- replay.stub_extensions -------------------------------------------------------------------

#: Supabase histories enable the platform's own extensions in their first migration, as
#: argus-sight/refund-swatter-lite's supabase/migrations/00000000000000_enable_extensions.sql
#: (pg_cron into extensions), coinhub-uit/server's
#: supabase/migrations/20250412123109_extensions.sql (pg_net) and
#: farfarawaylabs/bernstein_ai_framework's
#: supabase/migrations/20240626124418_enable_extensions.sql (http into extensions) do; the
#: VERSION and UPDATE TO are as `supabase db diff` writes them.
PLATFORM_EXTENSIONS = """\
CREATE EXTENSION IF NOT EXISTS pg_cron WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pg_net;
create extension if not exists "http" with schema "extensions" version '1.5';
ALTER EXTENSION http UPDATE TO '1.6';
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE jobs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
"""
PLATFORM_ROLLBACK = """\
DROP TABLE jobs;
DROP EXTENSION pg_trgm;
DROP EXTENSION http;
DROP EXTENSION pg_net;
DROP EXTENSION pg_cron;
"""
#: What the next migration of such a history does with pg_cron (coinhub-uit/server, same file).
USES_CRON = "GRANT USAGE ON SCHEMA cron TO postgres;\n"


def _project(tmp_path: Path, stubs: str | None, *, uses_cron: bool = False) -> Path:
    (tmp_path / "migrations" / "rollbacks").mkdir(parents=True)
    (tmp_path / "setup.sql").write_text("CREATE SCHEMA extensions;\n")
    (tmp_path / "migrations" / "2025-04-12_extensions.sql").write_text(PLATFORM_EXTENSIONS)
    (tmp_path / "migrations" / "rollbacks" / "2025-04-12_rollback_extensions.sql").write_text(
        PLATFORM_ROLLBACK
    )
    entries = """\
              - id: 2025-04-12_extensions
                date: 2025-04-12
                title: Extensions
                purpose: The platform's scheduler and HTTP client.
                creates:
                  extensions: [pg_cron, pg_net, http, pg_trgm]
                  tables: [jobs]
                rollback:
                  file: 2025-04-12_rollback_extensions.sql
                  risk: high
                  impact: [data-loss]
                  summary: Drops the jobs.
"""
    if uses_cron:
        (tmp_path / "migrations" / "2025-04-13_cron_grants.sql").write_text(USES_CRON)
        entries += """\
              - id: 2025-04-13_cron_grants
                date: 2025-04-13
                title: Cron grants
                purpose: The owner may read the jobs.
                rollback: {none: grants only}
"""
    stub_line = f"  stub_extensions: {stubs}\n" if stubs is not None else ""
    (tmp_path / "catalog.yaml").write_text(
        "version: 1\nproject: {name: jobs}\nreplay:\n  setup: [setup.sql]\n"
        + stub_line
        + "migrations:\n"
        + textwrap.dedent(entries)
    )
    return tmp_path / "catalog.yaml"


def _replay(catalog: Path, server: ScratchServer) -> ReplayResult:
    project = Project.load(catalog, "catalog.yaml")
    context, _ = run_static(project)
    return replay_project(project, context, server)


def _stubs_on(server: ScratchServer) -> list[str]:
    url = server.create_database()
    try:
        with server.connect(url) as conn:
            rows = conn.execute(
                "SELECT name FROM pg_available_extensions WHERE comment = %s", [STUB_COMMENT]
            ).fetchall()
    finally:
        server.drop_database(url)
    return [str(name) for (name,) in rows]


def _has_extension(server: ScratchServer, name: str) -> bool:
    url = server.create_database()
    try:
        with server.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_available_extensions WHERE name = %s", [name]
            ).fetchone()
    finally:
        server.drop_database(url)
    return row is not None and row[0] > 0


def test_without_stubs_the_failure_names_both_ways_out(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    if _has_extension(pg_server, "pg_cron"):
        pytest.skip(f"{pg_server.name} has pg_cron")
    replay = _replay(_project(tmp_path, None), pg_server)
    [finding] = replay.findings
    assert (finding.code, finding.file, finding.line) == (
        "MG401",
        "migrations/2025-04-12_extensions.sql",
        1,
    )
    assert 'extension "pg_cron" is not available' in finding.message
    assert "(--scratch-url URL), or name it in replay.stub_extensions" in finding.message
    assert replay.notes == []


def test_stubs_make_empty_extensions_on_the_embedded_server(
    tmp_path: Path, embedded_server: ScratchServer
) -> None:
    replay = _replay(_project(tmp_path, "[pg_cron, pg_net, http, pg_trgm]"), embedded_server)
    assert replay.findings == []
    assert [(r.forward, r.rollback, r.round_trip) for r in replay.migrations] == [
        ("ok", "ok", "ok")
    ]
    extensions = {
        state.ref.name: state.attrs["schema"]
        for state in replay.schema.values()
        if state.ref.kind is ObjectKind.EXTENSION
    }
    assert extensions == {
        "pg_cron": "extensions",
        "pg_net": "public",
        "http": "extensions",
        "pg_trgm": "public",
    }
    assert replay.notes == [
        "replay.stub_extensions: pg_cron, pg_net and http replayed as empty extensions: "
        "what uses their functions or tables fails",
        "warning: catalog.yaml:5: replay.stub_extensions names pg_trgm, which embedded "
        "PostgreSQL has: the real extension is used",
    ]
    assert _stubs_on(embedded_server) == []  # gone with the replay


def test_what_uses_a_stub_still_fails(tmp_path: Path, embedded_server: ScratchServer) -> None:
    replay = _replay(_project(tmp_path, "[pg_cron, pg_net, http]", uses_cron=True), embedded_server)
    [finding] = replay.findings
    assert (finding.code, finding.migration, finding.line) == ("MG401", "2025-04-13_cron_grants", 1)
    assert 'schema "cron" does not exist' in finding.message


def test_a_server_that_cannot_take_stubs_says_so(
    tmp_path: Path, external_server: ScratchServer
) -> None:
    if _has_extension(external_server, "pg_cron"):
        pytest.skip(f"{external_server.name} has pg_cron")
    replay = _replay(_project(tmp_path, "[pg_cron, pg_net, http, pg_trgm]"), external_server)
    [finding] = replay.findings
    assert finding.code == "MG401"
    assert (
        "replay.stub_extensions needs the embedded server: "
        f"{external_server.name} cannot take stubs; install pg_cron there" in finding.message
    )
    assert replay.notes == [
        f"warning: catalog.yaml:5: replay.stub_extensions names pg_trgm, which "
        f"{external_server.name} has: the real extension is used",
        "warning: catalog.yaml:5: replay.stub_extensions needs the embedded server; "
        f"{external_server.name} cannot take stubs, and lacks pg_cron, pg_net and http: "
        "CREATE EXTENSION fails there",
    ]


@pytest.mark.parametrize(
    ("names", "bad"),
    [
        ("[pg_cron, PG_NET]", "'PG_NET'"),
        ('["pg cron"]', "'pg cron'"),
        ("[uuid--ossp]", "'uuid--ossp'"),
    ],
)
def test_a_name_no_extension_can_have_is_refused(tmp_path: Path, names: str, bad: str) -> None:
    _project(tmp_path, names)
    before = (tmp_path / "catalog.yaml").read_bytes()
    result = migdocs("check", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "catalog.yaml:5" in result.stderr
    assert f"{bad} is not an extension's name" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "catalog.yaml").read_bytes() == before


def test_verify_reports_the_stubs(tmp_path: Path) -> None:
    _project(tmp_path, "[pg_cron, pg_net, http]")
    result = migdocs("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["notes"][1] == (
        "replay.stub_extensions: pg_cron, pg_net and http replayed as empty extensions: "
        "what uses their functions or tables fails"
    )


def test_the_stubs_take_the_versions_and_the_one_schema_the_sql_names(tmp_path: Path) -> None:
    project = Project.load(_project(tmp_path, "[pg_cron, pg_net, http, pg_trgm]"), "catalog.yaml")
    assert extension_stubs(project) == [
        ExtensionStub("pg_cron", frozenset(), "extensions"),
        ExtensionStub("pg_net"),
        ExtensionStub("http", frozenset({"1.5", "1.6"}), "extensions"),
        ExtensionStub("pg_trgm"),
    ]


#: pg_cron goes into pg_catalog in matiasbattocchia/open-bsp-api's schemas/00_extensions.sql
#: and coinhub-uit/server's first migration; pg_net into a schema that does not exist yet
#: (its real control file makes it, as a stub's does).
STUBBED = [
    ExtensionStub("pg_cron", schema="pg_catalog"),
    ExtensionStub("pg_net", schema="net"),
    ExtensionStub("http", frozenset({"1.5", "1.6"})),
    ExtensionStub("pg_trgm"),
]
STUBBED_SQL = [
    'create extension "pg_cron" with schema "pg_catalog"',
    "CREATE EXTENSION IF NOT EXISTS pg_net CASCADE",
    "CREATE SCHEMA extensions",
    "CREATE EXTENSION http SCHEMA extensions VERSION '1.5'",
    "ALTER EXTENSION http UPDATE TO '1.6'",
    "CREATE EXTENSION pg_trgm",
]


def test_a_stub_is_an_empty_extension_the_replay_role_may_make(
    embedded_server: ScratchServer,
) -> None:
    with (
        embedded_server.stub_extensions(STUBBED) as stubbed,
        embedded_server.replay_role() as role,
    ):
        assert (stubbed.made, stubbed.real, stubbed.refused) == (
            ("pg_cron", "pg_net", "http"),
            ("pg_trgm",),
            (),
        )
        url = embedded_server.create_database(owner=role)
        try:
            with embedded_server.connect(url, role=role) as conn:
                for statement in STUBBED_SQL:
                    conn.execute(statement)
                rows = conn.execute(
                    "SELECT extname, extversion, nspname, e.extname IN"
                    " (SELECT name FROM pg_available_extensions WHERE comment = %s)"
                    " FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                    " WHERE extname <> 'plpgsql' ORDER BY extname",
                    [STUB_COMMENT],
                ).fetchall()
                # Empty: no object is a member of a stub.
                members = conn.execute(
                    "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid"
                    " WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'"
                    " AND e.extname IN ('pg_cron', 'pg_net', 'http')"
                ).fetchone()
        finally:
            embedded_server.drop_database(url)
    assert [tuple(row) for row in rows] == [
        ("http", "1.6", "extensions", True),
        ("pg_cron", "stub", "pg_catalog", True),
        ("pg_net", "stub", "net", True),
        ("pg_trgm", rows[3][1], "public", False),
    ]
    assert members == (0,)
    assert _stubs_on(embedded_server) == []


def test_an_extension_in_pg_catalog_is_in_the_snapshot(pg_database: str) -> None:
    # supabase/postgres migrations/db/init-scripts and countless Supabase histories:
    # `create extension if not exists pg_cron with schema pg_catalog;` (pg_cron's own control
    # file says schema = pg_catalog). Here one the server has goes there the same way.
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(b"CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA pg_catalog")
        snapshot = read_snapshot(conn)
    keys = set(snapshot.key_set())
    assert "extension:citext" in keys
    assert "extension:plpgsql" not in keys  # every database has it: never a change
