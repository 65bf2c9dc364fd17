"""The schema reference: one page per table, as tbls and SchemaSpy show a table — columns in
table order with types as PostgreSQL prints them, keys and their targets, constraints, index
definitions, comments, the table's history by migration, and a one-hop ER diagram."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import pytest

from migdocs.site.schema_model import TableReader, type_name
from runner_kit import SITE_BUILD, environment, migdocs

ROOT = Path(__file__).resolve().parent.parent

# Modelled on Lemmy's migrations (github.com/LemmyNet/lemmy, migrations/):
# 2019-02-26-002946_create_user, 2019-02-27-170003_create_community,
# 2019-03-03-163336_create_post and 2021-03-09-171136_split_user_table_2 (`user_` renamed to
# `person`), with Prisma's `timestamp(6)` for `published` and a partial unique index on posts.
MIGRATIONS = {
    "2019-02-26_create_user": """\
create table user_ (
  id serial primary key,
  name varchar(20) not null,
  fedi_name varchar(40) not null,
  password_encrypted text not null,
  email text unique,
  admin boolean default false not null,
  published timestamp(6) not null default now(),
  unique(name, fedi_name)
);
""",
    "2019-02-27_create_community": """\
create table community (
  id serial primary key,
  name varchar(50) not null unique,
  title varchar(100) not null,
  creator_id int references user_ on update cascade on delete cascade not null,
  published timestamp(6) not null default now()
);

create table community_moderator (
  id serial primary key,
  community_id int references community on update cascade on delete cascade not null,
  user_id int references user_ on update cascade on delete cascade not null,
  published timestamp(6) not null default now()
);
""",
    "2019-03-03_create_post": """\
create table post (
  id serial primary key,
  name varchar(100) not null,
  url text,
  creator_id int references user_ on update cascade on delete cascade not null,
  community_id int references community on update cascade on delete cascade not null,
  deleted boolean default false not null,
  published timestamp(6) not null default now()
);

create index idx_post_creator on post (creator_id);
create unique index idx_post_name_live on post (community_id, lower(name)) where not deleted;
""",
    "2021-03-09_split_user_table": """\
alter table user_ rename to person;
alter table person rename column fedi_name to actor_id;
alter table post add column nsfw boolean default false not null;
drop table community_moderator;
comment on table person is 'A <b>person</b> | who | posts';
comment on column person.actor_id is 'The ActivityPub id';
""",
}
ROLLBACKS = {
    "2019-02-26_create_user": "drop table user_;\n",
    "2019-02-27_create_community": "drop table community_moderator;\ndrop table community;\n",
    "2019-03-03_create_post": "drop table post;\n",
    "2021-03-09_split_user_table": """\
