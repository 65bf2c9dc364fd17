"""DDL capture: a snapshot patched with what each step touched equals a full re-read."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from migdocs.pg import (
    CAPTURE_SCHEMA,
    CaptureUnavailable,
    diff,
    install_capture,
    read_snapshot,
    remove_capture,
    take_touched,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from migdocs.pg import ScratchServer

ROLE = f"migdocs_capture_{secrets.token_hex(4)}"

#: Steps as a migration history runs them, one statement (or script) at a time.
STEPS = [
    "CREATE SCHEMA app",
    "CREATE TABLE app.customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " email text NOT NULL, last_name text)",
    "CREATE TABLE app.orders (id serial PRIMARY KEY,"
    " customer_id bigint REFERENCES app.customers (id), total numeric(14,2))",
    "ALTER TABLE app.orders ALTER COLUMN total TYPE numeric(12,3)",
    "CREATE INDEX customers_last_name_idx ON app.customers (last_name)",
    "CREATE INDEX CONCURRENTLY orders_total_idx ON app.orders (total)",
    "DROP INDEX app.customers_last_name_idx",
    "ALTER INDEX app.orders_total_idx RENAME TO orders_amount_idx",
    "ALTER TABLE app.customers RENAME TO clients",
    "ALTER TABLE app.clients RENAME COLUMN id TO client_id",
    "ALTER TABLE app.orders ADD CONSTRAINT total_positive CHECK (total > 0)",
    "ALTER TABLE app.orders RENAME CONSTRAINT total_positive TO total_above_zero",
    "ALTER TABLE app.orders DROP CONSTRAINT total_above_zero",
    "CREATE UNIQUE INDEX clients_email_idx ON app.clients (email)",
    "ALTER TABLE app.clients ADD CONSTRAINT clients_email_key UNIQUE USING INDEX clients_email_idx",
    "CREATE TYPE app.status AS ENUM ('new', 'paid')",
    "ALTER TYPE app.status ADD VALUE 'shipped'",
    "ALTER TABLE app.orders ADD COLUMN status app.status DEFAULT 'new'",
    "ALTER TYPE app.status RENAME VALUE 'new' TO 'fresh'",
    "ALTER TYPE app.status RENAME TO order_status",
    "CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'",
    "CREATE OR REPLACE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql"
    " AS 'BEGIN NEW.total := 1; RETURN NEW; END'",
    "CREATE TRIGGER orders_touch BEFORE INSERT ON app.orders FOR EACH ROW"
    " EXECUTE FUNCTION app.touch()",
    "ALTER FUNCTION app.touch() RENAME TO touch_row",
    "ALTER TABLE app.orders DISABLE TRIGGER orders_touch",
    "CREATE VIEW app.big_orders AS SELECT id, total FROM app.orders WHERE total > 100",
    "CREATE VIEW app.biggest AS SELECT max(total) AS top FROM app.big_orders",
    "ALTER TABLE app.orders RENAME COLUMN total TO amount",
    "ALTER VIEW app.big_orders RENAME TO large_orders",
    "CREATE SEQUENCE app.invoice_no START 1000",
    "ALTER TABLE app.orders ADD COLUMN invoice bigint DEFAULT nextval('app.invoice_no')",
    "ALTER SEQUENCE app.invoice_no RENAME TO invoice_seq",
    "ALTER SEQUENCE app.invoice_seq INCREMENT BY 10",
    "ALTER TABLE app.clients ALTER COLUMN client_id SET MAXVALUE 1000000",
    "COMMENT ON TABLE app.orders IS 'Orders'",
    "COMMENT ON COLUMN app.orders.amount IS 'Amount'",
    "COMMENT ON INDEX app.orders_amount_idx IS 'For reports'",
    f"GRANT SELECT ON app.orders TO {ROLE}",
    f"GRANT UPDATE (amount) ON app.orders TO {ROLE}",
    f"GRANT USAGE ON SCHEMA app TO {ROLE}",
    f"GRANT SELECT ON ALL TABLES IN SCHEMA app TO {ROLE}",
    "REVOKE EXECUTE ON FUNCTION app.touch_row() FROM PUBLIC",
    f"DO $$ BEGIN GRANT INSERT ON app.clients TO {ROLE}; EXCEPTION WHEN others THEN NULL; END $$",
    f"ALTER TABLE app.clients OWNER TO {ROLE}",
    "DO $$ BEGIN FOR i IN 1..3 LOOP"
    " EXECUTE format('CREATE TABLE app.part_%s (id int PRIMARY KEY)', i); END LOOP; END $$",
    "DROP TABLE app.part_2",
    "BEGIN",
    "CREATE TABLE app.audit (at timestamptz DEFAULT now())",
    "CREATE INDEX audit_at ON app.audit (at)",
    "COMMIT",
    "BEGIN",
    "DROP TABLE app.audit",
    "ROLLBACK",
    "CREATE TABLE app.snapshot_copy AS SELECT * FROM app.orders",
    "ALTER TABLE app.orders ALTER COLUMN invoice DROP DEFAULT",
    "DROP SEQUENCE app.invoice_seq",
    "CREATE DOMAIN app.posint AS int CONSTRAINT pos CHECK (VALUE > 0)",
    "ALTER TABLE app.orders ADD COLUMN quantity app.posint",
    "ALTER DOMAIN app.posint RENAME TO positive_int",
    "ALTER DOMAIN app.positive_int DROP CONSTRAINT pos",
    "ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY mine ON app.orders USING (customer_id > 0)",
    "ALTER POLICY mine ON app.orders RENAME TO own",
    "CREATE TYPE app.pair AS (a int)",
    "ALTER TYPE app.pair ADD ATTRIBUTE b text",
    "ALTER TYPE app.pair RENAME ATTRIBUTE a TO x",
    "CREATE TABLE app.pairs (p app.pair, n int)",
    "ALTER TYPE app.pair RENAME TO couple",
    "CREATE SEQUENCE app.loose",
    "ALTER SEQUENCE app.loose OWNED BY app.pairs.n",
    "ALTER SEQUENCE app.loose OWNED BY NONE",
    "CREATE TABLE app.tickets (id serial)",
    "ALTER TABLE app.tickets ALTER COLUMN id DROP DEFAULT",
    "ALTER TABLE app.tickets ALTER COLUMN id SET DEFAULT nextval('app.tickets_id_seq')",
    "ALTER SEQUENCE app.tickets_id_seq OWNED BY NONE",
    "ALTER TABLE app.pairs ADD COLUMN twice int GENERATED ALWAYS AS (n * 2) STORED",
    "ALTER TABLE app.pairs REPLICA IDENTITY FULL",
    "ALTER TABLE app.pairs SET UNLOGGED",
    "CREATE TABLE app.pairs_copy (LIKE app.pairs INCLUDING ALL)",
    "CREATE FUNCTION app.add(a int, b int) RETURNS int LANGUAGE sql RETURN a + b",
    "ALTER FUNCTION app.add(int, int) SET search_path = app",
    f"ALTER FUNCTION app.add(int, int) OWNER TO {ROLE}",
    "CREATE AGGREGATE app.total(int) (sfunc = app.add, stype = int, initcond = '0')",
    "ALTER FUNCTION app.add(int, int) RENAME TO plus",
    "CREATE TABLE app.events (id int, at date NOT NULL) PARTITION BY RANGE (at)",
    "CREATE TABLE app.events_2024 (id int, at date NOT NULL)",
    "ALTER TABLE app.events ATTACH PARTITION app.events_2024"
    " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "CREATE INDEX events_at ON app.events (at)",
    "ALTER TABLE app.events DETACH PARTITION app.events_2024",
    "CREATE EXTENSION citext",
    "ALTER TABLE app.clients ALTER COLUMN email TYPE citext",
    "DROP EXTENSION citext CASCADE",
    "ALTER SCHEMA app RENAME TO shop",
    "CREATE MATERIALIZED VIEW shop.totals AS"
    " SELECT customer_id, sum(amount) AS s FROM shop.orders GROUP BY 1",
    "CREATE INDEX totals_idx ON shop.totals (customer_id)",
    "ALTER TABLE shop.orders SET SCHEMA public",
    "DROP VIEW shop.biggest",
    "DROP FUNCTION shop.touch_row() CASCADE",
    "ALTER TABLE public.orders DROP COLUMN status",
    "DROP TYPE shop.order_status CASCADE",
    f"REVOKE ALL ON public.orders FROM {ROLE}",
    f"DROP OWNED BY {ROLE} CASCADE",
    "DROP SCHEMA shop CASCADE",
]


@pytest.fixture
def capturing(
    pg_server: ScratchServer, pg_database: str
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit connection to a new database, with the capture installed."""
    with pg_server.connect("postgres") as admin:
        admin.execute(f"CREATE ROLE {ROLE}")
    conn = pg_server.connect(pg_database)
    install_capture(conn)
    yield conn
    conn.execute(f"DROP OWNED BY {ROLE} CASCADE")
    conn.close()
    with pg_server.connect("postgres") as admin:
        admin.execute(f"DROP ROLE {ROLE}")


