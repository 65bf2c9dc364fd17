"""Recording which objects DDL touches, with event triggers, so replay re-reads only those.

In a scratch database, [install_capture][migdocs.pg.capture.install_capture] adds two event
triggers (``ddl_command_end`` and ``sql_drop``) that write the catalog rows each DDL
command created, altered or dropped into a table of the private ``migdocs_capture`` schema.
After a step, [take_touched][migdocs.pg.capture.take_touched] returns and forgets them:

```python
touched = take_touched(conn)
snapshot = snapshot.patched(read_snapshot(conn, only=touched))
```

``CREATE DATABASE … TEMPLATE`` copies the triggers with the rest, which is what replay wants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from migdocs.pg.snapshot import CAPTURE_SCHEMA, ObjectId, Touched

if TYPE_CHECKING:
    from collections.abc import Iterable

_TRIGGERS = ("migdocs_capture_ddl", "migdocs_capture_drop")
_SCHEMA = sql.Identifier(CAPTURE_SCHEMA)

_INSTALL = f"""
CREATE SCHEMA {CAPTURE_SCHEMA};
REVOKE ALL ON SCHEMA {CAPTURE_SCHEMA} FROM PUBLIC;
CREATE UNLOGGED TABLE {CAPTURE_SCHEMA}.touched (
    catalog text NOT NULL,
    objid oid NOT NULL,
    altered boolean NOT NULL
);

-- Security definer: a migration that runs SET ROLE still records what it does.
CREATE FUNCTION {CAPTURE_SCHEMA}.on_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $body$
BEGIN
    -- An object made by CREATE, or only commented on or granted, is named by nothing else
    -- that could have changed; any other command may have renamed it: "altered".
    INSERT INTO {CAPTURE_SCHEMA}.touched
    SELECT c.classid::regclass::text, c.objid,
           c.command_tag NOT LIKE 'CREATE %'
           AND c.command_tag NOT IN ('COMMENT', 'GRANT', 'REVOKE', 'SECURITY LABEL')
    FROM pg_event_trigger_ddl_commands() c
    WHERE c.objid IS NOT NULL AND NOT c.in_extension;
    IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands() c WHERE c.objid IS NULL) THEN
        -- GRANT and REVOKE name no object: take the catalog rows this transaction wrote.
        INSERT INTO {CAPTURE_SCHEMA}.touched
        SELECT 'pg_class', oid, false FROM pg_class WHERE age(xmin) <= 0
        UNION ALL SELECT 'pg_class', attrelid, false FROM pg_attribute WHERE age(xmin) <= 0
        UNION ALL SELECT 'pg_namespace', oid, false FROM pg_namespace WHERE age(xmin) <= 0
        UNION ALL SELECT 'pg_proc', oid, false FROM pg_proc WHERE age(xmin) <= 0
        UNION ALL SELECT 'pg_type', oid, false FROM pg_type WHERE age(xmin) <= 0;
    END IF;
    IF EXISTS (
        SELECT FROM pg_event_trigger_ddl_commands() c JOIN pg_class r ON r.oid = c.objid
        WHERE c.classid = 'pg_class'::regclass AND r.relkind = 'p'
          AND c.command_tag = 'ALTER TABLE'
    ) THEN
        -- DETACH PARTITION names the parent only, and leaves no link to the partition.
        INSERT INTO {CAPTURE_SCHEMA}.touched
        SELECT 'pg_class', oid, false FROM pg_class
        WHERE age(xmin) <= 0 AND relkind IN ('r', 'p', 'f');
    END IF;
END
$body$;

CREATE FUNCTION {CAPTURE_SCHEMA}.on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $body$
BEGIN
    -- Besides the dropped rows, the table (or domain) a dropped part belonged to, if it
    -- is still there: its default, constraint, trigger or policy is gone with no trace.
    INSERT INTO {CAPTURE_SCHEMA}.touched
    SELECT d.classid::regclass::text, d.objid, false
    FROM pg_event_trigger_dropped_objects() d
    UNION ALL
    SELECT 'pg_class', r.oid, false
    FROM pg_event_trigger_dropped_objects() d,
         LATERAL to_regclass(format('%I.%I', d.address_names[1], d.address_names[2])) r(oid)
    WHERE d.object_type IN ('default value', 'table constraint', 'trigger', 'policy', 'rule')
      AND r.oid IS NOT NULL
    UNION ALL
    SELECT 'pg_type', t.oid, false
    FROM pg_event_trigger_dropped_objects() d,
         LATERAL to_regtype(d.address_names[1]) t(oid)
    WHERE d.object_type = 'domain constraint' AND t.oid IS NOT NULL;
