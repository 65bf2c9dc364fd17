"""Holding back after a failed migration: exactly what needs it, at the object level.

When a migration fails on replay, it is undone; a later migration that needs something it
should have made — a table, a column, an index, a view — is held back (``skipped``, with
what it needed and from whom), and one that needs nothing of it still replays. ``IF EXISTS``
needs nothing.

The histories are modelled on LemmyNet/lemmy's diesel migrations (``migrations/``):
``2019-03-03-163336_create_post`` makes ``post``; ``2020-04-03-194936_add_activitypub_for_
posts_and_comments`` adds ``post.ap_id`` and ``post.local``; ``2020-04-14-163701_update_
views_for_activitypub`` remakes ``post_view`` with them; ``2020-01-13-025151_create_
materialized_views`` makes ``post_mview`` as ``SELECT * FROM post_view``;
``2020-01-11-012452_add_indexes`` indexes ``post``'s columns. Here the ActivityPub
migration fails as a history's does when it uses a function a later migration makes
(``generate_unique_changeme()`` came in ``2020-08-25-132005_add_unique_ap_ids``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migdocs.pg import ScratchServer
from migdocs.sql.script import parse_text
from runner_kit import make_project
from test_replay import by_id, codes, replay
from test_verify_cli import run

POST = {
    "name": "create_post",
    "up": """
        CREATE TABLE post (
            id serial PRIMARY KEY,
            name varchar(100) NOT NULL,
            url text,
            body text,
            creator_id int NOT NULL,
            community_id int NOT NULL,
            removed boolean DEFAULT FALSE,
            published timestamp NOT NULL DEFAULT now()
        );
        """,
    "down": "DROP TABLE post;",
    "creates": {"tables": ["post"]},
}

#: Fails on replay: the default calls a function no migration has made yet.
ACTIVITYPUB = {
    "name": "add_activitypub_for_posts",
    "up": """
        ALTER TABLE post
            ADD COLUMN ap_id character varying(255) NOT NULL
                DEFAULT generate_unique_changeme(),
            ADD COLUMN local boolean NOT NULL DEFAULT TRUE;
        CREATE INDEX idx_post_local ON post (local);
        """,
    "down": """
        DROP INDEX idx_post_local;
        ALTER TABLE post DROP COLUMN ap_id, DROP COLUMN local;
        """,
    "creates": {"columns": ["post.ap_id", "post.local"], "indexes": ["idx_post_local"]},
}
FAILED = "2025-01-02_add_activitypub_for_posts"

INDEX_AP_ID = {
    "name": "add_ap_id_index",
    "up": "CREATE INDEX idx_post_ap_id ON post (ap_id);\n",
    "down": "DROP INDEX idx_post_ap_id;\n",
    "creates": {"indexes": ["idx_post_ap_id"]},
}

#: Needs nothing of the failed migration: its own columns, and IF EXISTS for the index.
REINDEX_POST = {
    "name": "reindex_post",
    "up": """
        DROP INDEX IF EXISTS idx_post_local;
        CREATE INDEX idx_post_creator ON post (creator_id);
        """,
    "down": "DROP INDEX idx_post_creator;\n",
    # Not declared in drops: on replay, after the failure, it drops nothing, and MG405
    # would say so.
    "creates": {"indexes": ["idx_post_creator"]},
}

COMMUNITY = {
    "name": "create_community",
    "up": """
        CREATE TABLE community (
            id serial PRIMARY KEY,
            name varchar(20) NOT NULL UNIQUE,
            title varchar(100) NOT NULL,
            creator_id int NOT NULL,
            published timestamp NOT NULL DEFAULT now()
        );
        """,
    "down": "DROP TABLE community;",
    "creates": {"tables": ["community"]},
}

POST_VIEW = {
    "name": "update_views_for_activitypub",
    "up": """
        CREATE VIEW post_view AS
        SELECT p.id, p.name, p.url, p.creator_id, p.community_id, p.ap_id, p.local
        FROM post p
        WHERE p.removed = FALSE;
        """,
    "down": "DROP VIEW post_view;\n",
    "creates": {"views": ["post_view"]},
}

POST_MVIEW = {
    "name": "create_materialized_views",
    "up": "CREATE MATERIALIZED VIEW post_mview AS SELECT * FROM post_view;\n",
    "down": "DROP MATERIALIZED VIEW post_mview;\n",
    "creates": {"materialized_views": ["post_mview"]},
}


def test_an_index_on_a_column_the_failed_migration_adds_is_held_back(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(tmp_path, [POST, ACTIVITYPUB, INDEX_AP_ID])
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]  # the failure itself; not one for the index
    assert result.findings[0].migration == FAILED
    item = by_id(result)["add_ap_id_index"]
    assert (item["forward"], item["rollback"]) == ("skipped", "skipped")
    assert item["reason"] == (
        f"not replayed: it needs column public.post.ap_id, which {FAILED} should have made"
    )
    assert item["needs"] == [{"object": "column:public.post.ap_id", "from": FAILED}]


def test_drop_index_if_exists_needs_nothing_and_an_unrelated_table_replays(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(tmp_path, [POST, ACTIVITYPUB, REINDEX_POST, COMMUNITY])
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]
    items = by_id(result)
    for name in ("reindex_post", "create_community"):
        assert (items[name]["forward"], items[name]["round_trip"]) == ("ok", "ok"), items[name]
        assert "needs" not in items[name]
        assert "reason" not in items[name]
    assert items["reindex_post"]["changes"]["added"] == ["index:public.idx_post_creator"]


def test_what_follows_a_held_back_migration_and_needs_it_is_held_back_too(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(tmp_path, [POST, ACTIVITYPUB, POST_VIEW, POST_MVIEW, COMMUNITY])
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]
    items = by_id(result)
    view, mview = items["update_views_for_activitypub"], items["create_materialized_views"]
    assert view["forward"] == mview["forward"] == "skipped"
    # The view reads both columns the failed migration adds (and nothing else it lacks).
    assert sorted(view["needs"], key=lambda need: need["object"]) == [
        {"object": "column:public.post.ap_id", "from": FAILED},
        {"object": "column:public.post.local", "from": FAILED},
    ]
    maker = "2025-01-03_update_views_for_activitypub"
    assert mview["needs"] == [{"object": "view:public.post_view", "from": FAILED, "via": maker}]
    assert mview["reason"] == (
        f"not replayed: it needs view public.post_view, which {maker} should have made "
        f"(held back too, after {FAILED})"
    )
    assert items["create_community"]["round_trip"] == "ok"


def test_what_a_later_migration_makes_after_all_is_no_longer_owed(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    # The fix a team ships after a failed deploy: the column again, made so that it runs
    # whether or not the failed migration did.
    fix = {
        "name": "fix_ap_id",
        "up": """
            ALTER TABLE post ADD COLUMN IF NOT EXISTS ap_id character varying(255);
            DROP INDEX IF EXISTS idx_post_local;
            """,
        "down": "ALTER TABLE post DROP COLUMN ap_id;\n",
        "creates": {"columns": ["post.ap_id"]},
    }
    local_index = {
        "name": "add_local_index",
        "up": "CREATE INDEX idx_post_local_published ON post (local, published);\n",
        "down": "DROP INDEX idx_post_local_published;\n",
        "creates": {"indexes": ["idx_post_local_published"]},
    }
    project = make_project(tmp_path, [POST, ACTIVITYPUB, fix, INDEX_AP_ID, local_index])
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]
    items = by_id(result)
    assert items["fix_ap_id"]["round_trip"] == "ok"
    assert items["add_ap_id_index"]["round_trip"] == "ok"  # ap_id is there now
    # `local` is still owed: the index on it is held back, naming that column alone.
    assert items["add_local_index"]["needs"] == [
        {"object": "column:public.post.local", "from": FAILED}
    ]


def test_the_report_says_what_was_needed_and_from_whom(tmp_path: Path) -> None:
    make_project(tmp_path, [POST, ACTIVITYPUB, INDEX_AP_ID, POST_VIEW, POST_MVIEW, COMMUNITY])
    result = run("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [(f["code"], f["migration"]) for f in report["findings"]] == [("MG401", FAILED)]
    replayed = {item["migration"][11:]: item for item in report["replay"]}
    assert replayed["add_ap_id_index"]["needs"] == [
        {"object": "column:public.post.ap_id", "from": FAILED}
    ]
    assert replayed["create_materialized_views"]["needs"][0]["from"] == FAILED
    assert "needs" not in replayed["create_community"]
    text = run("verify", cwd=tmp_path)
    assert text.returncode == 1
    assert (
        "note: 2025-01-03_add_ap_id_index: not replayed: it needs column public.post.ap_id, "
        f"which {FAILED} should have made"
    ) in text.stdout
    assert (
        "note: 2025-01-05_create_materialized_views: not replayed: it needs view "
        "public.post_view, which 2025-01-04_update_views_for_activitypub should have made "
        f"(held back too, after {FAILED})"
    ) in text.stdout


@pytest.mark.parametrize(
    ("sql", "needs"),
    [
        ("DROP INDEX IF EXISTS idx_post_local", []),
        ("DROP INDEX idx_post_local", ["index:public.idx_post_local"]),
        ("DROP TRIGGER IF EXISTS post_tr ON post", []),
        ("ALTER TABLE IF EXISTS post ADD COLUMN featured boolean", []),
        (
            "ALTER TABLE post DROP COLUMN IF EXISTS ap_id, DROP CONSTRAINT post_ap_id_key",
            ["table:public.post", "constraint:public.post.post_ap_id_key"],
        ),
        ("ALTER TABLE post ADD COLUMN IF NOT EXISTS ap_id varchar(255)", ["table:public.post"]),
        ("ALTER INDEX IF EXISTS idx_post_local RENAME TO idx_post_is_local", []),
        (
            "CREATE INDEX idx_post_ap_id ON post (lower(ap_id)) WHERE local",
            ["table:public.post", "column:public.post.ap_id", "column:public.post.local"],
        ),
        (
            "ALTER TABLE post ADD CONSTRAINT idx_post_ap_id UNIQUE (ap_id)",
            ["table:public.post", "column:public.post.ap_id"],
        ),
        (
            "ALTER TABLE post ADD CONSTRAINT post_community_fkey FOREIGN KEY (community_id) "
            "REFERENCES community (id)",
            [
                "table:public.post",
                "table:public.community",
                "column:public.post.community_id",
                "column:public.community.id",
            ],
        ),
        (  # its own columns it does not need; the table it references it does
            "CREATE TABLE post_like (id int PRIMARY KEY, post_id int REFERENCES post (id),"
            " score smallint CHECK (score IN (-1, 1)))",
            ["table:public.post", "column:public.post.id"],
        ),
        (
            "ALTER TABLE post ALTER COLUMN ap_id SET NOT NULL",
            ["table:public.post", "column:public.post.ap_id"],
        ),
        (
            "ALTER TABLE post RENAME COLUMN ap_id TO activity_id",
            ["table:public.post", "column:public.post.ap_id"],
        ),
        (
            "UPDATE post SET ap_id = 'http://fake.com' WHERE local",
            ["table:public.post", "column:public.post.ap_id", "column:public.post.local"],
        ),
        (
            "INSERT INTO post (name, creator_id) VALUES ('a', 1)",
            ["table:public.post", "column:public.post.name", "column:public.post.creator_id"],
        ),
        (  # an output column's name is not the table's column; a join's columns are qualified
            "CREATE VIEW post_view AS SELECT p.id, c.name AS community_name FROM post p "
            "JOIN community c ON c.id = p.community_id ORDER BY community_name",
            [
                "table:public.post",
                "table:public.community",
                "column:public.post.id",
                "column:public.post.community_id",
                "column:public.community.id",
                "column:public.community.name",
            ],
        ),
        (
            "CREATE INDEX idx_post_community ON post (community_id) INCLUDE (published)",
            [
                "table:public.post",
                "column:public.post.community_id",
                "column:public.post.published",
            ],
        ),
        (  # a Supabase row-level-security policy on the row's owner
            "CREATE POLICY post_owner ON post FOR UPDATE USING (creator_id = auth.uid())",
            ["table:public.post", "column:public.post.creator_id"],
        ),
        (
            "CREATE TRIGGER post_updated BEFORE UPDATE OF name, body ON post FOR EACH ROW "
            "WHEN (OLD.url IS DISTINCT FROM NEW.url) EXECUTE FUNCTION set_updated()",
            [
                "table:public.post",
                "function:public.set_updated",
                "column:public.post.name",
                "column:public.post.body",
                "column:public.post.url",
            ],
        ),
        (
            "CREATE VIEW v AS SELECT id, hot AS rank FROM post ORDER BY rank",
            ["table:public.post", "column:public.post.id", "column:public.post.hot"],
        ),
    ],
)
def test_what_a_statement_needs(sql: str, needs: list[str]) -> None:
    [statement] = parse_text(sql).statements
    assert sorted(ref.key for ref in statement.needs) == sorted(needs)


def test_what_a_failed_rename_should_have_made_is_owed_under_its_new_name(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    # LemmyNet/lemmy's 2021 migration that renames user_ to person ("-- rename the user_
    # table to person"), its first statements: here the second view it drops is not
    # there, so it fails at once.
    user_ = {
        "name": "create_user",
        "up": """
            CREATE TABLE user_ (
                id serial PRIMARY KEY,
                name varchar(20) NOT NULL,
                published timestamp NOT NULL DEFAULT now()
            );
            CREATE VIEW user_alias_1 AS SELECT id, name FROM user_;
            """,
        "down": "DROP VIEW user_alias_1;\nDROP TABLE user_;\n",
        "creates": {"tables": ["user_"], "views": ["user_alias_1"]},
    }
    to_person = {
        "name": "rename_user_to_person",
        "up": """
            DROP VIEW user_alias_1, user_alias_2;
            ALTER TABLE user_ RENAME TO person;
            ALTER SEQUENCE user__id_seq RENAME TO person_id_seq;
            CREATE TABLE local_user (
                id serial PRIMARY KEY,
                person_id int REFERENCES person ON UPDATE CASCADE ON DELETE CASCADE NOT NULL,
                password_encrypted text NOT NULL
            );
            """,
        "down": "DROP TABLE local_user;\nALTER TABLE person RENAME TO user_;\n",
        "creates": {"tables": ["local_user"]},
    }
    later = {
        "name": "person_indexes",
        "up": """
            DROP VIEW IF EXISTS user_alias_2;
            CREATE INDEX idx_person_lower_name ON person (lower(name));
            ALTER TABLE local_user ADD COLUMN email_verified boolean DEFAULT FALSE NOT NULL;
            """,
        "down": "DROP INDEX idx_person_lower_name;\n",
        "creates": {"indexes": ["idx_person_lower_name"], "columns": ["local_user.email_verified"]},
    }
    project = make_project(tmp_path, [user_, to_person, later])
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]
    failed = "2025-01-02_rename_user_to_person"
    assert by_id(result)["person_indexes"]["needs"] == [
        {"object": "table:public.person", "from": failed},
        {"object": "table:public.local_user", "from": failed},
    ]
