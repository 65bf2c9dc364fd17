"""CREATE TABLE and ALTER TABLE: the columns and constraints they make, and what each step
locks, rewrites or scans."""

from __future__ import annotations

from migdocs.objects import ObjectKind, ObjectRef, quote_part
from migdocs.sql.effects import HeavyStep, KeyInfo, Lock, Retype, Statement, Validation
from migdocs.sql.names import constraint_name, index_name
from migdocs.sql.registry import Handlers, Reading
from migdocs.sql.tree import (
    COMMAND_WORDS,
    OBJECT_KINDS,
    Node,
    child,
    func_name,
    index_key,
    node_of,
    strings,
    type_name,
    walk,
)

handles = Handlers()

#: Functions whose result differs per row: as a column default they force a table rewrite.
VOLATILE_FUNCTIONS = frozenset(
    {
        "random",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuidv4",
        "uuidv7",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "txid_current",
        "setseed",
    }
)

#: The serial pseudo-types and the integer type each really makes.
_SERIAL_TYPES = {
    "serial": "int4",
    "serial4": "int4",
    "bigserial": "int8",
    "serial8": "int8",
    "smallserial": "int2",
    "serial2": "int2",
}

#: The suffix of the name PostgreSQL gives each type of constraint (``users_email_key``).
_CONSTRAINT_LABELS = {
    "CONSTR_PRIMARY": "pkey",
    "CONSTR_UNIQUE": "key",
    "CONSTR_FOREIGN": "fkey",
    "CONSTR_CHECK": "check",
    "CONSTR_EXCLUSION": "excl",
}
#: How a finding names each constraint type.
_CONSTRAINT_WORDS = {
    "CONSTR_PRIMARY": "PRIMARY KEY",
    "CONSTR_UNIQUE": "UNIQUE",
    "CONSTR_FOREIGN": "FOREIGN KEY",
    "CONSTR_CHECK": "CHECK",
    "CONSTR_EXCLUSION": "EXCLUDE",
}
_REWRITES = {
    "AT_SetLogged": "SET LOGGED rewrites the table",
    "AT_SetUnLogged": "SET UNLOGGED rewrites the table",
    "AT_SetTableSpace": "SET TABLESPACE copies the table",
    "AT_SetAccessMethod": "SET ACCESS METHOD rewrites the table",
    "AT_SetExpression": "SET EXPRESSION recomputes the column for every row",
}
_COLUMN_COMMANDS = frozenset(
    {
        "AT_ColumnDefault",
        "AT_DropNotNull",
        "AT_SetStatistics",
        "AT_SetOptions",
        "AT_ResetOptions",
        "AT_SetStorage",
        "AT_SetCompression",
        "AT_AddIdentity",
        "AT_SetIdentity",
        "AT_DropIdentity",
        "AT_DropExpression",
        "AT_AlterColumnGenericOptions",
    }
)
_ALTER_LOCKS = {
    "AT_ValidateConstraint": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_SetStatistics": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_ClusterOn": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_DropCluster": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_SetRelOptions": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_AttachPartition": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_EnableTrig": Lock.SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrig": Lock.SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigAll": Lock.SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigAll": Lock.SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigUser": Lock.SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigUser": Lock.SHARE_ROW_EXCLUSIVE,
}


@handles("CreateStmt", command="CREATE TABLE")
def create_table(reading: Reading, statement: Statement, body: Node) -> None:
    """A table, its columns and constraints; the tables it inherits from or copies are used."""
    relation = body["relation"]
    table = reading.relation(relation)
    if relation.get("relpersistence") == "t":
        return  # temporary: gone at the end of the session
    statement.creates.append(table)
    for parent in body.get("inhRelations") or ():
        if "RangeVar" in parent:
            statement.uses.append(reading.relation(parent["RangeVar"]))
    for element in body.get("tableElts") or ():
        tag, node = node_of(element)
        if tag == "ColumnDef":
            _column(reading, statement, table, node, existing=False)
        elif tag == "Constraint":
            _constraint(reading, statement, table, node, existing=False)
        elif tag == "TableLikeClause":
            statement.uses.append(reading.relation(node["relation"]))


