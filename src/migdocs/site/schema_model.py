"""The tables the migrations build, read from their SQL for the schema reference: columns in
table order with their types as PostgreSQL prints them, keys, indexes as ``pg_get_indexdef``
prints them, comments, policies, triggers, and each table's history by migration.

The site has no database: this is what static analysis of the SQL can tell (defaults and
checks are shown as the migrations write them). A statement that cannot be read is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pglast
from pglast import ast, enums
from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS
from pglast.stream import RawStream

from migdocs.sql.names import constraint_name, index_name

if TYPE_CHECKING:
    from migdocs.project import Project

#: A table's name: (schema, table); the schema is ``public`` where the SQL names none.
TableName = tuple[str, str]

#: Built-in types by their internal name, as ``format_type`` prints them.
_TYPES = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "bpchar": "character",
    "varbit": "bit varying",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "time": "time without time zone",
    "timetz": "time with time zone",
}
#: Types that make a sequence: their column's type and the default they get.
_SERIALS = {
    "smallserial": "smallint",
    "serial2": "smallint",
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
}
_ACTIONS = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
_RESERVED = RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS


def ident(name: str) -> str:
    """An identifier as PostgreSQL prints it: quoted when it must be."""
    if _PLAIN.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class HistoryStep:
    """One step of an object's history: what a migration did to it."""

    migration: str
    what: str


@dataclass
class SchemaColumn:
    """A column: its type as PostgreSQL prints it, nullability and default as written."""

    name: str
    type: str
    not_null: bool = False
    default: str | None = None
    comment: str | None = None


@dataclass
class Constraint:
    """A table constraint. ``columns`` and, for a foreign key, ``target`` and its columns
    make its definition again after a rename; a check's text stays as written."""

    name: str
    kind: str  # PRIMARY KEY, FOREIGN KEY, UNIQUE, CHECK, EXCLUDE
    columns: list[str] = field(default_factory=list)
    target: TableName | None = None
    target_columns: list[str] = field(default_factory=list)
    actions: str = ""
    text: str = ""

    def definition(self) -> str:
        """The constraint as ``pg_get_constraintdef`` prints it (near enough)."""
        columns = ", ".join(ident(c) for c in self.columns)
        if self.kind in ("PRIMARY KEY", "UNIQUE"):
            return f"{self.kind} ({columns})"
        if self.kind == "FOREIGN KEY" and self.target is not None:
            target = qualified(self.target)
            to = ", ".join(ident(c) for c in self.target_columns)
            return f"FOREIGN KEY ({columns}) REFERENCES {target}({to}){self.actions}"
        return self.text


@dataclass
class Index:
    """An index, with what its ``pg_get_indexdef`` is made of."""

    name: str
    unique: bool
    method: str
    elements: list[str]
    include: list[str] = field(default_factory=list)
    where: str = ""

    def definition(self, table: TableName) -> str:
        """The index as ``pg_get_indexdef`` prints it."""
        unique = "UNIQUE " if self.unique else ""
        text = (
            f"CREATE {unique}INDEX {ident(self.name)} ON {qualified(table, always=True)} "
            f"USING {self.method} ({', '.join(self.elements)})"
        )
        if self.include:
            text += f" INCLUDE ({', '.join(self.include)})"
        if self.where:
            text += f" WHERE ({self.where})"
        return text


@dataclass
class SchemaTable:
    """A table as the migrations leave it, with its history."""

    schema: str
    name: str
    columns: dict[str, SchemaColumn] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    comment: str | None = None
    policies: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)
    row_security: bool = False
    history: list[HistoryStep] = field(default_factory=list)
    dropped_by: str | None = None

    @property
    def key(self) -> TableName:
        return (self.schema, self.name)

    def primary_key(self) -> list[str]:
        for constraint in self.constraints.values():
            if constraint.kind == "PRIMARY KEY":
                return constraint.columns
        return []

    def foreign_keys(self) -> list[Constraint]:
        return [c for c in self.constraints.values() if c.kind == "FOREIGN KEY"]


def qualified(table: TableName, *, always: bool = False) -> str:
    """A table's name as PostgreSQL prints it (``public`` left out unless ``always``)."""
    schema, name = table
    if schema == "public" and not always:
        return ident(name)
    return f"{ident(schema)}.{ident(name)}"


