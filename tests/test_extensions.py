"""The embedded server runs `CREATE EXTENSION "uuid-ossp"` and `pgcrypto` out of the box:
its PostgreSQL build lacks both, so migdocs ships packages of its own (every function with
its signature, bodies on core functions, a clear error where core has none). A server that
has the real extensions (``--scratch-url``) keeps them."""

from __future__ import annotations

import hashlib
import json
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from migdocs.pg import ScratchServer
from migdocs.pg.server import PACKAGED_EXTENSIONS
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