create table community_moderator (
  id serial primary key,
  community_id int references community on update cascade on delete cascade not null,
  user_id int references person on update cascade on delete cascade not null,
  published timestamp(6) not null default now()
);
alter table post drop column nsfw;
alter table person rename column actor_id to fedi_name;
alter table person rename to user_;
""",
}
DECLARED = {
    "2019-02-26_create_user": "creates: {tables: [user_]}",
    "2019-02-27_create_community": "creates: {tables: [community, community_moderator]}",
    "2019-03-03_create_post": "creates: {tables: [post], indexes: [idx_post_creator]}",
    "2021-03-09_split_user_table": "creates: {columns: [post.nsfw]}",
}


def _project(root: Path) -> None:
    (root / "migrations" / "rollbacks").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# Home\n")
    config = (ROOT / "mkdocs.yml").read_text().split("\nnav:\n")[0]
    (root / "mkdocs.yml").write_text(config + "\nnav:\n  - index.md\n")
    lines = ["version: 1", "project: {name: Forum}", "migrations:"]
    for ident, sql in MIGRATIONS.items():
        day = ident[:10]
        (root / "migrations" / f"{ident}.sql").write_text(sql)
        rollback = f"{ident}_down.sql"
        (root / "migrations" / "rollbacks" / rollback).write_text(ROLLBACKS[ident])
        lines += [
            f"  - id: {ident}",
            f"    date: {day}",
            f"    title: {ident[11:].replace('_', ' ').capitalize()}",
            "    purpose: As Lemmy's migration of that name.",
            f"    {DECLARED[ident]}",
            f"    rollback: {{file: {rollback}, risk: critical, impact: [data-loss],",
            "               summary: undoes it}",
            f"    reviewed: {{date: {day}, by: me}}",
        ]
    (root / "catalog.yaml").write_text("\n".join(lines) + "\n")


def _build(root: Path, out: str) -> Path:
    result = migdocs(
        "build", "--site-dir", str(root / out), cwd=root, env=environment(**SITE_BUILD)
    )
    assert result.returncode == 0, result.stderr
    return root / out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("forum")
    _project(root)
    return _build(root, "out")


def _article(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    return text[text.index("<article") : text.index("</article>")]


def _rows(article: str, heading: str) -> list[list[str]]:
    """The rows of the first table after a heading, as the text of their cells."""
    start = article.index(f">{heading}<")
    table = article[article.index("<tbody>", start) : article.index("</tbody>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
        ]
        for row in rows
    ]


def test_a_table_page_lists_columns_in_table_order_as_postgresql_prints_them(site: Path) -> None:
    article = _article(site / "history/schema/tables/public.person/index.html")
    assert '<h1 id="publicperson">public.person' in article
    columns = _rows(article, "Columns")
    assert [row[1] for row in columns] == [
        "id",
        "name",
        "actor_id",
        "password_encrypted",
        "email",
        "admin",
        "published",
    ]
    by_name = {row[1]: row for row in columns}
    assert by_name["id"][2:6] == ["integer", "NOT NULL", "nextval('user__id_seq'::regclass)", "PK"]
    assert by_name["name"][2:4] == ["character varying(20)", "NOT NULL"]
    assert by_name["email"][2:5] == ["text", "NULL", ""]
    assert by_name["admin"][4] == "false"
    assert by_name["published"][2:5] == ["timestamp(6) without time zone", "NOT NULL", "now()"]
    assert by_name["actor_id"][6] == "The ActivityPub id"
    # The diagram's sanitized type stays in the diagram.
    assert "timestamp_6_" not in "".join("".join(row) for row in columns)
    # A comment is text: escaped, pipes and all.
    assert "<b>person" not in article
    assert "<p>A <b>person</b> | who | posts</p>" in html.unescape(article)


def test_a_table_page_links_foreign_keys_and_shows_full_index_definitions(site: Path) -> None:
    article = _article(site / "history/schema/tables/public.post/index.html")
    columns = {row[1]: row for row in _rows(article, "Columns")}
    assert list(columns)[-1] == "nsfw"  # added last
    assert columns["creator_id"][5] == "FK → person.id"
    assert columns["community_id"][5] == "FK → community.id"
    # The targets link to their tables' pages.
    assert '<a href="../public.person/">person.id</a>' in article
    assert '<a href="../public.community/">community.id</a>' in article
    constraints = {row[0]: row[1:] for row in _rows(article, "Constraints")}
    assert constraints["post_creator_id_fkey"] == [
        "FOREIGN KEY",
        "FOREIGN KEY (creator_id) REFERENCES person(id) ON UPDATE CASCADE ON DELETE CASCADE",
    ]
    assert constraints["post_pkey"] == ["PRIMARY KEY", "PRIMARY KEY (id)"]
    indexes = {row[0]: row[1] for row in _rows(article, "Indexes")}
    assert indexes == {
        "idx_post_creator": "CREATE INDEX idx_post_creator ON public.post USING btree (creator_id)",
        "idx_post_name_live": "CREATE UNIQUE INDEX idx_post_name_live ON public.post "
        "USING btree (community_id, (lower(name))) WHERE (NOT deleted)",
        "post_pkey": "CREATE UNIQUE INDEX post_pkey ON public.post USING btree (id)",
    }
    community = _article(site / "history/schema/tables/public.community/index.html")
    indexes = {row[0]: row[1] for row in _rows(community, "Indexes")}
    assert indexes["community_name_key"] == (
        "CREATE UNIQUE INDEX community_name_key ON public.community USING btree (name)"
    )


def test_a_table_page_has_its_history_with_links(site: Path) -> None:
    article = _article(site / "history/schema/tables/public.person/index.html")
    history = _rows(article, "History")
    assert history == [
        ["2019-02-26_create_user", "created"],
        ["2021-03-09_split_user_table", "renamed from user_"],
        ["2021-03-09_split_user_table", "column fedi_name renamed to actor_id"],
        ["2021-03-09_split_user_table", "comment set"],
        ["2021-03-09_split_user_table", "comment on column actor_id set"],
    ]
    assert '<a href="../../../migrations/2019-02-26_create_user/">' in article
    post = _rows(_article(site / "history/schema/tables/public.post/index.html"), "History")
    assert ["2021-03-09_split_user_table", "column nsfw added"] in post
    assert ["2019-03-03_create_post", "index idx_post_name_live created"] in post
    # A dropped table leaves its trace on the index: who made it, who dropped it.
    index = _article(site / "history/schema/index.html")
    assert _rows(index, "Dropped tables") == [
        [
            "public.community_moderator",
            "2019-02-27_create_community",
            "2021-03-09_split_user_table",
            "—",
        ],
    ]
    assert not (site / "history/schema/tables/public.community_moderator").exists()


def test_a_table_page_draws_its_one_hop_er_diagram(site: Path) -> None:
    article = _article(site / "history/schema/tables/public.post/index.html")
    diagram = html.unescape(re.search(r"erDiagram\n(.*?)</", article, re.DOTALL).group(1))
    assert diagram.splitlines() == [
        "    public_post {",
        "        integer id PK",
        "        character_varying_100_ name",
        "        text url",
        "        integer creator_id FK",
        "        integer community_id FK",
        "        boolean deleted",
        "        timestamp_6__without_time_zone published",
        "        boolean nsfw",
        "    }",
        "    public_community {",
        "        integer id PK",
        "        integer creator_id FK",
        "    }",
        "    public_person {",
        "        integer id PK",
        "    }",
        "    public_community ||--o{ public_post : post_community_id_fkey",
        "    public_person ||--o{ public_post : post_creator_id_fkey",
    ]
    # The overview diagram marks keys too.
    overview = html.unescape(_article(site / "history/schema/index.html"))
    assert "integer creator_id FK" in overview
    assert "person ||--o{ community : community_creator_id_fkey" in overview


def test_objects_on_a_migration_page_link_to_their_table(site: Path) -> None:
    article = _article(site / "history/migrations/2019-03-03_create_post/index.html")
    assert '<a href="../../schema/tables/public.post/"><code>post</code></a>' in article
    # An index links to the page of its table.
    assert '<a href="../../schema/tables/public.post/"><code>idx_post_creator</code></a>' in article


def test_two_builds_are_identical(site: Path) -> None:
    again = _build(site.parent, "again")
    digest = {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in (site,)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    other = {
        str(path.relative_to(again)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(again.rglob("*"))
        if path.is_file()
    }
    assert digest == other


@pytest.mark.parametrize(
    ("sql", "printed"),
    [
        ("int", "integer"),
        ("bigint", "bigint"),
        ("smallserial", "smallint"),
        ("varchar(50)", "character varying(50)"),
        ("char(2)", "character(2)"),
        ("numeric(10, 2)", "numeric(10,2)"),
        ("timestamp(6)", "timestamp(6) without time zone"),
        ("timestamptz", "timestamp with time zone"),
        ("time with time zone", "time with time zone"),
        ("double precision", "double precision"),
        ("bool", "boolean"),
        ("text[]", "text[]"),
        ('"Role"', '"Role"'),
        ("auth.user_role", "auth.user_role"),
    ],
)
def test_types_are_printed_as_postgresql_prints_them(sql: str, printed: str) -> None:
    import pglast

    column = pglast.parse_sql(f"CREATE TABLE t (c {sql})")[0].stmt.tableElts[0]
    assert type_name(column.typeName) == printed


def test_renaming_an_index_or_dropping_a_column_follows_the_table() -> None:
    import pglast

    reader = TableReader()
    reader.migration = "m1"
    sql = """
        create table t (a int, b int, c int);
        create index t_b on t (b);
        create unique index t_c on t (c) where a > 0;
        alter index t_b rename to t_b_idx;
        alter table t drop column c;
    """
    for raw in pglast.parse_sql(sql):
        reader.read(raw.stmt)
    table = reader.tables[("public", "t")]
    assert list(table.columns) == ["a", "b"]
    assert list(table.indexes) == ["t_b_idx"]
    assert [c.what for c in table.history][-2:] == [
        "index t_b renamed to t_b_idx",
        "column c dropped",
    ]