def deparse(node: Any) -> str:
    """A parse tree's node as SQL."""
    return str(RawStream()(node))


def _modifier(node: Any) -> str:
    """A type modifier as SQL: most are a number (``varchar(64)``), printed here, for
    pglast's printer takes a tenth of a millisecond for each node it is given."""
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer):
        return str(node.val.ival)
    return deparse(node)


def type_name(node: Any) -> str:
    """A type as ``format_type`` prints it: ``timestamp(6) without time zone``."""
    names = [n.sval for n in node.names]
    base = names[-1]
    # `int` arrives as pg_catalog.int4; `bool` or `timestamptz` as written, unqualified.
    builtin = (names[0] == "pg_catalog" and len(names) == 2) or (
        len(names) == 1 and (base in _TYPES or base == "interval")
    )
    mods = [_modifier(m) for m in node.typmods or ()]
    if builtin and base == "interval":
        shown = "interval"  # its field mask is not worth printing
    elif builtin and base in ("timestamp", "timestamptz", "time", "timetz"):
        head, zone = _TYPES[base].split(" ", 1)
        shown = f"{head}({mods[0]}) {zone}" if mods else _TYPES[base]
    else:
        if builtin:
            shown = _TYPES.get(base, base)
        elif len(names) == 1 and base in _SERIALS:
            shown = _SERIALS[base]
        else:
            shown = ".".join(ident(n) for n in names)
        if mods:
            shown += f"({','.join(mods)})"
    return shown + "[]" * len(node.arrayBounds or ())


