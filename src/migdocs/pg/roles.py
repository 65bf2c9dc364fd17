"""The roles replayed SQL runs as on a scratch server: made for a replay, dropped after it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from migdocs.pg.connect import ServerError, reason

#: The role replay runs as on the embedded server: no superuser, it owns the scratch
#: database and may create roles. Named as the role most histories expect to own their
#: objects (``ALTER TABLE … OWNER TO postgres`` is in every pg_dump-made migration).
REPLAY_ROLE = "postgres"
#: What the embedded server's replay role may do: whatever stays inside the scratch cluster,
#: as real histories need it (measured on 16 public ones: Supabase's `service_role` is made
#: BYPASSRLS, its `postgres` gets pg_read_all_data and pg_monitor; dumps set
#: session_replication_role). Never pg_read_server_files, pg_write_server_files or
#: pg_execute_server_program: those reach the machine.
_REPLAY_ROLE_GRANTS = (
    "CREATE ROLE {} LOGIN CREATEROLE CREATEDB BYPASSRLS",
    "GRANT pg_read_all_data, pg_write_all_data, pg_monitor, pg_signal_backend TO {}"
    " WITH ADMIN OPTION",
    "GRANT SET ON PARAMETER session_replication_role TO {}",
)
#: On a ``--scratch-url`` server, the roles replay runs as are made with this prefix.
REPLAY_ROLE_PREFIX = "migdocs_replay_"


class ReplayRoles:
    """The roles of one started scratch server: what its admin role may do, the roles made
    for replays (with their passwords), and the dropping of those a replay made.

    Roles belong to the whole server, not to a database: the next replay must find the
    server as this one did.
    """

    def __init__(
        self,
        admin: Callable[[], psycopg.Connection[tuple[Any, ...]]],
        url: str | None,
        server: str,
        *,
        embedded: bool,
        version: int,
        admin_user: str,
    ) -> None:
        """Roles of the server that ``admin`` connects to as ``admin_user``.

        Args:
            admin: The server's admin connection (opened again should it be lost).
            url: The admin's URL, whose password no message shows.
            server: How messages name the server.
            embedded: Whether the server is migdocs' own embedded one.
            version: Its ``server_version_num``.
            admin_user: The admin role's name.
        """
        self._admin = admin
        self._url = url
        self._server = server
        self._embedded = embedded
        self._version = version
        self._admin_user = admin_user
        self.superuser = False
        """Whether the admin role is a superuser."""
        self.create_roles = False
        """Whether the admin role may create roles."""
        self.before: frozenset[int] = frozenset()
        """The roles a URL server had when it was started."""
        self._passwords: dict[str, str] = {}  # role made for replay -> its password

    def read_admin(self, *, allow_superuser: bool) -> None:
        """What the admin role may do; on a URL server, refuse a superuser unless allowed.

        Raises:
            ServerError: when the admin role of a URL server is a superuser, not allowed.
        """
        row = (
            self._admin()
            .execute(
                "SELECT rolsuper, rolcreaterole, current_user FROM pg_roles"
                " WHERE rolname = current_user"
            )
            .fetchone()
        )
        assert row is not None
        self.superuser, self.create_roles = bool(row[0]), bool(row[1])
        if self._embedded:
            for statement in _REPLAY_ROLE_GRANTS:
                self._admin().execute(sql.SQL(statement).format(sql.Identifier(REPLAY_ROLE)))
            return
        if self.superuser and not allow_superuser:
            raise ServerError(
                f"the scratch server's role {row[2]} on {self._server} is a superuser: replayed "
                "SQL could reach every other database on it. Use a role with CREATEDB and "
                "CREATEROLE only (see the README), or allow it with --scratch-superuser"
            )
        self.before = self.oids()

    def password(self, role: str) -> str | None:
        """The password of a role made for replay; ``None`` for any other."""
        return self._passwords.get(role)

    def oids(self) -> frozenset[int]:
        """The oids of the server's roles now."""
        rows = self._admin().execute("SELECT oid FROM pg_roles").fetchall()
        return frozenset(int(oid) for (oid,) in rows)

    def alter_replay_role(self, *, superuser: bool) -> None:
        """Make the embedded server's replay role a superuser, or no longer one."""
        attribute = sql.SQL("SUPERUSER" if superuser else "NOSUPERUSER")
        self._admin().execute(
            sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(REPLAY_ROLE), attribute)
        )

    def make(self) -> str:
        """A new role to replay as on a URL server, with a random password; its name.

        Raises:
            ServerError: when the role cannot be made.
        """
        name = REPLAY_ROLE_PREFIX + secrets.token_hex(6)
        password = secrets.token_urlsafe(24)
        self._passwords[name] = password  # first, so that an interrupt still drops it
        role = sql.Identifier(name)
        statements = [
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                role, sql.Literal(password)
            )
        ]
        if self._version >= 160000:
            statements.append(
                sql.SQL("ALTER ROLE {} SET createrole_self_grant = 'set, inherit'").format(role)
            )
        if not self.superuser:
            # To make databases it owns and copy them, the admin acts as a member of it.
            statements.append(sql.SQL("GRANT {} TO CURRENT_USER").format(role))
        try:
            for statement in statements:
                self._admin().execute(statement)
        except psycopg.Error as error:
            raise ServerError(
                f"cannot create a role to replay as on {self._server}: {reason(error, self._url)}"
            ) from None
        return name

    def drop_made(self) -> list[str]:
        """Drop the roles made for replays that were interrupted, and those they made;
        return the names of those that could not be dropped."""
        left: list[str] = []
        for role in list(self._passwords):
            left += self.drop([role], role, self.before)
        self._passwords.clear()
        return left

    def drop(self, made: list[str], maker: str, before: frozenset[int]) -> list[str]:
        """Drop the roles in ``made`` and those ``maker`` made since ``before``; return the
        names of those that could not be dropped."""
        try:
            conn = self._admin()
            maker_is_superuser = self.superuser and maker == self._admin_user
            if self._embedded:  # a server of its own: every role new since
                rows = conn.execute("SELECT oid, rolname FROM pg_roles").fetchall()
            elif self._version >= 160000 and not maker_is_superuser:
                # A role a non-superuser makes is granted to its maker WITH ADMIN OPTION.
                rows = conn.execute(
                    """
                    WITH RECURSIVE made(oid) AS (
                        SELECT oid FROM pg_roles WHERE rolname = %s
                        UNION
                        SELECT m.roleid FROM pg_auth_members m JOIN made ON m.member = made.oid
                        WHERE m.admin_option
                    )
                    SELECT r.oid, r.rolname FROM made JOIN pg_roles r USING (oid)
                    """,
                    (maker,),
                ).fetchall()
            else:  # no record of who made a role: those new since, but other runs' own
                rows = conn.execute(
                    "SELECT oid, rolname FROM pg_roles WHERE rolname NOT LIKE %s",
                    (REPLAY_ROLE_PREFIX + "%",),
                ).fetchall()
        except (psycopg.Error, ServerError):
            return made
        names = [str(name) for oid, name in rows if oid not in before and name not in made]
        left: list[str] = []
        for name in [*names, *made]:
            try:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
            except psycopg.errors.DependentObjectsStillExist:
                # Our scratch database is gone, so what a role made by this replay owned
                # went with it: one that still owns something is another run's (a server
                # before PostgreSQL 16 does not record who made a role), and stays.
                if name in made:
                    left.append(name)
            except psycopg.Error:
                left.append(name)
            self._passwords.pop(name, None)
        return left