END
$body$;

REVOKE ALL ON FUNCTION {CAPTURE_SCHEMA}.on_ddl_command_end() FROM PUBLIC;
REVOKE ALL ON FUNCTION {CAPTURE_SCHEMA}.on_sql_drop() FROM PUBLIC;
CREATE EVENT TRIGGER {_TRIGGERS[0]} ON ddl_command_end
    EXECUTE FUNCTION {CAPTURE_SCHEMA}.on_ddl_command_end();
CREATE EVENT TRIGGER {_TRIGGERS[1]} ON sql_drop
    EXECUTE FUNCTION {CAPTURE_SCHEMA}.on_sql_drop();
"""

_PROBE = f"CREATE TABLE {CAPTURE_SCHEMA}.probe ()"


class CaptureUnavailable(Exception):
    """Event triggers cannot record DDL in this database; read full snapshots instead.

    The message says why (typically: the role is not a superuser).
    """


def install_capture(conn: psycopg.Connection[Any], reader: str | None = None) -> None:
    """Install the event triggers in the connection's database (idempotent) and check they fire.

    Needs a superuser, an idle autocommit connection, and ``event_triggers`` on.

    Args:
        conn: A superuser's connection to the database.
        reader: Another role, that runs the DDL and calls
            [take_touched][migdocs.pg.capture.take_touched]: it may read and forget what
            was recorded, nothing else (the triggers' functions run as their owner).

    Raises:
        CaptureUnavailable: when they cannot be installed or do not fire.
    """
    if _installed(conn):
        return
    setting = conn.execute("SELECT current_setting('event_triggers', true)").fetchone()
    if setting is not None and setting[0] == "off":
        raise CaptureUnavailable("event triggers are disabled on this server (event_triggers)")
    try:
        with conn.transaction():
            conn.execute(_INSTALL)
    except psycopg.Error as error:
        reason = error.diag.message_primary or str(error)
        raise CaptureUnavailable(f"cannot install event triggers: {reason}") from None
    conn.execute(_PROBE)
    fired = take_touched(conn)
    conn.execute(f"DROP TABLE {CAPTURE_SCHEMA}.probe")
    take_touched(conn)
    if not fired:
        remove_capture(conn)
        raise CaptureUnavailable("event triggers do not fire in this database")
    if reader is not None:
        role = sql.Identifier(reader)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(_SCHEMA, role))
        conn.execute(sql.SQL("GRANT SELECT, DELETE ON {}.touched TO {}").format(_SCHEMA, role))


def take_touched(conn: psycopg.Connection[Any]) -> Touched:
    """What DDL touched since the last call (or the install), forgotten once returned.

    Returns:
        The touched catalog rows, ready for ``read_snapshot(conn, only=…)``.
    """
    # Never prepared by psycopg: a ROLLBACK makes it deallocate all the session's statements,
    # the snapshot's queries with them.
    rows = conn.execute(
        f"DELETE FROM {CAPTURE_SCHEMA}.touched RETURNING catalog, objid, altered", prepare=False
    ).fetchall()
    return _touched(rows)


def remove_capture(conn: psycopg.Connection[Any]) -> None:
    """Remove the event triggers and the ``migdocs_capture`` schema, if there."""
    with conn.transaction():
        for name in _TRIGGERS:
            conn.execute(f"DROP EVENT TRIGGER IF EXISTS {name}")
        conn.execute(f"DROP SCHEMA IF EXISTS {CAPTURE_SCHEMA} CASCADE")


def _installed(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_event_trigger WHERE evtname = ANY (%s) AND evtenabled <> 'D'",
        (list(_TRIGGERS),),
    ).fetchone()
    return row is not None and row[0] == len(_TRIGGERS)


def _touched(rows: Iterable[tuple[str, int, bool]]) -> Touched:
    objects: set[ObjectId] = set()
    altered: set[ObjectId] = set()
    for catalog, oid, was_altered in rows:
        obj = ObjectId(catalog, oid)
        objects.add(obj)
        if was_altered:
            altered.add(obj)
    return Touched(frozenset(objects), frozenset(altered))
