"""Flyway: ``V<version>__<description>.sql`` versioned, ``U…`` undo and ``R__…`` repeatable scripts.

Read as Flyway reads it (``flyway-core``: ``internal/resource/ResourceNameParser.java``,
``api/MigrationVersion.java``, ``api/callback/Event.java``, ``internal/resolver/``
``sql/SqlMigrationResolver.java``, ``ResolvedMigrationComparator.java``,
``ChecksumCalculator.java`` and ``CompositeMigrationResolver.java``,
``internal/schemahistory/JdbcTableSchemaHistory.java``; ``flyway-database-postgresql``:
``PostgreSQLDatabase.getRawCreateScript``):

- Flyway scans its location (``src/main/resources/db/migration`` by default) and every folder
  under it; a ``.sql`` file is a migration when its name is a prefix, a version, the separator
  ``__`` and a description: ``V`` versioned, ``U`` the undo of the versioned script with that
  version, ``R`` (with no version) repeatable; without ``__`` the rest of the name is the
  version and the description is empty (``V6.8.0.4.sql``). Names of callbacks (``afterMigrate.sql``,
  ``beforeEachMigrate__x.sql``) are not migrations; any other name is ignored, silently;
- a version is digits separated by ``.`` or ``_`` (``1_10`` is ``1.10``), compared part by part
  as numbers with trailing zeros dropped (``1.10`` after ``1.9``, ``1.0`` the same as ``1``);
  Flyway records it with ``_`` written ``.``; two scripts with one version, or two
  repeatables with one description, make it refuse the location;
- versioned scripts run in version order, then the repeatables in description order, each
  again whenever its checksum changed; each script runs in one transaction unless it holds a
  statement PostgreSQL refuses in one;
- the ledger ``flyway_schema_history`` (in the connection's first schema) gets one row per
  script run: its rank, version (``NULL`` for a repeatable), description, type (``SQL``;
  ``UNDO_SQL`` for an undo, ``BASELINE``, ``DELETE`` from ``repair``, ``SCHEMA`` when Flyway
  made the schemas), the script's path under the location, a CRC-32 checksum of its lines and
  ``success``.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdocs.runners.base import (
    SKIPPED_FOLDERS,
    CatalogScripts,
    Evidence,
    LayoutProblem,
    LedgerRow,
    Listed,
    Listing,
    Runner,
    date_from_name,
    title_from,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql


#: Callback event ids (``api/callback/Event.java``): ``<event>.sql`` or ``<event>__<x>.sql`` is a
#: callback, run around migrations, never a migration of its own.
CALLBACKS = frozenset(
    {
        "beforeClean",
        "afterClean",
        "afterCleanError",
        "beforeMigrate",
        "beforeEachMigrate",
        "beforeEachMigrateStatement",
        "afterEachMigrateStatement",
        "afterEachMigrateStatementError",
        "afterEachMigrate",
        "afterEachMigrateError",
        "beforeRepeatables",
        "afterVersioned",
        "afterMigrateApplied",
        "afterMigrate",
        "afterMigrateError",
        "beforeUndo",
        "beforeEachUndo",
        "beforeEachUndoStatement",
        "afterEachUndoStatement",
        "afterEachUndoStatementError",
        "afterEachUndo",
        "afterEachUndoError",
        "afterUndo",
        "afterUndoError",
        "beforeValidate",
        "afterValidate",
        "afterValidateError",
        "beforeBaseline",
        "afterBaseline",
        "afterBaselineError",
        "beforeRepair",
        "afterRepair",
        "afterRepairError",
        "beforeInfo",
        "afterInfo",
        "afterInfoError",
        "afterMigrateOperationFinish",
        "afterInfoOperationFinish",
        "createSchema",
        "beforeCreateSchema",
        "beforeConnect",
        "afterConnect",
    }
)

#: History types of migrations Flyway resolved from Java classes (``MigrationType``).
JAVA_TYPES = frozenset({"JDBC", "SPRING_JDBC", "UNDO_JDBC", "UNDO_SPRING_JDBC"})

#: Where Flyway projects keep their scripts: its default location, and the usual others.
LOCATIONS = ("src/main/resources/db/migration", "db/migration", "flyway/sql", "sql")

_VERSION = re.compile(r"^\d+(?:\.\d+)*$")


@dataclass(frozen=True, slots=True)
class ScriptName:
    """A file name as Flyway parses it.

    Attributes:
        kind: ``V`` versioned, ``U`` undo, ``R`` repeatable.
        version: The version as Flyway writes it (``1.10``), ``None`` for a repeatable.
        key: The version as Flyway compares it (numbers, trailing zeros dropped).
        raw: The version as the name spells it (``1_10``).
        description: The description (``_`` read as a space, as Flyway records it).
        words: The description as the name spells it.
    """

    kind: str
    version: str | None
    key: tuple[int, ...]
    raw: str
    description: str
    words: str


def version_key(version: str) -> tuple[int, ...] | None:
    """A Flyway version as it compares (``1_10`` → ``(1, 10)``, ``1.0`` → ``(1,)``), or
    ``None`` when Flyway would not read it as a version."""
    normalized = version.replace("_", ".")
    if not _VERSION.match(normalized):
        return None
    parts = [int(part) for part in normalized.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def parse_name(name: str) -> ScriptName | str | None:
    """How Flyway reads a file name: a [ScriptName][migdocs.runners.flyway.ScriptName], ``None``
    for a callback or a file that is not SQL, or why Flyway ignores it."""
    if not name.lower().endswith(".sql"):
        return None
    stem = name[: -len(".sql")]
    for event in CALLBACKS:
        if stem == event or stem.startswith(event + "__"):
            return None
    kind = stem[:1]
    if kind not in ("V", "U", "R"):
        return "its name does not start with `V`, `U` or `R` (nor a callback's name)"
    # ResourceNameParser.splitAtSeparator: without `__` the whole rest is the version and
    # the description is empty (`V6.8.0.4.sql` is version 6.8.0.4).
    version, separator, words = stem[1:].partition("__")
    description = words.replace("_", " ")
    if kind == "R":
        if version:
            return f"a repeatable script has no version (`R__{words or version}.sql`)"
        return ScriptName("R", None, (), "", description, words)
    if not version:
        return "it has no version before `__`"
    key = version_key(version)
    if key is None:
        hint = "" if separator else "; is `__` missing between the version and the description?"
        return f"{version!r} is not a version (digits separated by `.` or `_`){hint}"
    return ScriptName(kind, version.replace("_", "."), key, version, description, words)


class Flyway(Runner):
    """Flyway's location of versioned, undo and repeatable SQL scripts."""

    kind = "flyway"
    repair = "`flyway repair`"
    default_path = "src/main/resources/db/migration"
    default_ledger = "public.flyway_schema_history"
    # PostgreSQLDatabase.getRawCreateScript, for Flyway's default table name.
    ledger_ddl = (
        "CREATE TABLE {table} (\n"
        '    "installed_rank" INT NOT NULL,\n'
        '    "version" VARCHAR(50),\n'
        '    "description" VARCHAR(200) NOT NULL,\n'
        '    "type" VARCHAR(20) NOT NULL,\n'
        '    "script" VARCHAR(1000) NOT NULL,\n'
        '    "checksum" INTEGER,\n'
        '    "installed_by" VARCHAR(100) NOT NULL,\n'
        '    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),\n'
        '    "execution_time" INTEGER NOT NULL,\n'
        '    "success" BOOLEAN NOT NULL\n'
        ");\n"
        'ALTER TABLE {table} ADD CONSTRAINT "flyway_schema_history_pk" '
        'PRIMARY KEY ("installed_rank");\n'
        'CREATE INDEX "flyway_schema_history_s_idx" ON {table} ("success");'
    )

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        runner = cls(folder)
        versioned = undo = repeatable = 0
        for relative in runner.files():
            parsed = parse_name(relative.rpartition("/")[2])
            if isinstance(parsed, ScriptName):
                versioned += parsed.kind == "V"
                undo += parsed.kind == "U"
                repeatable += parsed.kind == "R"
        if not versioned and not repeatable:
            return None
        reasons = [f"{versioned} `V<version>__<description>.sql` scripts"]
        score = 45
        if undo or repeatable:
            reasons.append(f"{undo} `U…` undo and {repeatable} `R__…` repeatable scripts")
            score += 10
        shown = folder.as_posix()
        location = next((loc for loc in LOCATIONS if shown.endswith("/" + loc)), None)
        if location is not None:
            reasons.append(f"the folder is Flyway's usual location `{location}`")
            score += 15
        config = _config_near(folder)
        if config is not None:
            reasons.append(f"a Flyway configuration `{config.name}` beside it")
            score += 20
        return Evidence(cls.kind, folder, min(score, 90), tuple(reasons), versioned + repeatable)

    def files(self) -> list[str]:
        """Every file under the folder and its subfolders (Flyway scans them all) that is
        this database's, relative to the folder with ``/``, sorted."""
        found: list[str] = []
        for top, folders, names in os.walk(self.folder):
            folders[:] = sorted(
                f for f in folders if f not in SKIPPED_FOLDERS and not f.startswith(".")
            )
            base = Path(top).relative_to(self.folder).as_posix()
            for name in names:
                relative = name if base == "." else f"{base}/{name}"
                if self.wanted(relative):
                    found.append(relative)
        return sorted(found)

    def listing(self) -> Listing:
        out = Listing(order_source="versions, numerically, then repeatables by description")
        versioned: dict[tuple[int, ...], tuple[str, ScriptName]] = {}
        undo: dict[tuple[int, ...], str] = {}
        repeatable: dict[str, str] = {}
        for relative in self.files():
            parsed = parse_name(relative.rpartition("/")[2])
            if parsed is None:
                continue
            if isinstance(parsed, str):
                out.ignored(relative, f"Flyway ignores it: {parsed}")
                continue
            if parsed.kind == "R":
                taken = repeatable.get(parsed.description)
                if taken is None:
                    repeatable[parsed.description] = relative
                    continue
                out.problems.append(
                    LayoutProblem(
                        "MG109",
                        relative,
                        None,
                        "Flyway refuses the location: found more than one repeatable migration "
                        f"with description {parsed.description!r} ({taken} too)",
                        _stem(relative),
                    )
                )
                continue
            table: dict[tuple[int, ...], Any] = versioned if parsed.kind == "V" else undo
            first = table.get(parsed.key)
            if first is None:
                table[parsed.key] = (relative, parsed) if parsed.kind == "V" else relative
                continue
            other = first[0] if parsed.kind == "V" else first
            what = "migration" if parsed.kind == "V" else "undo migration"
            out.problems.append(
                LayoutProblem(
                    "MG109",
                    relative,
                    None,
                    f"Flyway refuses the location: found more than one {what} with version "
                    f"{parsed.version} ({other} too)",
                    _stem(relative),
                )
            )
        for key in sorted(versioned):
            relative, parsed = versioned[key]
            stem = _stem(relative)
            out.migrations.append(
                Listed(
                    id=stem,
                    file=relative,
                    rollback=undo.pop(key, None),
                    order=(0, key),
                    version=parsed.version,
                    date=date_from_name(parsed.raw),
                    title=title_from(parsed.words) if parsed.words else stem,
                )
            )
        for description in sorted(repeatable):
            relative = repeatable[description]
            words = _stem(relative)[len("R__") :]
            out.migrations.append(
                Listed(
                    id=_stem(relative),
                    file=relative,
                    rollback=None,
                    order=(1, description),
                    title=title_from(words) if words else _stem(relative),
                )
            )
        for key, relative in sorted(undo.items()):
            out.problems.append(
                LayoutProblem(
                    "MG106",
                    relative,
                    None,
                    f"no versioned script has version {'.'.join(map(str, key))}: Flyway "
                    "never runs this undo script",
                )
            )
        return out

    def checksum(self, raw: bytes) -> str | None:
        return str(flyway_checksum(raw))

    def ledger_key(self, listed: Listed) -> str:
        """The version for a versioned script, the script's path for a repeatable one."""
        return listed.version if listed.version is not None else listed.file

    def default_file(self, migration_id: str) -> str:
        return f"{migration_id}.sql"

    def read_ledger(
        self, conn: psycopg.Connection[Any], table: sql.Composable, project: CatalogScripts
    ) -> list[LedgerRow]:
        """One row per script Flyway ran and still counts: for a version, its last run (an
        undo leaves it not applied, a failure dirty: Flyway migrates no further until
        ``repair``); for a repeatable, its last run, not applied when the file changed since
        (Flyway runs it again); every version a baseline covers. Rows a ``repair`` deleted and
        the schema-creation marker are left out."""
        from psycopg import sql as _sql

        rows = conn.execute(
            _sql.SQL(
                "SELECT version, script, checksum, type, success FROM {} ORDER BY installed_rank"
            ).format(table)
        ).fetchall()
        keys = project.ledger_keys()
        by_version: dict[tuple[int, ...], str] = {}
        for key, migration in keys.items():
            numeric = version_key(key)
            if numeric is not None:
                by_version.setdefault(numeric, migration)
        deleted = {version_key(str(v)) for v, _, _, kind, _ in rows if kind == "DELETE" and v}
        last: dict[tuple[int, ...] | str, tuple[Any, ...]] = {}
        baselines: list[LedgerRow] = []
        for version, script, checksum, kind, success in rows:
            if kind in ("SCHEMA", "DELETE"):
                continue
            numeric = version_key(str(version)) if version else None
            if kind == "BASELINE":
                if numeric is not None:
                    baselines.extend(
                        LedgerRow(f"baseline {version}", migration)
                        for key, migration in by_version.items()
                        if key <= numeric
                    )
                continue
            if numeric is not None and numeric in deleted:
                continue
            last[numeric if numeric is not None else str(script)] = (
                version,
                script,
                checksum,
                kind,
                success,
            )
        expected = self._checksums(project)
        out = baselines
        for slot, (version, script, checksum, kind, success) in last.items():
            owner = by_version.get(slot) if isinstance(slot, tuple) else keys.get(slot)
            label = f"{script} (version {version})" if version else str(script)
            if kind in JAVA_TYPES:
                # A Java class under a `classpath:` location: no file the catalog can name.
                label = f"{label}, a Java migration ({kind}) the catalog cannot hold"
            if kind.startswith("UNDO_"):
                state = "undone" if success else "failed while undone"
                out.append(LedgerRow(f"{label} ({state})", owner, applied=False))
                continue
            if not success:
                # Flyway refuses to migrate past a failed script until `flyway repair`.
                failed = f"{label} as failed (`flyway repair` clears it)"
                out.append(LedgerRow(failed, owner, applied=False, dirty=True))
                continue
            recorded = None if checksum is None or kind != "SQL" else str(checksum)
            now = expected.get(owner) if owner is not None else None
            if version is None and recorded is not None and now is not None and recorded != now:
                # A repeatable whose file changed is pending, not tampered with.
                out.append(
                    LedgerRow(
                        f"{label} (changed since: Flyway runs it again)", owner, applied=False
                    )
                )
                continue
            out.append(LedgerRow(label, owner, recorded, now if recorded is not None else None))
        return out

    def _checksums(self, project: CatalogScripts) -> dict[str, str]:
        """Each catalog migration's checksum today, as Flyway computes it."""
        out: dict[str, str] = {}
        for index, (migration, _) in enumerate(project.forward_files()):
            raw = project.forward_raw(index)
            if raw is not None:
                value = self.checksum(raw)
                if value is not None:
                    out[migration] = value
        return out