class TableReader:
    """Reads the migrations' SQL into [SchemaTable][]s, migration by migration."""

    def __init__(self) -> None:
        self.tables: dict[TableName, SchemaTable] = {}
        #: Tables dropped on the way, in the order they went.
        self.dropped: list[SchemaTable] = []
        #: Which table each index is on.
        self.index_table: dict[TableName, TableName] = {}
        self.migration = ""

    @classmethod
    def of(cls, project: Project) -> TableReader:
        """The tables of a project's migrations, in their order."""
        reader = cls()
        for entry in project.entries:
            script = project.forward(entry)
            if script is None or not script.parsed:
                continue
            reader.migration = entry.id
            for statement in script.statements:
                if statement.node not in _READS:  # parsed again only where read
                    continue
                try:
                    nodes = pglast.parse_sql(script.statement_text(statement))
                except pglast.parser.ParseError:
                    continue
                for raw in nodes:
                    reader.read(raw.stmt)
        return reader

    # -- helpers ------------------------------------------------------------------------------

    def _note(self, table: SchemaTable, what: str) -> None:
        table.history.append(HistoryStep(self.migration, what))

    def _table(self, schema: str | None, name: str) -> SchemaTable | None:
        return self.tables.get((schema or "public", name))

    def _named(self, parts: list[str]) -> SchemaTable | None:
        """The table a qualified name (``[schema,] table``) names."""
        if not parts:
            return None
        return self._table(parts[-2] if len(parts) > 1 else None, parts[-1])

    def _relation(self, node: Any) -> SchemaTable | None:
        return self._table(node.schemaname, node.relname)

    # -- statements ---------------------------------------------------------------------------

    def read(self, node: Any) -> None:
        """Apply one statement's parse tree."""
        handler = getattr(self, f"_read_{type(node).__name__}", None)
        if handler is not None:
            handler(node)

    def _read_CreateStmt(self, node: Any) -> None:
        relation = node.relation
        if relation.relpersistence == "t":
            return
        key = (relation.schemaname or "public", relation.relname)
        if key in self.tables and node.if_not_exists:
            return
        table = self.tables[key] = SchemaTable(*key)
        self._note(table, "created")
        pending: list[tuple[ast.Constraint, list[str]]] = []
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                pending += self._column(table, element)
            elif isinstance(element, ast.Constraint):
                pending.append((element, []))
        for constraint, columns in pending:
            self._constraint(table, constraint, columns, note=False)

    def _column(self, table: SchemaTable, node: Any) -> list[tuple[ast.Constraint, list[str]]]:
        """Adds a column; returns its key constraints, for once every column is there."""
        name = node.colname
        column = table.columns[name] = SchemaColumn(name, type_name(node.typeName))
        base = node.typeName.names[-1].sval
        if len(node.typeName.names) == 1 and base in _SERIALS:
            sequence = f"{table.name}_{name}_seq"
            column.default = f"nextval('{qualified((table.schema, sequence))}'::regclass)"
            column.not_null = True
        pending = []
        for constraint in node.constraints or ():
            kind = constraint.contype
            if kind is enums.ConstrType.CONSTR_NOTNULL:
                column.not_null = True
            elif kind is enums.ConstrType.CONSTR_NULL:
                column.not_null = False
            elif kind is enums.ConstrType.CONSTR_DEFAULT:
                column.default = _default(constraint.raw_expr)
            elif kind is enums.ConstrType.CONSTR_IDENTITY:
                when = "ALWAYS" if constraint.generated_when == "a" else "BY DEFAULT"
                column.default = f"GENERATED {when} AS IDENTITY"
                column.not_null = True
            elif kind is enums.ConstrType.CONSTR_GENERATED:
                column.default = f"GENERATED ALWAYS AS ({deparse(constraint.raw_expr)}) STORED"
            else:
                pending.append((constraint, [name]))
        return pending

    def _constraint(
        self, table: SchemaTable, node: Any, columns: list[str], *, note: bool = True
    ) -> None:
        kind = node.contype
        names = [k.sval for k in node.keys or ()] or list(columns)
        C = enums.ConstrType
        if kind is C.CONSTR_PRIMARY:
            name = node.conname or constraint_name(table.name, [], "pkey")
            made = Constraint(name, "PRIMARY KEY", names)
            for column in names:
                if column in table.columns:
                    table.columns[column].not_null = True
        elif kind is C.CONSTR_UNIQUE:
            name = node.conname or index_name(table.name, names, unique=True)
            made = Constraint(name, "UNIQUE", names)
        elif kind is C.CONSTR_FOREIGN:
            names = [k.sval for k in node.fk_attrs or ()] or list(columns)
            pk = node.pktable
            target = (pk.schemaname or "public", pk.relname)
            to = [k.sval for k in node.pk_attrs or ()]
            if not to:
                referenced = self.tables.get(target) or (table if target == table.key else None)
                to = referenced.primary_key() if referenced is not None else []
            actions = ""
            if node.fk_upd_action in _ACTIONS:
                actions += f" ON UPDATE {_ACTIONS[node.fk_upd_action]}"
            if node.fk_del_action in _ACTIONS:
                actions += f" ON DELETE {_ACTIONS[node.fk_del_action]}"
            name = node.conname or constraint_name(table.name, names, "fkey")
            made = Constraint(name, "FOREIGN KEY", names, target, to, actions)
        elif kind in (C.CONSTR_CHECK, C.CONSTR_EXCLUSION):
            label = "check" if kind is C.CONSTR_CHECK else "excl"
            name = node.conname or constraint_name(table.name, names, label)
            text = deparse(node)
            if text.startswith("CONSTRAINT "):  # the name is in its own column
                text = text.split(" ", 2)[2]
            made = Constraint(name, "CHECK" if label == "check" else "EXCLUDE", text=text)
        else:
            return
        table.constraints[name] = made
        if made.kind in ("PRIMARY KEY", "UNIQUE"):
            elements = [ident(c) for c in names]
            table.indexes[name] = Index(name, True, "btree", elements)
            self.index_table[(table.schema, name)] = table.key
        if note:
            self._note(table, f"constraint {name} added")

    def _read_AlterTableStmt(self, node: Any) -> None:
        if node.objtype is not enums.ObjectType.OBJECT_TABLE:
            return
        table = self._relation(node.relation)
        if table is None:
            return
        T = enums.AlterTableType
        for command in node.cmds or ():
            kind, name = command.subtype, command.name
            column = table.columns.get(name) if name else None
            if kind is T.AT_AddColumn:
                if command.missing_ok and command.def_.colname in table.columns:
                    continue
                for constraint, columns in self._column(table, command.def_):
                    self._constraint(table, constraint, columns, note=False)
                self._note(table, f"column {command.def_.colname} added")
            elif kind is T.AT_DropColumn and column is not None:
                del table.columns[name]
                self._forget_column(table, name)
                self._note(table, f"column {name} dropped")
            elif kind is T.AT_AlterColumnType and column is not None:
                column.type = type_name(command.def_.typeName)
                self._note(table, f"column {name} retyped to {column.type}")
            elif kind is T.AT_SetNotNull and column is not None:
                column.not_null = True
                self._note(table, f"column {name} set NOT NULL")
            elif kind is T.AT_DropNotNull and column is not None:
                column.not_null = False
                self._note(table, f"column {name} made nullable")
            elif kind is T.AT_ColumnDefault and column is not None:
                column.default = _default(command.def_) if command.def_ is not None else None
                self._note(table, f"column {name} default {'set' if column.default else 'dropped'}")
            elif kind is T.AT_AddConstraint:
                self._constraint(table, command.def_, [])
            elif kind is T.AT_DropConstraint and name in table.constraints:
                del table.constraints[name]
                table.indexes.pop(name, None)
                self._note(table, f"constraint {name} dropped")
            elif kind is T.AT_EnableRowSecurity:
                table.row_security = True
                self._note(table, "row level security enabled")
            elif kind is T.AT_DisableRowSecurity:
                table.row_security = False
                self._note(table, "row level security disabled")

    def _forget_column(self, table: SchemaTable, name: str) -> None:
        """What goes with a dropped column: the keys and plain indexes on it."""
        for key, constraint in list(table.constraints.items()):
            if name in constraint.columns:
                del table.constraints[key]
                table.indexes.pop(key, None)
        for key, index in list(table.indexes.items()):
            if ident(name) in index.elements:
                del table.indexes[key]

    def _read_RenameStmt(self, node: Any) -> None:
        kinds = enums.ObjectType
        kind, new = node.renameType, node.newname
        if kind is kinds.OBJECT_INDEX:
            schema = node.relation.schemaname or "public"
            owner = self.index_table.pop((schema, node.relation.relname), None)
            table = self.tables.get(owner) if owner is not None else None
            if table is None:
                return
            index = table.indexes.pop(node.relation.relname, None)
            if index is None:
                return
            index.name = new
            table.indexes[new] = index
            self.index_table[(schema, new)] = table.key
            constraint = table.constraints.pop(node.relation.relname, None)
            if constraint is not None:
                constraint.name = new
                table.constraints[new] = constraint
            self._note(table, f"index {node.relation.relname} renamed to {new}")
            return
        table = self._relation(node.relation) if node.relation is not None else None
        if table is None:
            return
        if kind is kinds.OBJECT_TABLE:
            old = table.key
            del self.tables[old]
            table.name = new
            self.tables[table.key] = table
            for other in self.tables.values():
                for constraint in other.foreign_keys():
                    if constraint.target == old:
                        constraint.target = table.key
            for index_key, owner in list(self.index_table.items()):
                if owner == old:
                    self.index_table[index_key] = table.key
            self._note(table, f"renamed from {old[1]}")
        elif kind is kinds.OBJECT_COLUMN and node.subname in table.columns:
            old_name = node.subname
            table.columns = {
                (new if name == old_name else name): column
                for name, column in table.columns.items()
            }
            table.columns[new].name = new
            for constraint in table.constraints.values():
                constraint.columns = [new if c == old_name else c for c in constraint.columns]
            for other in self.tables.values():
                for constraint in other.foreign_keys():
                    if constraint.target == table.key:
                        constraint.target_columns = [
                            new if c == old_name else c for c in constraint.target_columns
                        ]
            for index in table.indexes.values():
                index.elements = [ident(new) if e == ident(old_name) else e for e in index.elements]
            self._note(table, f"column {old_name} renamed to {new}")
        elif kind is kinds.OBJECT_TABCONSTRAINT and node.subname in table.constraints:
            constraint = table.constraints.pop(node.subname)
            constraint.name = new
            table.constraints[new] = constraint
            index = table.indexes.pop(node.subname, None)
            if index is not None:
                index.name = new
                table.indexes[new] = index
            self._note(table, f"constraint {node.subname} renamed to {new}")

    def _read_DropStmt(self, node: Any) -> None:
        kinds = enums.ObjectType
        for names in node.objects or ():
            parts: list[str] = [n.sval for n in names] if isinstance(names, tuple) else []
            if not parts:
                continue
            if node.removeType is kinds.OBJECT_TABLE:
                table = self._named(parts[-2:])
                if table is not None:
                    del self.tables[table.key]
                    table.dropped_by = self.migration
                    self._note(table, "dropped")
                    self.dropped.append(table)
            elif node.removeType is kinds.OBJECT_INDEX:
                key = ("public" if len(parts) == 1 else parts[-2], parts[-1])
                owner = self.index_table.pop(key, None)
                table = self.tables.get(owner) if owner is not None else None
                if table is not None and table.indexes.pop(parts[-1], None) is not None:
                    self._note(table, f"index {parts[-1]} dropped")
            elif node.removeType in (kinds.OBJECT_POLICY, kinds.OBJECT_TRIGGER) and len(parts) >= 2:
                table = self._named(parts[-3:-1])
                if table is None:
                    continue
                kept = table.policies if node.removeType is kinds.OBJECT_POLICY else table.triggers
                if kept.pop(parts[-1], None) is not None:
                    what = "policy" if node.removeType is kinds.OBJECT_POLICY else "trigger"
                    self._note(table, f"{what} {parts[-1]} dropped")

    def _read_IndexStmt(self, node: Any) -> None:
        table = self._relation(node.relation)
        if table is None:
            return
        elements = []
        for element in node.indexParams or ():
            elements.append(
                ident(element.name) if element.name and _bare(element) else deparse(element)
            )
        columns = [e.name for e in node.indexParams or () if e.name]
        name = node.idxname or index_name(table.name, columns, unique=bool(node.unique))
        if name in table.indexes and node.if_not_exists:
            return
        include = [deparse(e) for e in node.indexIncludingParams or ()]
        where = deparse(node.whereClause) if node.whereClause is not None else ""
        method = node.accessMethod or "btree"
        table.indexes[name] = Index(name, bool(node.unique), method, elements, include, where)
        self.index_table[(table.schema, name)] = table.key
        self._note(table, f"index {name} created")

    def _read_CommentStmt(self, node: Any) -> None:
        kinds = enums.ObjectType
        parts: list[str] = [n.sval for n in node.object] if isinstance(node.object, tuple) else []
        if node.objtype is kinds.OBJECT_TABLE and parts:
            table = self._named(parts[-2:])
            if table is not None:
                table.comment = node.comment
                self._note(table, "comment set" if node.comment else "comment removed")
        elif node.objtype is kinds.OBJECT_COLUMN and len(parts) >= 2:
            table = self._named(parts[-3:-1])
            if table is not None and parts[-1] in table.columns:
                table.columns[parts[-1]].comment = node.comment
                self._note(table, f"comment on column {parts[-1]} set")

    def _read_CreatePolicyStmt(self, node: Any) -> None:
        table = self._relation(node.table)
        if table is not None:
            text = deparse(node)
            table.policies[node.policy_name] = text
            self._note(table, f"policy {node.policy_name} created")

    def _read_CreateTrigStmt(self, node: Any) -> None:
        table = self._relation(node.relation)
        if table is not None:
            table.triggers[node.trigname] = deparse(node)
            self._note(table, f"trigger {node.trigname} created")


def _bare(element: ast.IndexElem) -> bool:
    """Whether an index element is a column alone (no order, collation or operator class)."""
    return (
        element.expr is None
        and not element.collation
        and not element.opclass
        and element.ordering is enums.SortByDir.SORTBY_DEFAULT
        and element.nulls_ordering is enums.SortByNulls.SORTBY_NULLS_DEFAULT
    )


def _default(node: Any) -> str:
    """A default as written, with its booleans as PostgreSQL prints them."""
    text = deparse(node)
    return text.lower() if text in ("TRUE", "FALSE") else text


#: The statements the reader applies: those it has a ``_read_…`` method for.
_READS = frozenset(
    name.removeprefix("_read_") for name in vars(TableReader) if name.startswith("_read_")
)