def test_patched_snapshot_equals_a_full_read_after_every_step(
    capturing: psycopg.Connection[tuple[object, ...]],
) -> None:
    conn = capturing
    snapshot = read_snapshot(conn)
    for step in STEPS:
        conn.execute(step)
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            continue  # replay reads between statements only outside a transaction block
        snapshot = snapshot.patched(read_snapshot(conn, only=take_touched(conn)))
        full = read_snapshot(conn)
        assert [d.describe() for d in diff(full, snapshot)] == [], step
        snapshot = full


def test_touched_objects_are_taken_once(capturing: psycopg.Connection[tuple[object, ...]]) -> None:
    capturing.execute("CREATE TABLE t (id int)")
    touched = take_touched(capturing)
    assert [obj.catalog for obj in touched.objects] == ["pg_class"]
    assert touched.altered == frozenset()
    assert not take_touched(capturing)
    capturing.execute("ALTER TABLE t ADD COLUMN v int")
    assert take_touched(capturing).altered == touched.objects


def test_capture_is_never_in_a_snapshot_and_can_be_removed(
    capturing: psycopg.Connection[tuple[object, ...]],
) -> None:
    install_capture(capturing)  # a second time: nothing to do
    assert not [key for key in read_snapshot(capturing) if CAPTURE_SCHEMA in key]
    remove_capture(capturing)
    capturing.execute("CREATE TABLE t (id int)")
    with pytest.raises(psycopg.errors.UndefinedTable):
        take_touched(capturing)