def _stem(relative: str) -> str:
    name = relative.rpartition("/")[2]
    return name[: -len(".sql")] if name.lower().endswith(".sql") else name


def _config_near(folder: Path) -> Path | None:
    """A Flyway configuration file (``flyway.conf``, ``flyway.toml``) in the folder or up to
    four folders above it."""
    for candidate in (folder, *list(folder.parents)[:4]):
        for name in ("flyway.conf", "flyway.toml"):
            path = candidate / name
            if path.is_file():
                return path
    return None


def flyway_checksum(raw: bytes) -> int:
    """Flyway's checksum of a migration file (``ChecksumCalculator``): a signed CRC-32 of
    its lines without their line breaks, the byte-order mark dropped."""
    text = raw.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    crc = 0
    for line in re.split(r"\r\n|\r|\n", text):
        crc = zlib.crc32(line.encode("utf-8"), crc)
    return crc - (1 << 32) if crc >= 1 << 31 else crc


_VERSIONED_NAME = re.compile(r"^V(\d+(?:[._]\d+)*)__", re.IGNORECASE)


def flyway_version(name: str) -> tuple[int, ...] | None:
    """The version of a Flyway versioned script (``V1_2__x.sql`` → ``(1, 2)``), if it is one."""
    match = _VERSIONED_NAME.match(name)
    return tuple(int(part) for part in re.split(r"[._]", match[1])) if match else None


RUNNER = Flyway
