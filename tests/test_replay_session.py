"""Settings production's sessions start with: `replay.session`, and what `replay.setup`
says with `ALTER DATABASE … SET`, hold in every replay session (a Supabase history uses
`citext` from the `extensions` schema, found through the search path)."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from runner_kit import migdocs

EXTERNAL_URL = os.environ.get("MIGDOCS_TEST_DATABASE_URL")
SERVERS = [
    pytest.param([], id="pg18-embedded"),
    pytest.param(
        ["--scratch-url", EXTERNAL_URL or "", "--scratch-superuser"],
        id="external",
        marks=pytest.mark.skipif(not EXTERNAL_URL, reason="MIGDOCS_TEST_DATABASE_URL is not set"),
    ),
]
SETUP = "CREATE SCHEMA extensions;\nCREATE EXTENSION citext SCHEMA extensions;\n"


def _project(root: Path, setup: str, replay: str) -> None:
    (root / "migrations" / "rollbacks").mkdir(parents=True)
    (root / "setup.sql").write_text(setup)
    (root / "migrations" / "2025-01-01_users.sql").write_text(
        "CREATE TABLE users (email citext PRIMARY KEY);\n"
    )
    (root / "migrations" / "rollbacks" / "2025-01-01_rollback_users.sql").write_text(
        "DROP TABLE users;\n"
    )
    (root / "catalog.yaml").write_text(
        textwrap.dedent(
            f"""\
            version: 1
            project: {{name: app}}
            replay: {replay}
            migrations:
              - id: 2025-01-01_users
                date: 2025-01-01
                title: Users
                purpose: Accounts by e-mail, in any letter case.
                creates: {{tables: [users]}}
                rollback:
                  file: 2025-01-01_rollback_users.sql
                  risk: high
                  impact: [data-loss]
                  summary: Drops the accounts.
            """
        )
    )


def _forward(root: Path, scratch: list[str]) -> list[str]:
    result = migdocs("verify", "--format", "json", *scratch, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return [item["forward"] for item in report["replay"]]


@pytest.mark.parametrize("scratch", SERVERS)
def test_replay_session_settings_hold_in_every_session(tmp_path: Path, scratch: list[str]) -> None:
    _project(
        tmp_path,
        SETUP,
        '{setup: [setup.sql], session: {search_path: "public, extensions"}}',
    )
    assert _forward(tmp_path, scratch) == ["ok"]
    _project(tmp_path / "without", SETUP, "{setup: [setup.sql]}")
    assert _forward(tmp_path / "without", scratch) == ["failed"]  # type "citext" does not exist


@pytest.mark.parametrize("scratch", SERVERS)
def test_what_setup_sets_on_the_database_takes_effect(tmp_path: Path, scratch: list[str]) -> None:
    setup = SETUP + textwrap.dedent(
        """\
        DO $$ BEGIN
            EXECUTE format('ALTER DATABASE %I SET search_path = public, extensions',
                           current_database());
        END $$;
        """
    )
    _project(tmp_path, setup, "{setup: [setup.sql]}")
    assert _forward(tmp_path, scratch) == ["ok"]


def test_a_session_setting_name_is_checked(tmp_path: Path) -> None:
    _project(tmp_path, SETUP, '{setup: [setup.sql], session: {"search path": public}}')
    result = migdocs("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "catalog.yaml:" in result.stderr
    assert "replay.session" in result.stderr
    assert "Traceback" not in result.stderr
