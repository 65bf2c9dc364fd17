"""Snapshots read from real servers: every kind of object, what is left out, fixed query count."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.pq import TransactionStatus

from migdocs.objects import ObjectKind, ObjectRef
from migdocs.pg import ObjectId, ObjectState, Snapshot, Touched, diff, read_snapshot
from migdocs.pg.normalize import squeeze, unqualified

if TYPE_CHECKING:
    from collections.abc import Iterator

    from migdocs.pg import ScratchServer

#: Roles belong to the whole server: a name of our own, dropped after.
ROLE = f"migdocs_test_{secrets.token_hex(4)}"

#: A schema with every kind of object a snapshot holds.
SCHEMA_SQL = f"""
CREATE SCHEMA app;
CREATE EXTENSION citext;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN app.posint AS integer NOT NULL DEFAULT 1 CONSTRAINT positive CHECK (VALUE > 0);
CREATE TYPE app.pair AS (a int, b text);
CREATE TYPE app.frange AS RANGE (subtype = float8);
CREATE TABLE app.customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name varchar(100) COLLATE "C",
    mood app.mood DEFAULT 'ok',
    created timestamptz NOT NULL DEFAULT now(),
    score numeric(10,2) DEFAULT 0.5,
    born date DEFAULT '2000-01-01',
    n app.posint,
    login citext,
    up text GENERATED ALWAYS AS (upper(email)) STORED
);
CREATE TABLE app.orders (
    id serial PRIMARY KEY,
    customer_id bigint REFERENCES app.customers (id) ON DELETE CASCADE,
    total numeric(14,2) NOT NULL CHECK (total >= 0),
    status text DEFAULT 'new' CHECK (status IN ('new', 'paid')),
    created_at timestamp DEFAULT CURRENT_TIMESTAMP
);
ALTER TABLE app.orders ADD CONSTRAINT orders_customer_uniq UNIQUE (customer_id, id)
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE app.orders ADD CONSTRAINT big CHECK (total < 1000000) NOT VALID;
CREATE INDEX orders_cust ON app.orders (customer_id) WHERE status <> 'paid';
CREATE UNIQUE INDEX orders_lower ON app.orders (lower(status), id DESC NULLS LAST) INCLUDE (total);
CREATE VIEW app.happy AS SELECT id, email FROM app.customers WHERE mood = 'happy';
CREATE VIEW app.spend WITH (security_barrier) AS
    SELECT c.id, sum(o.total) AS total
    FROM app.customers c JOIN app.orders o ON o.customer_id = c.id GROUP BY c.id;
CREATE MATERIALIZED VIEW app.totals AS SELECT status, sum(total) AS total FROM app.orders
    GROUP BY status;
CREATE INDEX totals_status ON app.totals (status);
CREATE SEQUENCE app.counter START 10 INCREMENT 5;
CREATE FUNCTION app.total_of(cid bigint) RETURNS numeric LANGUAGE sql STABLE
    AS $$ SELECT sum(total) FROM app.orders WHERE customer_id = cid $$;
CREATE FUNCTION app.twice(a int) RETURNS int LANGUAGE sql IMMUTABLE RETURN a * 2;
CREATE PROCEDURE app.tidy(x int) LANGUAGE plpgsql SECURITY DEFINER SET search_path = app
    AS $$ BEGIN PERFORM 1; END $$;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := now();
    RETURN NEW;
