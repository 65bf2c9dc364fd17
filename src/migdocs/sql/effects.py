"""What one SQL statement does to a schema, as static analysis can tell it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from migdocs.objects import ObjectKind, ObjectRef

#: The session's own schema: what a script makes there (``CREATE TEMP TABLE``,
#: ``pg_temp.f()``) is gone when the session ends, and is no change to the schema.
TEMPORARY_SCHEMA = "pg_temp"


def is_temporary(ref: ObjectRef) -> bool:
    """Whether ``ref`` names a temporary object (in ``pg_temp`` or a ``pg_temp_N``)."""
    schema = ref.schema
    return schema is not None and (
        schema == TEMPORARY_SCHEMA or schema.startswith(TEMPORARY_SCHEMA + "_")
    )


class Lock(StrEnum):
    """PostgreSQL's table lock modes, weakest first."""

    ACCESS_SHARE = "ACCESS SHARE"
    ROW_SHARE = "ROW SHARE"
    ROW_EXCLUSIVE = "ROW EXCLUSIVE"
    SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
    SHARE = "SHARE"
    SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
    EXCLUSIVE = "EXCLUSIVE"
    ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"

    @property
    def blocks_writes(self) -> bool:
        """Whether the mode blocks INSERT/UPDATE/DELETE on the table."""
        return list(Lock).index(self) >= list(Lock).index(Lock.SHARE)


@dataclass(frozen=True, slots=True)
class HeavyStep:
    """A step that holds a lock for as long as it reads or rewrites a whole table.

    Attributes:
        table: The table it works on.
        lock: The lock it holds meanwhile.
        reason: What the step is, in words (``adds index x without CONCURRENTLY``).
        rewrites: Whether the table (and its indexes) is rewritten.
        fix: What to do instead.
    """

    table: ObjectRef
    lock: Lock
    reason: str
    rewrites: bool
    fix: str


@dataclass(frozen=True, slots=True)
class Validation:
    """A step that checks existing rows and fails if one does not comply (``may-fail``)."""

    table: ObjectRef
    reason: str


@dataclass(frozen=True, slots=True)
class Retype:
    """A column's type changed to ``new_type``."""

    column: ObjectRef
    new_type: str


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """The key of an index or constraint: which columns of which table, and how.

    Used to tell an index dropped and recreated on the same key (no performance impact) and
    which indexes and constraints go when a column is dropped.
    """

    table: ObjectRef
    columns: tuple[str, ...]
    """The key's elements in order: a column's name, or ``expr:`` and an expression's
    canonical form (the same for the same expression, however it is written)."""
    unique: bool = False
    predicate: str | None = None
    """The canonical form of a partial index's WHERE clause."""
    method: str = "btree"
    """The index access method (``btree``, ``gin``, ``gist``…)."""
    options: tuple[str, ...] = ()
    """Per element, its collation and operator class where not the default."""
    indexed: bool = True
    """Whether an index stands behind it (not for foreign keys and CHECK constraints)."""
    expression_columns: tuple[str, ...] = ()
    """Columns read by the key's expressions and by its predicate."""

    @property
    def partial(self) -> bool:
        """Whether it is a partial index."""
        return self.predicate is not None

    @property
    def reads(self) -> frozenset[str]:
        """Every column of the table the key depends on: dropping one drops the key."""
        plain = [column for column in self.columns if not column.startswith("expr:")]
        return frozenset([*plain, *self.expression_columns])

    def serves(self, other: KeyInfo) -> bool:
        """Whether an index with this key serves the lookups ``other``'s index served."""
        return (
            self.indexed
            and other.indexed
            and self.columns == other.columns
            and self.method == other.method
            and self.options == other.options
            and self.table.identity == other.table.identity
            and (self.predicate is None or self.predicate == other.predicate)
        )