def _column(
    reading: Reading, statement: Statement, table: ObjectRef, node: Node, *, existing: bool
) -> None:
    """A column of ``table``; added to an ``existing`` table, the rows it rewrites or checks."""
    name = node["colname"]
    column = child(ObjectKind.COLUMN, table, name)
    statement.creates.append(column)
    typ = node.get("typeName")
    type_text = type_name(typ) if typ else ""
    # A serial is an integer column with a sequence: its type is the integer's.
    statement.column_types[column.identity] = _SERIAL_TYPES.get(type_text, type_text)
    if typ is not None:
        type_use(reading, statement, typ)
    rewrite: str | None = None
    fix = "add the column without the default, backfill it in batches, then set the default"
    if type_text in _SERIAL_TYPES:
        rewrite = (
            f"adds {type_text} column {quote_part(name)}, which fills every row from a sequence"
        )
        fix = (
            f"add a plain {_SERIAL_TYPES[type_text]} column, backfill it in batches, then "
            "make a sequence its default"
        )
    not_null = has_default = False
    for wrapped in node.get("constraints") or ():
        constraint = wrapped["Constraint"]
        contype = constraint["contype"]
        if contype == "CONSTR_DEFAULT":
            has_default = True
            calls = {func_name(call) for call in walk(constraint.get("raw_expr"), "FuncCall")}
            volatile = sorted(calls & VOLATILE_FUNCTIONS)
            if volatile:
                rewrite = (
                    f"adds column {quote_part(name)} with a volatile default ({volatile[0]}())"
                )
                fix = (
                    "add the column without the default, backfill it in batches, then set "
                    "the default"
                )
        elif contype == "CONSTR_IDENTITY":
            has_default = True
            rewrite = f"adds identity column {quote_part(name)}, which fills every row"
            fix = (
                "add a plain column, backfill it in batches, then ALTER COLUMN … ADD "
                "GENERATED … AS IDENTITY (which does not rewrite)"
            )
        elif contype == "CONSTR_GENERATED" and constraint.get("generated_kind") != "v":
            has_default = True
            rewrite = f"adds stored generated column {quote_part(name)}, computed for every row"
            fix = (
                "adding a stored generated column always rewrites the table: do it in a "
                "maintenance window, or keep a plain column filled by a trigger and "
                "backfilled in batches"
            )
        elif contype == "CONSTR_NOTNULL":
            not_null = True
        else:
            _constraint(reading, statement, table, constraint, existing=existing, column=name)
    if existing:
        if rewrite:
            statement.heavy.append(
                HeavyStep(
                    table,
                    Lock.ACCESS_EXCLUSIVE,
                    rewrite,
                    rewrites=True,
                    fix=fix,
                )
            )
        if not_null and not has_default:
            statement.validations.append(
                Validation(table, f"adds NOT NULL column {quote_part(name)} without a default")
            )


def _constraint(
    reading: Reading,
    statement: Statement,
    table: ObjectRef,
    node: Node,
    *,
    existing: bool,
    column: str | None = None,
) -> None:
    """The constraint ``node`` (of ``column``, if a column's) adds to ``table``: its name,
    its key, and, when the table is ``existing``, the rows it checks while writes wait."""
    contype = node["contype"]
    label = _CONSTRAINT_LABELS.get(contype)
    if label is None:
        return  # NOT NULL, DEFAULT, NULL, DEFERRABLE…: no constraint of its own here
    keys = _constraint_keys(reading, statement, node, column)
    name = node.get("conname")
    using = node.get("indexname")
    if using is not None:
        # The index becomes the constraint's (renamed to its name): no index of its own.
        statement.absorbs.append(child(ObjectKind.INDEX, table, using))
        name = name or using
    if name is None:
        name = _default_constraint_name(table, contype, keys, label)
    constraint = child(ObjectKind.CONSTRAINT, table, name)
    statement.creates.append(constraint)
    if contype == "CONSTR_EXCLUSION":
        elems = []
        for pair in node.get("exclusions") or ():
            items = pair.get("List", {}).get("items") or [{}]
            if "IndexElem" in items[0]:
                elems.append(items[0]["IndexElem"])
        statement.keys[constraint.identity] = index_key(
            table,
            elems,
            unique=False,
            where=node.get("where_clause"),
            method=node.get("access_method") or "gist",
        )
    else:
        statement.keys[constraint.identity] = KeyInfo(
            table,
            tuple(keys),
            unique=contype in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"),
            indexed=contype in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"),
        )
    if existing:
        _constraint_steps(statement, table, node, name)


