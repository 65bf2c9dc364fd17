"""The names PostgreSQL gives to objects created without one, and its 63-byte identifier limit."""

from __future__ import annotations

NAMEDATALEN = 64


def _clip(name: str, max_bytes: int) -> str:
    encoded = name.encode("utf-8")
    if len(encoded) <= max_bytes:
        return name
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """PostgreSQL's ``makeObjectName``: ``name1_name2_label``, shortening the longer name first."""
    chars1 = len(name1.encode("utf-8"))
    chars2 = len(name2.encode("utf-8")) if name2 else 0
    overhead = (len(label) + 1 if label else 0) + (1 if name2 else 0)
    available = NAMEDATALEN - 1 - overhead
    while chars1 + chars2 > available:
        if chars1 > chars2:
            chars1 -= 1
        else:
            chars2 -= 1
    result = _clip(name1, chars1)
    if name2:
        result += "_" + _clip(name2, chars2)
    if label:
        result += "_" + label
    return result


def column_addition(columns: list[str]) -> str:
    """PostgreSQL's ``ChooseIndexNameAddition``: column names joined by ``_``, capped in length."""
    out = ""
    for column in columns:
        if out:
            out += "_"
        out += column
        if len(out.encode("utf-8")) >= NAMEDATALEN:
            break
    return _clip(out, NAMEDATALEN - 1)


def index_name(
    table: str, columns: list[str], *, primary: bool = False, unique: bool = False
) -> str:
    """The name of an index or key constraint created without one."""
    if primary:
        return make_object_name(table, None, "pkey")
    return make_object_name(table, column_addition(columns), "key" if unique else "idx")


def constraint_name(table: str, columns: list[str], label: str) -> str:
    """The name of a constraint created without one (``fkey``, ``check``, ``excl``)."""
    addition = column_addition(columns) if columns else None
    return make_object_name(table, addition, label)