def test_template_copies_keep_capturing(pg_server: ScratchServer) -> None:
    source = pg_server.create_database()
    with pg_server.connect(source) as conn:
        install_capture(conn)
    copy = pg_server.create_database(template=source)
    try:
        with pg_server.connect(copy) as conn:
            conn.execute("CREATE TABLE t (id int)")
            assert take_touched(conn)
    finally:
        pg_server.drop_database(copy)
        pg_server.drop_database(source)


def test_capture_needs_a_superuser(embedded_server: ScratchServer) -> None:
    database = embedded_server.create_database()
    with embedded_server.connect("postgres") as admin:
        admin.execute(f"CREATE ROLE {ROLE}_plain LOGIN")
        name = psycopg.conninfo.conninfo_to_dict(database)["dbname"]
        admin.execute(f"GRANT CREATE ON DATABASE {name} TO {ROLE}_plain")
    try:
        url = embedded_server.url(database)
        with psycopg.connect(url, user=f"{ROLE}_plain", autocommit=True) as conn:
            with pytest.raises(CaptureUnavailable, match=r"permission denied|must be superuser"):
                install_capture(conn)
            assert conn.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (CAPTURE_SCHEMA,)
            ).fetchone() == (0,)
    finally:
        embedded_server.drop_database(database)
        with embedded_server.connect("postgres") as admin:
            admin.execute(f"DROP ROLE {ROLE}_plain")


class CountingCursor(psycopg.Cursor[Any]):
    """Counts the statements a connection executes."""

    executed = 0

    def execute(self, *args: Any, **kwargs: Any) -> CountingCursor:
        CountingCursor.executed += 1
        super().execute(*args, **kwargs)
        return self


def test_taking_touched_keeps_the_snapshot_queries_prepared(
    capturing: psycopg.Connection[tuple[object, ...]],
) -> None:
    # psycopg prepares a statement run five times; once it has one, a ROLLBACK or a new
    # DROP or ALTER makes it deallocate every statement of the session, the snapshot's too.
    # Replay's own statements are never prepared: neither may capture's or the snapshot's.
    conn = capturing
    assert conn.prepare_threshold == 5
    conn.cursor_factory = CountingCursor  # type: ignore[assignment]
    conn.execute("CREATE TABLE t (id int)", prepare=False)
    read_snapshot(conn, only=take_touched(conn))
    asked = []
    for step in range(8):
        conn.execute("BEGIN", prepare=False)
        conn.execute(f"ALTER TABLE t ADD COLUMN c{step} int", prepare=False)
        touched = take_touched(conn)
        CountingCursor.executed = 0
        read_snapshot(conn, only=touched)
        asked.append(CountingCursor.executed)
        conn.execute("ROLLBACK", prepare=False)
    assert asked == [2] * 8  # each time the quick way, its statements still prepared