def _constraint_keys(
    reading: Reading, statement: Statement, node: Node, column: str | None
) -> list[str]:
    """The columns a constraint is on; a foreign key's referenced table and columns become
    uses of ``statement``."""
    contype = node["contype"]
    keys = strings(node.get("keys")) or ([column] if column else [])
    if contype == "CONSTR_FOREIGN":
        keys = strings(node.get("fk_attrs")) or keys
        pktable = node.get("pktable")
        if pktable is not None:
            target = reading.relation(pktable)
            statement.uses.append(target)
            statement.column_uses += [
                child(ObjectKind.COLUMN, target, name) for name in strings(node.get("pk_attrs"))
            ]
    elif contype == "CONSTR_CHECK":
        referenced = sorted(
            {strings(ref.get("fields"))[-1] for ref in walk(node.get("raw_expr"), "ColumnRef")}
            - {""}
        )
        keys = referenced if column is None else [column]
    elif contype == "CONSTR_EXCLUSION":
        keys = [
            elem["IndexElem"]["name"]
            for pair in node.get("exclusions") or ()
            for elem in pair.get("List", {}).get("items", [])[:1]
            if "IndexElem" in elem and elem["IndexElem"].get("name")
        ]
    return keys


def _default_constraint_name(table: ObjectRef, contype: str, keys: list[str], label: str) -> str:
    """The name PostgreSQL gives a constraint that is not named."""
    if contype == "CONSTR_PRIMARY":
        return index_name(table.name, keys, primary=True)
    if contype == "CONSTR_UNIQUE":
        return index_name(table.name, keys, unique=True)
    if contype == "CONSTR_CHECK":
        return constraint_name(table.name, keys if len(keys) == 1 else [], "check")
    return constraint_name(table.name, keys, label)


def _constraint_steps(statement: Statement, table: ObjectRef, node: Node, name: str) -> None:
    """What adding constraint ``name`` to a table with rows checks, and the lock it holds."""
    contype = node["contype"]
    validated = not node.get("skip_validation")
    described = f"{_CONSTRAINT_WORDS[contype]} constraint {quote_part(name)}"
    if validated:
        statement.validations.append(Validation(table, f"adds {described}"))
    if contype in ("CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION"):
        if node.get("indexname") is None:
            statement.heavy.append(
                HeavyStep(
                    table,
                    Lock.ACCESS_EXCLUSIVE,
                    f"adds {described}, building its index while writes wait",
                    rewrites=False,
                    fix="CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … USING INDEX",
                )
            )
    elif validated and contype in ("CONSTR_CHECK", "CONSTR_FOREIGN"):
        lock = Lock.SHARE_ROW_EXCLUSIVE if contype == "CONSTR_FOREIGN" else Lock.ACCESS_EXCLUSIVE
        statement.heavy.append(
            HeavyStep(
                table,
                lock,
                f"adds {described}, scanning every row while writes wait",
                rewrites=False,
                fix="add it NOT VALID, then VALIDATE CONSTRAINT in a later step",
            )
        )


