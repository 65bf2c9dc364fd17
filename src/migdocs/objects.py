"""Database objects as migdocs names them: one vocabulary for catalog, SQL and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class ObjectKind(StrEnum):
    """The kinds of schema objects migdocs tracks."""

    SCHEMA = "schema"
    EXTENSION = "extension"
    TABLE = "table"
    COLUMN = "column"
    CONSTRAINT = "constraint"
    INDEX = "index"
    VIEW = "view"
    MATVIEW = "matview"
    SEQUENCE = "sequence"
    TYPE = "type"
    FUNCTION = "function"
    TRIGGER = "trigger"
    POLICY = "policy"


#: Kinds whose objects hang on a table: named ``schema.table.name``.
CHILD_KINDS = frozenset(
    {ObjectKind.COLUMN, ObjectKind.CONSTRAINT, ObjectKind.TRIGGER, ObjectKind.POLICY}
)
#: Kinds that live outside any schema: named ``name``.
GLOBAL_KINDS = frozenset({ObjectKind.SCHEMA, ObjectKind.EXTENSION})
#: Kinds that share the relation namespace of a schema (pg_class).
RELATION_KINDS = frozenset(
    {
        ObjectKind.TABLE,
        ObjectKind.INDEX,
        ObjectKind.VIEW,
        ObjectKind.MATVIEW,
        ObjectKind.SEQUENCE,
    }
)

#: The catalog's ``creates``/``drops`` keys and the kinds each one declares.
CATALOG_KEYS: dict[str, tuple[ObjectKind, ...]] = {
    "schemas": (ObjectKind.SCHEMA,),
    "extensions": (ObjectKind.EXTENSION,),
    "tables": (ObjectKind.TABLE,),
    "columns": (ObjectKind.COLUMN,),
    "indexes": (ObjectKind.INDEX,),
    "constraints": (ObjectKind.CONSTRAINT,),
    "views": (ObjectKind.VIEW,),
    "materialized_views": (ObjectKind.MATVIEW,),
    "sequences": (ObjectKind.SEQUENCE,),
    "types": (ObjectKind.TYPE,),
    "functions": (ObjectKind.FUNCTION,),
    "triggers": (ObjectKind.TRIGGER,),
}
#: Kinds that are never declared: a policy is a table's access rule, documented with the
#: table and the migration's prose rather than listed as an object of its own.
IMPLICIT_KINDS = frozenset({ObjectKind.POLICY})
#: The catalog key under which an object of each kind is declared (None: not declarable).
#: Each kind has its own key, so check and replay compare declarations the same way.
CATALOG_KEY_OF: dict[ObjectKind, str | None] = {
    kind: key for key, kinds in CATALOG_KEYS.items() for kind in kinds
} | dict.fromkeys(IMPLICIT_KINDS)

DEFAULT_SCHEMA = "public"


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """One schema object, named the way PostgreSQL resolves it.

    Attributes:
        kind: What the object is.
        schema: Its schema (``None`` for schemas and extensions).
        name: Its own name; for a function, the name without arguments.
        table: The table it hangs on, for columns, constraints, triggers and policies;
            for an index, the table it indexes (not part of its identity).
        args: A function's argument types, as PostgreSQL prints them, where known.
    """

    kind: ObjectKind
    schema: str | None
    name: str
    table: str | None = None
    args: str | None = None
    identity: tuple[str, str | None, str | None, str] = field(init=False, repr=False, compare=False)
    """What makes two references the same object (an index's table is not part of it)."""
    parent: ObjectRef | None = field(init=False, repr=False, compare=False)
    """The table this object belongs to (its owner for drops and renames), if any."""

    def __post_init__(self) -> None:
        # StrEnum members are str: using the member itself avoids Enum's slow `.value`.
        child = self.kind in CHILD_KINDS
        object.__setattr__(
            self, "identity", (self.kind, self.schema, self.table if child else None, self.name)
        )
        parent = None
        if self.table is not None and (child or self.kind == "index"):
            # Tables are shared: a history names the same few thousand tables again and again.
            key = (self.schema, self.table)
            parent = _TABLES.get(key)
            if parent is None:
                parent = _TABLES[key] = ObjectRef(ObjectKind.TABLE, self.schema, self.table)
        object.__setattr__(self, "parent", parent)

    @property
    def qualified(self) -> str:
        """``schema.name``, ``schema.table.name`` or ``name``, as the catalog writes it."""
        return ".".join(quote_part(part) for part in _name_parts(self))

    @property
    def declared(self) -> str:
        """The name as a catalog declares it: :attr:`qualified` without the default schema."""
        parts = _name_parts(self)
        if self.kind not in GLOBAL_KINDS and parts[0] == DEFAULT_SCHEMA:
            parts = parts[1:]
        return ".".join(quote_part(part) for part in parts)

    @property
    def key(self) -> str:
        """The report's name of the object: ``kind:schema.name`` (functions with arguments).

        Its parts are joined as they are, never quoted: the snapshot builds the same key in
        SQL (``kind || ':' || nspname || '.' || relname``), and the two must meet."""
        suffix = (
            f"({self.args})" if self.kind is ObjectKind.FUNCTION and self.args is not None else ""
        )
        return f"{self.kind.value}:{'.'.join(_name_parts(self))}{suffix}"

    @property
    def shown(self) -> str:
        """``kind name`` as messages print it: the name as the catalog writes it, qualified,
        with a function's arguments (``policy storage.objects."Anyone can upload."``)."""
        suffix = (
            f"({self.args})" if self.kind is ObjectKind.FUNCTION and self.args is not None else ""
        )
        return f"{self.kind.value} {self.qualified}{suffix}"

    def same(self, other: ObjectRef) -> bool:
        """Whether both name the same object (functions match by name if arguments are unknown)."""
        if self.identity != other.identity:
            return False
        return self.args is None or other.args is None or self.args == other.args

    def __str__(self) -> str:
        return self.key


#: The table reference of each ``(schema, table)`` that is a parent (references are immutable).
_TABLES: dict[tuple[str | None, str], ObjectRef] = {}


#: How an object is looked up for dependencies and history: (kind, or ``relation`` for what
#: shares pg_class's namespace — a table and an index cannot share a name in one schema —,
#: schema, table for a table's part, name).
Identity = tuple[str, str | None, str | None, str]


def lookup_identity(ref: ObjectRef) -> Identity:
    """``ref``'s identity for lookups: relations share one namespace per schema."""
    if ref.kind in RELATION_KINDS:
        return ("relation", ref.schema, None, ref.name)
    return ref.identity


#: Parts of a table that the catalog tells apart by their table (policies are not declared).
_DECLARED_WITH_TABLE = frozenset({ObjectKind.COLUMN, ObjectKind.CONSTRAINT, ObjectKind.TRIGGER})


def found_among(ref: ObjectRef, among: Iterable[ObjectRef]) -> bool:
    """Whether ``ref`` is among ``among`` as the catalog declares objects: the same catalog
    key, schema and name, and for a table's part the same table (a view and a materialized
    view of one name are different objects)."""
    key = CATALOG_KEY_OF.get(ref.kind)
    return any(
        CATALOG_KEY_OF.get(other.kind) == key
        and other.schema == ref.schema
        and other.name == ref.name
        and (ref.kind not in _DECLARED_WITH_TABLE or other.table == ref.table)
        for other in among
    )


def split_name(text: str) -> list[str]:
    """Split a dotted catalog name into its parts, each as PostgreSQL stores it.

    A catalog writes names exactly as ``pg_class`` shows them, so letters keep their case
    (``Users`` is the table made by ``CREATE TABLE "Users"``, ``users`` the one made by
    ``CREATE TABLE Users``); a part holding ``.`` or ``"`` is written quoted, SQL-style
    (``"a.b"``; a quote inside is doubled). Each part is cut to 63 bytes, as PostgreSQL cuts it.
    """
    if '"' not in text:
        return [truncate_identifier(part) for part in text.split(".")]
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            if quoted and i + 1 < len(text) and text[i + 1] == '"':
                current.append('"')
                i += 1
            else:
                quoted = not quoted
        elif char == "." and not quoted:
            parts.append(truncate_identifier("".join(current)))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append(truncate_identifier("".join(current)))
    return parts


def quote_part(name: str) -> str:
    """One part of a name as the catalog writes it: as stored, quoted only when it holds
    ``.`` or ``"`` (reading it back unquoted would split it)."""
    if "." not in name and '"' not in name:
        return name
    return '"' + name.replace('"', '""') + '"'


def case_twin(ref: ObjectRef, among: Iterable[ObjectRef]) -> ObjectRef | None:
    """The object among ``among`` whose name differs from ``ref``'s only in letter case
    (a declaration ``users`` for the table ``CREATE TABLE "Users"`` makes), if any."""
    wanted = tuple(part.casefold() for part in _name_parts(ref))
    for other in among:
        if other.kind is not ref.kind or other.identity == ref.identity:
            continue
        if tuple(part.casefold() for part in _name_parts(other)) == wanted:
            return other
    return None


def _name_parts(ref: ObjectRef) -> tuple[str, ...]:
    if ref.kind in GLOBAL_KINDS:
        return (ref.name,)
    if ref.kind in CHILD_KINDS:
        return (ref.schema or DEFAULT_SCHEMA, ref.table or "", ref.name)
    return (ref.schema or DEFAULT_SCHEMA, ref.name)


def truncate_identifier(name: str) -> str:
    """An identifier as PostgreSQL stores it: at most 63 bytes (NAMEDATALEN - 1)."""
    encoded = name.encode("utf-8")
    if len(encoded) <= 63:
        return name
    return encoded[:63].decode("utf-8", errors="ignore")


def parse_declared(kind: ObjectKind, text: str) -> ObjectRef:
    """Turn a catalog declaration (``users.deleted_at``, ``app.orders``) into an ObjectRef.

    Raises:
        ValueError: when the name has the wrong number of parts for its kind.
    """
    parts = split_name(text.strip())
    if any(not part for part in parts):
        raise ValueError(f"{text!r} is not a valid name")
    if kind in GLOBAL_KINDS:
        if len(parts) != 1:
            raise ValueError(f"{text!r}: a {kind.value} name has no dots")
        return ObjectRef(kind, None, parts[0])
    if kind in CHILD_KINDS:
        if len(parts) == 2:
            return ObjectRef(kind, DEFAULT_SCHEMA, parts[1], table=parts[0])
        if len(parts) == 3:
            return ObjectRef(kind, parts[0], parts[2], table=parts[1])
        raise ValueError(f"{text!r}: a {kind.value} is named [schema.]table.name")
    if len(parts) == 1:
        return ObjectRef(kind, DEFAULT_SCHEMA, parts[0])
    if len(parts) == 2:
        return ObjectRef(kind, parts[0], parts[1])
    raise ValueError(f"{text!r}: a {kind.value} is named [schema.]name")