END;
$$;
CREATE TRIGGER orders_touch BEFORE UPDATE OF status ON app.orders FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION app.touch();
CREATE AGGREGATE app.total_sum(int) (sfunc = int4pl, stype = int, initcond = '0');
ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON app.orders FOR SELECT USING (customer_id > 0);
CREATE TABLE app.events (id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE UNLOGGED TABLE app.cache (k text PRIMARY KEY, v text) WITH (fillfactor = 70);
GRANT USAGE ON SCHEMA app TO {ROLE};
GRANT SELECT ON app.orders TO {ROLE};
GRANT SELECT (email) ON app.customers TO {ROLE};
REVOKE EXECUTE ON FUNCTION app.total_of(bigint) FROM PUBLIC;
COMMENT ON TABLE app.orders IS 'Orders';
COMMENT ON COLUMN app.orders.total IS 'Total, tax included';
"""


@pytest.fixture(scope="module")
def role(pg_server: ScratchServer) -> Iterator[str]:
    """The test role, on the server of ``pg_server``."""
    with pg_server.connect("postgres") as conn:
        conn.execute(f"CREATE ROLE {ROLE}")
    yield ROLE
    with pg_server.connect("postgres") as conn:
        conn.execute(f"DROP ROLE {ROLE}")


@pytest.fixture(scope="module")
def schema(pg_server: ScratchServer, role: str) -> Snapshot:
    """The snapshot of ``SCHEMA_SQL``."""
    # As replay runs it: by postgres, the database's owner (a superuser on the external
    # server, none on the embedded one, whose superuser is migdocs_admin).
    url = pg_server.create_database(owner="postgres")
    with pg_server.connect(url) as conn:
        conn.execute("SET ROLE postgres")
        conn.execute(SCHEMA_SQL)
        snapshot = read_snapshot(conn)
    pg_server.drop_database(url)
    return snapshot


@pytest.mark.parametrize(
    ("key", "attribute", "expected"),
    [
        ("schema:app", "grants", (f"{ROLE}:USAGE",)),
        ("schema:app", "owner", "postgres"),
        ("extension:citext", "schema", "public"),
        ("table:app.orders", "row security", True),
        ("table:app.orders", "comment", "Orders"),
        ("table:app.orders", "grants", (f"{ROLE}:SELECT",)),
        ("table:app.cache", "persistence", "unlogged"),
        ("table:app.cache", "options", ("fillfactor=70",)),
        ("table:app.events", "partitioned by", "RANGE (at)"),
        ("table:app.events_2024", "inherits", ("app.events",)),
        (
            "table:app.events_2024",
            "partition bound",
            "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        ),
        ("column:app.customers.id", "identity", "always"),
        (
            "column:app.customers.id",
            "sequence",
            "bigint start 1 increment 1 min 1 max 9223372036854775807 cache 1",
        ),
        ("column:app.customers.email", "position", 2),
        ("column:app.customers.email", "grants", (f"{ROLE}:SELECT",)),
        ("column:app.customers.name", "type", "character varying(100)"),
        ("column:app.customers.name", "collation", '"C"'),
        ("column:app.customers.mood", "default", "'ok'::app.mood"),
        ("column:app.customers.score", "default", "0.5"),
        ("column:app.customers.born", "default", "'2000-01-01'::date"),
        ("column:app.customers.n", "type", "app.posint"),
        ("column:app.customers.login", "type", "public.citext"),
        ("column:app.customers.up", "generated", "upper(email) stored"),
        ("column:app.orders.id", "default", "nextval('app.orders_id_seq'::regclass)"),
        ("column:app.orders.total", "type", "numeric(14,2)"),
        ("column:app.orders.total", "not null", True),
        ("column:app.orders.total", "comment", "Total, tax included"),
        ("column:app.orders.created_at", "default", "CURRENT_TIMESTAMP"),
        (
            "constraint:app.orders.orders_total_check",
            "definition",
            "CHECK ((total >= (0)::numeric))",
        ),
        (
            "constraint:app.orders.big",
            "definition",
            "CHECK ((total < (1000000)::numeric)) NOT VALID",
        ),
        (
            "constraint:app.orders.orders_customer_id_fkey",
            "definition",
            "FOREIGN KEY (customer_id) REFERENCES app.customers(id) ON DELETE CASCADE",
        ),
        (
            "constraint:app.orders.orders_customer_uniq",
            "definition",
            "UNIQUE (customer_id, id) DEFERRABLE INITIALLY DEFERRED",
        ),
        ("constraint:app.customers.customers_email_key", "definition", "UNIQUE (email)"),
        (
            "index:app.orders_cust",
            "definition",
            "CREATE INDEX orders_cust ON app.orders USING btree (customer_id)"
            " WHERE (status <> 'paid'::text)",
        ),
        (
            "index:app.orders_lower",
            "definition",
            "CREATE UNIQUE INDEX orders_lower ON app.orders"
            " USING btree (lower(status), id DESC NULLS LAST) INCLUDE (total)",
        ),
        ("index:app.totals_status", "valid", True),
        (
            "view:app.happy",
            "definition",
            "SELECT id, email FROM app.customers WHERE (mood = 'happy'::app.mood);",
        ),
        ("view:app.spend", "options", ("security_barrier=true",)),
        (
            "matview:app.totals",
            "definition",
            "SELECT status, sum(total) AS total FROM app.orders GROUP BY status;",
        ),
        ("sequence:app.counter", "start", 10),
        ("sequence:app.counter", "increment", 5),
        ("type:app.mood", "labels", ("sad", "ok", "happy")),
        ("type:app.posint", "base type", "integer"),
        ("type:app.posint", "not null", True),
        ("type:app.posint", "default", "1"),
        ("type:app.posint", "constraints", ("positive CHECK ((VALUE > 0))",)),
        ("type:app.pair", "attributes", ("a integer", "b text")),
        ("type:app.frange", "subtype", "double precision"),
        ("function:app.total_of(bigint)", "revoked", ("PUBLIC:EXECUTE",)),
        ("function:app.total_of(bigint)", "volatility", "stable"),
        (
            "function:app.total_of(bigint)",
            "body",
            "SELECT sum(total) FROM app.orders WHERE customer_id = cid",
        ),
        ("function:app.twice(integer)", "body", "RETURN (a * 2)"),
        (
            "function:app.touch()",
            "body",
            "BEGIN\n    NEW.created_at := now();\n    RETURN NEW;\nEND;",
        ),
        ("function:app.tidy(integer)", "kind", "procedure"),
        ("function:app.tidy(integer)", "security definer", True),
        ("function:app.tidy(integer)", "settings", ("search_path=app",)),
        ("function:app.total_sum(integer)", "aggregate", "sfunc=int4pl stype=integer initcond=0"),
        (
            "trigger:app.orders.orders_touch",
            "definition",
            "CREATE TRIGGER orders_touch BEFORE UPDATE OF status ON app.orders FOR EACH ROW"
            " WHEN ((old.status IS DISTINCT FROM new.status)) EXECUTE FUNCTION app.touch()",
        ),
        ("policy:app.orders.own", "command", "SELECT"),
        ("policy:app.orders.own", "using", "(customer_id > 0)"),
        ("policy:app.orders.own", "roles", ("PUBLIC",)),
    ],
)
def test_snapshot_reads_every_kind(
    schema: Snapshot, key: str, attribute: str, expected: object
) -> None:
    assert schema[key].attrs[attribute] == expected


@pytest.mark.parametrize(
    "key",
    [
        "index:app.orders_pkey",  # behind the primary key: the constraint's
        "index:app.customers_email_key",  # behind a unique constraint
        "sequence:app.orders_id_seq",  # a serial's: the column's
        "sequence:app.customers_id_seq",  # an identity's
        "constraint:app.orders.orders_total_not_null",  # PostgreSQL 18's NOT NULL
        "type:app.customers",  # a table's row type
        "type:app._mood",  # an array type
        "type:app.fmultirange",  # a range's multirange
        "function:app.frange(double precision, double precision)",  # a range's constructor
        "type:public.citext",  # an extension's own
        "schema:migdocs_capture",
    ],
)
def test_snapshot_leaves_out_what_belongs_to_something_else(schema: Snapshot, key: str) -> None:
    assert key not in schema


def test_snapshot_has_no_object_of_an_extension(schema: Snapshot) -> None:
    assert [key for key in schema if "citext" in key] == ["extension:citext"]


def test_same_schema_on_postgresql_15_and_18(
    embedded_server: ScratchServer, external_server: ScratchServer
) -> None:
    snapshots = []
    for server in (embedded_server, external_server):
        url = server.create_database(owner="postgres")
        with server.connect("postgres") as conn:
            conn.execute(f"CREATE ROLE {ROLE}_v")
        try:
            with server.connect(url) as conn:
                conn.execute("SET ROLE postgres")
                conn.execute(SCHEMA_SQL.replace(ROLE, f"{ROLE}_v"))
                snapshots.append(read_snapshot(conn))
        finally:
            server.drop_database(url)
            with server.connect("postgres") as conn:
                conn.execute(f"DROP ROLE {ROLE}_v")
    differences = diff(*snapshots)
    assert [d.describe() for d in differences] == []
    assert len(snapshots[0]) > 50


def test_schema_filters(pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(
            "CREATE SCHEMA a; CREATE SCHEMA b; CREATE TABLE a.t (id int); CREATE TABLE b.t (id int)"
        )
        only_a = read_snapshot(conn, schemas=["a"])
        not_a = read_snapshot(conn, exclude_schemas=["a"])
    assert list(only_a) == ["column:a.t.id", "schema:a", "table:a.t"]
    assert "table:b.t" in not_a
    assert "schema:public" in not_a
    assert not [key for key in not_a if ":a." in key or key == "schema:a"]


def test_snapshot_inside_an_open_transaction(pg_database: str) -> None:
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE TABLE pending (id int)")
        assert "table:public.pending" in read_snapshot(conn)
        assert conn.info.transaction_status == TransactionStatus.INTRANS
        conn.rollback()
        assert "table:public.pending" not in read_snapshot(conn)


def test_snapshot_prepares_its_queries_again_when_they_are_gone(pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)")
        first = read_snapshot(conn)
        conn.execute("DISCARD ALL")  # what a migration or a pooler may do
        assert read_snapshot(conn) == first


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "in-transaction"])
def test_partial_reads_survive_their_statements_being_deallocated(
    pg_database: str, in_transaction: bool
) -> None:
    with psycopg.connect(pg_database, autocommit=not in_transaction) as conn:
        conn.execute("CREATE TABLE t (id int)")
        oid = conn.execute("SELECT 't'::regclass::oid").fetchone()
        assert oid is not None
        touched = Touched(frozenset({ObjectId("pg_class", oid[0])}))
        first = read_snapshot(conn, only=touched)
        read_snapshot(conn, only=touched)  # the quick way, now that all is prepared
        conn.execute("DEALLOCATE ALL")  # what a migration may do, in a transaction too
        again = read_snapshot(conn, only=touched)
        status = conn.info.transaction_status
        conn.execute("ALTER TABLE t ADD COLUMN v int")  # the session still works
        after = read_snapshot(conn, only=touched)
    assert again == first
    assert "column:public.t.v" in after
    assert status == (TransactionStatus.INTRANS if in_transaction else TransactionStatus.IDLE)


class CountingCursor(psycopg.Cursor[Any]):
    """Counts the statements a connection executes."""

    executed = 0

    def execute(self, *args: Any, **kwargs: Any) -> CountingCursor:
        CountingCursor.executed += 1
        super().execute(*args, **kwargs)
        return self


def _tables(count: int) -> str:
    statements = ["CREATE SCHEMA s; CREATE TYPE s.color AS ENUM ('red');"]
    for i in range(count):
        statements.append(
            f"CREATE TABLE s.t{i} (id serial PRIMARY KEY, c s.color, v text CHECK (v <> ''));"
            f"CREATE INDEX ON s.t{i} (v); CREATE VIEW s.v{i} AS SELECT id FROM s.t{i};"
            f"CREATE FUNCTION s.f{i}() RETURNS int LANGUAGE sql AS 'SELECT {i}';"
            f"CREATE POLICY p ON s.t{i} USING (true);"
        )
    return "\n".join(statements)


@pytest.mark.parametrize("tables", [1, 40])
def test_query_count_does_not_grow_with_the_schema(pg_server: ScratchServer, tables: int) -> None:
    url = pg_server.create_database()
    try:
        with psycopg.connect(url, autocommit=True, cursor_factory=CountingCursor) as conn:
            conn.execute(_tables(tables))
            oids = [row[0] for row in conn.execute("SELECT oid FROM pg_class").fetchall()]
            counts = []
            touched = Touched(frozenset(ObjectId("pg_class", oid) for oid in oids[:tables]))
            for only in (None, touched, None, touched):
                CountingCursor.executed = 0
                snapshot = read_snapshot(conn, only=only)
                counts.append(CountingCursor.executed)
            assert len(snapshot) >= tables
    finally:
        pg_server.drop_database(url)
    assert counts == EXPECTED_QUERIES


#: Statements of a full read and of a partial one, whatever the schema's size: the first
#: ones on a connection also prepare their queries (in one batch, after listing what the
#: session has); a partial read of tables only asks the six queries of what tables hold,
#: and once they are prepared, sends them in two batches (opening and resolving, then the
#: queries and the rollback).
EXPECTED_QUERIES = [14, 10, 12, 2]


def test_partial_reads_and_patching_rules(pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        full = read_snapshot(conn)
        nothing = read_snapshot(conn, only=Touched())
    assert nothing.partial
    assert len(nothing) == 0
    assert full.patched(nothing) == full
    with pytest.raises(ValueError, match="only="):
        full.patched(full)


def test_every_object_is_under_its_own_key(schema: Snapshot) -> None:
    for key in schema:
        assert schema[key].ref.key == key
        assert schema.ref(key) == schema[key].ref
        assert schema.ref(key).parent == schema[key].ref.parent


def test_states_made_by_hand_compare_with_states_read(schema: Snapshot) -> None:
    copied = Snapshot(ObjectState(schema[key].ref, dict(schema[key].attrs)) for key in schema)
    assert copied == schema
    assert schema == copied
    assert all(schema.unchanged(key, copied) for key in schema)
    changed = dict(copied["table:app.orders"].attrs, comment="Not orders")
    altered = Snapshot(
        [*(copied[key] for key in copied if key != "table:app.orders")],
    )
    assert altered != schema
    altered = Snapshot(
        [
            *(copied[key] for key in copied if key != "table:app.orders"),
            ObjectState(copied["table:app.orders"].ref, changed),
        ]
    )
    assert not altered.unchanged("table:app.orders", schema)
    assert not schema.unchanged("table:app.orders", altered)
    assert [d.describe() for d in diff(schema, altered)] == [
        "table app.orders: comment Orders → Not orders"
    ]


def test_a_subset_keeps_what_it_names(schema: Snapshot) -> None:
    keys = ["table:app.orders", "column:app.orders.total", "table:app.nothing"]
    part = schema.subset(keys)
    assert list(part) == ["column:app.orders.total", "table:app.orders"]
    assert not part.partial
    assert part["column:app.orders.total"] == schema["column:app.orders.total"]
    assert part.unchanged("table:app.orders", schema)


@pytest.fixture
def big_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every full read of a database counts as big: it takes a second connection."""
    monkeypatch.setattr("migdocs.pg.reader.SECOND_CONNECTION_CATALOG", 0)


def _connection_count(conn: psycopg.Connection[Any]) -> int:
    """The sessions on the connection's database, once those closed have had 5 s to end."""
    deadline = time.monotonic() + 5
    while True:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchone()
        assert row is not None
        if row[0] == 1 or time.monotonic() > deadline:
            return int(row[0])
        time.sleep(0.05)


def _schema_database(pg_server: ScratchServer, role: str) -> str:
    url = pg_server.create_database()
    with pg_server.connect(url) as conn:
        conn.execute(SCHEMA_SQL)
    return url


def test_a_big_read_on_two_connections_is_the_same_read(
    pg_server: ScratchServer, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _schema_database(pg_server, role)
    try:
        with psycopg.connect(url, autocommit=True, cursor_factory=CountingCursor) as conn:
            alone = read_snapshot(conn)
            monkeypatch.setattr("migdocs.pg.reader.SECOND_CONNECTION_CATALOG", 0)
            CountingCursor.executed = 0
            together = read_snapshot(conn)
            asked_together = CountingCursor.executed
            # The second connection has come and gone.
            assert _connection_count(conn) == 1
    finally:
        pg_server.drop_database(url)
    assert together == alone
    assert {key: together[key] for key in together} == {key: alone[key] for key in alone}
    # Two queries went to the other connection; one statement exported the snapshot.
    assert asked_together == EXPECTED_QUERIES[2] - 2 + 1


def test_a_second_connection_sees_the_same_snapshot(
    pg_server: ScratchServer, pg_database: str, big_read: None
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)")
        conn.execute("CREATE INDEX t_id ON t (id)")
        before = read_snapshot(conn)
        conn.execute("CREATE INDEX t_id_2 ON t (id)")
        after = read_snapshot(conn)
    assert "index:public.t_id" in before
    assert "index:public.t_id_2" not in before
    assert "index:public.t_id_2" in after


def test_a_read_in_an_open_transaction_takes_no_second_connection(
    pg_database: str, big_read: None
) -> None:
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE TABLE pending (id int)")
        conn.execute("CREATE INDEX pending_id ON pending (id)")
        snapshot = read_snapshot(conn)  # another session could not see them
        conn.rollback()
    assert "table:public.pending" in snapshot
    assert "index:public.pending_id" in snapshot


def test_a_refused_second_connection_leaves_the_read_to_the_first(
    pg_server: ScratchServer, role: str, big_read: None
) -> None:
    url = _schema_database(pg_server, role)
    lonely = f"{role}_lonely"
    with pg_server.connect("postgres") as admin:
        admin.execute(f"CREATE ROLE {lonely} LOGIN CONNECTION LIMIT 1")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            expected = read_snapshot(conn)
        with psycopg.connect(
            make_conninfo(url, user=lonely), autocommit=True, cursor_factory=CountingCursor
        ) as conn:
            CountingCursor.executed = 0
            snapshot = read_snapshot(conn)
            asked = CountingCursor.executed
    finally:
        pg_server.drop_database(url)
        with pg_server.connect("postgres") as admin:
            admin.execute(f"DROP ROLE {lonely}")
    assert snapshot == expected
    # All of a full first read, plus the export: the refused queries ran here.
    assert asked == EXPECTED_QUERIES[0] + 1


def test_snapshot_is_a_sorted_immutable_mapping() -> None:
    states = [
        ObjectState(ObjectRef(ObjectKind.TABLE, "public", "b"), {"owner": "x"}),
        ObjectState(ObjectRef(ObjectKind.TABLE, "public", "a"), {"owner": "x"}),
    ]
    snapshot = Snapshot(states)
    assert list(snapshot) == ["table:public.a", "table:public.b"]
    assert snapshot == Snapshot(reversed(states))
    assert snapshot != Snapshot(states[:1])
    assert "table:public.a" in snapshot
    assert len(snapshot) == 2
    assert repr(snapshot) == "<Snapshot of 2 objects>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  SELECT a,\n    b\n   FROM t;  ", "SELECT a, b FROM t;"),
        ("SELECT 'a  b',\n\t\"x  y\"", "SELECT 'a  b', \"x  y\""),
        ("SELECT 'it''s   ok'", "SELECT 'it''s   ok'"),
        ("", ""),
    ],
)
def test_squeeze(text: str, expected: str) -> None:
    assert squeeze(text) == expected


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (
            " SELECT orders.id, orders.total FROM app.orders WHERE (orders.total > 0);",
            " SELECT id, total FROM app.orders WHERE (total > 0);",
        ),
        (
            " SELECT o.id FROM app.orders o WHERE (o.id = ( SELECT max(o2.id) FROM app.orders o2 "
            "WHERE (o2.customer_id = o.customer_id)));",
            " SELECT id FROM app.orders o WHERE (id = ( SELECT max(o2.id) FROM app.orders o2 "
            "WHERE (o2.customer_id = o.customer_id)));",
        ),
        (
            " SELECT c.id, o.id FROM (app.customers c JOIN app.orders o ON ((o.cid = c.id)));",
            " SELECT c.id, o.id FROM (app.customers c JOIN app.orders o ON ((o.cid = c.id)));",
        ),
        (
            " SELECT t.a FROM app.t UNION SELECT t.a FROM app.t;",
            " SELECT t.a FROM app.t UNION SELECT t.a FROM app.t;",
        ),
        (
            ' SELECT \'é\'::text AS "Ü", "T".x FROM app."T";',
            ' SELECT \'é\'::text AS "Ü", x FROM app."T";',
        ),
        ("not sql", "not sql"),
    ],
    ids=["one-table", "subquery-kept", "join-kept", "union-kept", "quoted-non-ascii", "unparsable"],
)
def test_view_definitions_of_15_read_as_16_prints_them(definition: str, expected: str) -> None:
    assert unqualified(definition) == expected