@handles("AlterTableStmt")
def alter_table(reading: Reading, statement: Statement, body: Node) -> None:
    """ALTER TABLE (or ALTER INDEX, VIEW, SEQUENCE…, the command it names): each step's
    effect on the table, and the strongest lock of them all."""
    objtype = body.get("objtype", "OBJECT_TABLE")
    kind = OBJECT_KINDS.get(objtype, ObjectKind.TABLE)
    statement.command = f"ALTER {COMMAND_WORDS.get(kind, 'TABLE')}"
    target = reading.relation(body["relation"], kind)
    statement.if_exists = bool(body.get("missing_ok"))
    if not statement.if_exists:
        statement.uses.append(target)
    if kind is not ObjectKind.TABLE:
        statement.alters.append(target)
        statement.take_lock(Lock.ACCESS_EXCLUSIVE)
        return
    table = target
    for wrapped in body.get("cmds") or ():
        cmd = wrapped["AlterTableCmd"]
        subtype = cmd["subtype"]
        name = cmd.get("name")
        lock = _ALTER_LOCKS.get(subtype, Lock.ACCESS_EXCLUSIVE)
        if subtype == "AT_AddColumn":
            _column(reading, statement, table, cmd["def"]["ColumnDef"], existing=True)
        elif subtype == "AT_DropColumn":
            _drop_part(statement, child(ObjectKind.COLUMN, table, name), cmd)
        elif subtype == "AT_AlterColumnType":
            column = child(ObjectKind.COLUMN, table, name)
            definition = cmd["def"]["ColumnDef"]
            new_type = type_name(definition["typeName"])
            statement.retypes.append(Retype(column, new_type))
            statement.alters.append(column)
            type_use(reading, statement, definition["typeName"])
        elif subtype == "AT_SetNotNull":
            statement.alters.append(child(ObjectKind.COLUMN, table, name))
            statement.validations.append(Validation(table, f"sets {quote_part(name)} NOT NULL"))
            statement.heavy.append(
                HeavyStep(
                    table,
                    Lock.ACCESS_EXCLUSIVE,
                    f"sets {quote_part(name)} NOT NULL, "
                    "scanning every row while reads and writes wait",
                    rewrites=False,
                    fix="add CHECK (… IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL",
                )
            )
        elif subtype == "AT_AddConstraint":
            constraint = cmd["def"]["Constraint"]
            if constraint["contype"] == "CONSTR_NOTNULL":
                for column_name in strings(constraint.get("keys")):
                    statement.alters.append(child(ObjectKind.COLUMN, table, column_name))
                    statement.validations.append(Validation(table, f"sets {column_name} NOT NULL"))
            else:
                _constraint(reading, statement, table, constraint, existing=True)
                if constraint["contype"] == "CONSTR_FOREIGN":
                    lock = Lock.SHARE_ROW_EXCLUSIVE
        elif subtype == "AT_DropConstraint":
            _drop_part(statement, child(ObjectKind.CONSTRAINT, table, name), cmd)
        elif subtype == "AT_ValidateConstraint":
            statement.alters.append(child(ObjectKind.CONSTRAINT, table, name))
            statement.validations.append(
                Validation(table, f"validates constraint {quote_part(name)}")
            )
        elif subtype in _REWRITES:
            statement.alters.append(table)
            statement.heavy.append(
                HeavyStep(
                    table,
                    Lock.ACCESS_EXCLUSIVE,
                    _REWRITES[subtype],
                    rewrites=True,
                    fix="do it in a maintenance window, or build a new table and swap",
                )
            )
        elif name is not None and subtype in _COLUMN_COMMANDS:
            statement.alters.append(child(ObjectKind.COLUMN, table, name))
        else:
            statement.alters.append(table)
        statement.take_lock(lock)


def _drop_part(statement: Statement, part: ObjectRef, cmd: Node) -> None:
    """A column or constraint that ALTER TABLE's ``cmd`` drops."""
    statement.drops.append(part)
    if cmd.get("missing_ok"):
        statement.drops_if_exists.append(part)
    statement.cascade = statement.cascade or cmd.get("behavior") == "DROP_CASCADE"


def type_use(reading: Reading, statement: Statement, node: Node) -> None:
    """A type named by ``node`` is used, unless it is one of PostgreSQL's own."""
    names = strings(node.get("names"))
    if names and names[0] != "pg_catalog":
        statement.uses.append(reading.qualified(names, ObjectKind.TYPE))