@dataclass(slots=True)
class Statement:
    """One statement of a script and its effects.

    Attributes:
        index: 0-based position in the script.
        line: 1-based line of its first token.
        column: 1-based column of its first token.
        end_line: Line of its last character.
        command: Its command tag, e.g. ``CREATE INDEX``.
        node: The type of its parse tree's node in PostgreSQL's grammar, e.g. ``IndexStmt``.
        creates: Objects it creates (implicit ones, such as a primary key's index, excluded).
        drops: Objects it drops by name (what CASCADE takes along is the schema model's job).
        alters: Objects whose definition it changes.
        renames: ``(old, new)`` pairs; a rename moves what hangs on the object.
        absorbs: Indexes that become a constraint's own (``ADD CONSTRAINT … USING INDEX``):
            gone as indexes, without being dropped.
        uses: Existing objects it needs (for MG203).
        column_uses: Columns of existing tables it reads or writes besides its keys' (a
            foreign key's referenced columns, a view's, an UPDATE's or INSERT's): see
            [needs][migdocs.sql.effects.Statement.needs].
        if_exists: Whether it says ``IF EXISTS`` of what it works on (``DROP … IF EXISTS``,
            ``ALTER TABLE IF EXISTS``): PostgreSQL skips it when that is absent.
        if_not_exists: Whether it says ``IF NOT EXISTS`` of what it creates: PostgreSQL
            skips it when that is there already.
        drops_if_exists: Parts it drops with ``IF EXISTS`` (``DROP COLUMN IF EXISTS``,
            ``DROP CONSTRAINT IF EXISTS``): PostgreSQL skips them when absent.
        depends_on: Relations the views it creates read: dropping one with CASCADE drops them.
        keys: The key of every index or constraint it creates, by identity.
        column_types: Types of the columns it creates, by identity.
        retypes: Columns whose type it changes.
        data_change: ``INSERT``, ``UPDATE``, ``DELETE``, ``TRUNCATE``, ``COPY`` or ``MERGE``.
        data_targets: Tables whose rows it changes.
        transaction: Whether it is transaction control (BEGIN, COMMIT, …).
        opaque: Whether its effects cannot be seen statically (DO, CALL, function calls, \\i).
        lock: The strongest table lock it takes, if any.
        heavy: Steps that hold a lock while reading or rewriting a table.
        validations: Steps that can fail on existing rows.
        cascade: Whether a DROP says CASCADE.
        concurrently: Whether it says CONCURRENTLY.
        suppressed: Rule codes silenced for this statement by ``-- migdocs: ignore``.
        offset: Where its text starts, in bytes of the UTF-8 text.
        length: Its text's length in bytes (0: to the end of the file).
    """

    index: int
    line: int
    column: int
    end_line: int
    command: str
    node: str = ""
    creates: list[ObjectRef] = field(default_factory=list)
    drops: list[ObjectRef] = field(default_factory=list)
    alters: list[ObjectRef] = field(default_factory=list)
    renames: list[tuple[ObjectRef, ObjectRef]] = field(default_factory=list)
    absorbs: list[ObjectRef] = field(default_factory=list)
    uses: list[ObjectRef] = field(default_factory=list)
    column_uses: list[ObjectRef] = field(default_factory=list)
    if_exists: bool = False
    if_not_exists: bool = False
    drops_if_exists: list[ObjectRef] = field(default_factory=list)
    depends_on: list[ObjectRef] = field(default_factory=list)
    keys: dict[tuple[str, str | None, str | None, str], KeyInfo] = field(default_factory=dict)
    column_types: dict[tuple[str, str | None, str | None, str], str] = field(default_factory=dict)
    retypes: list[Retype] = field(default_factory=list)
    data_change: str | None = None
    data_targets: list[ObjectRef] = field(default_factory=list)
    transaction: bool = False
    opaque: bool = False
    lock: Lock | None = None
    heavy: list[HeavyStep] = field(default_factory=list)
    validations: list[Validation] = field(default_factory=list)
    cascade: bool = False
    concurrently: bool = False
    suppressed: frozenset[str] = frozenset()
    offset: int = 0
    length: int = 0

    def take_lock(self, mode: Lock) -> None:
        """Record a lock, keeping the strongest."""
        if self.lock is None or list(Lock).index(mode) > list(Lock).index(self.lock):
            self.lock = mode

    def hold(self, step: HeavyStep) -> None:
        """Record a heavy step, and the lock it holds."""
        self.take_lock(step.lock)
        self.heavy.append(step)

    @property
    def needs(self) -> list[ObjectRef]:
        """The objects that must exist for it to run, columns included: what it uses,
        alters, drops and renames, the tables and columns its new objects hang on or read
        (an index's or constraint's key, a foreign key's referenced columns), an index it
        makes a constraint's — not what it makes itself, nor what it names under
        ``IF EXISTS``. Without duplicates, in the statement's order."""
        if self.if_exists:
            return []
        found = [*self.uses, *self.alters, *self.drops, *(old for old, _ in self.renames)]
        found += [ref.parent for ref in self.creates if ref.parent is not None]
        found += self.absorbs
        for key in self.keys.values():
            found += [
                ObjectRef(ObjectKind.COLUMN, key.table.schema, column, table=key.table.name)
                for column in sorted(key.reads)
            ]
        found += self.column_uses
        skipped = {ref.identity for ref in [*self.creates, *self.drops_if_exists]}
        needs: dict[tuple[str, str | None, str | None, str], ObjectRef] = {}
        for ref in found:
            if ref.identity not in skipped:
                needs.setdefault(ref.identity, ref)
        return list(needs.values())