def test_owned_by_gives_a_role_s_objects_and_their_owner_s_acl_items_to_another(
    pg_database: str, pg_server: ScratchServer
) -> None:
    with pg_server.connect(pg_database) as conn:
        conn.execute(
            """
            CREATE TABLE t (id int, email text);
            REVOKE TRUNCATE, UPDATE ON t FROM CURRENT_USER;
            GRANT UPDATE (email) ON t TO CURRENT_USER;
            GRANT SELECT ON t TO PUBLIC;
            CREATE TABLE u (id int);
            CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
            REVOKE EXECUTE ON FUNCTION f() FROM PUBLIC;
            """
        )
        snapshot = read_snapshot(conn)
        row = conn.execute("SELECT current_user").fetchone()
    assert row is not None
    me = row[0]
    moved = snapshot.owned_by(me, "app", ["table:public.t", "function:public.f()", "table:nope"])
    table = moved["table:public.t"].attrs
    assert (table["owner"], table["revoked"]) == ("app", ("app:TRUNCATE", "app:UPDATE"))
    assert table["grants"] == ("PUBLIC:SELECT",)  # another role's item stays
    assert moved["column:public.t.email"].attrs["grants"] == ("app:UPDATE",)
    function = moved["function:public.f()"].attrs
    assert (function["owner"], function["revoked"]) == ("app", ("PUBLIC:EXECUTE",))
    assert moved["table:public.u"].attrs["owner"] == me  # not asked for
    assert moved.attribute("table:public.t", "owner") == "app"
    assert snapshot["table:public.t"].attrs["owner"] == me  # the original is as it was
    # Made by hand, the same.
    by_hand = Snapshot(snapshot[key] for key in snapshot).owned_by(me, "app", ["table:public.t"])
    assert by_hand["table:public.t"] == moved["table:public.t"]
    assert by_hand["column:public.t.email"] == moved["column:public.t.email"]
    # Another owner's objects are not moved.
    assert snapshot.owned_by("someone_else", "app", ["table:public.t"]) == snapshot
