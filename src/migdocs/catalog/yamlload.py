"""YAML 1.2 (core schema) loading that rejects duplicate keys and remembers positions."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

#: libyaml's parser when PyYAML was built with it: several times faster than pure Python.
try:
    from yaml.cyaml import CParser as _CParser  # type: ignore[attr-defined]

    _Parser: Any = _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _Parser = None


def _composer(text: str) -> Any:
    return _CoreComposer(text) if _Parser is not None else _PyCoreComposer(text)


#: Path of a value inside the document: keys and list indexes from the root.
Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass
class Document:
    """A loaded YAML document that can say where each of its values was written.

    Positions are kept as one packed integer per entry of each mapping (its key) and list
    (its item), next to the data, and the parser's node tree is let go as soon as the data
    is built: it takes many times the memory of the data (about 150 MB for a catalog of
    10,000 entries), and kept to the end it would add that to the peak of the whole run.
    """

    data: Any
    start: int | None = None
    """Where the document's value begins (packed), ``None`` for an empty document."""
    entries: dict[int, tuple[Any, list[int]]] = field(default_factory=dict)
    """For each mapping and list of ``data`` (by ``id``, with the object itself, so a
    replaced one is not mistaken for it): where each of its entries was written."""

    def mark(self, path: Path) -> Mark | None:
        """Where the value at ``path`` (or, failing that, its nearest parent) was written.

        A mapping key's own position is preferred, so errors about a key point at the key.
        """
        if self.start is None:
            return None
        node, found = self.data, self.start
        for part in path:
            known = self.entries.get(id(node))
            if known is None or known[0] is not node:
                break
            index = _entry_index(node, part)
            if index is None:
                break
            found = known[1][index]
            node = node[part]
        return Mark((found >> 32) + 1, (found & 0xFFFFFFFF) + 1)


def _entry_index(node: Any, part: str | int) -> int | None:
    """The position of ``part`` among the entries of a mapping or list, if it is one."""
    if isinstance(node, dict) and isinstance(part, str):
        return next((index for index, key in enumerate(node) if key == part), None)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return part
    return None


def _packed(mark: Any) -> int:
    """A parser mark (0-based line and column) as one integer, as `_convert` packs them."""
    return int(mark.line) << 32 | int(mark.column)


class YamlError(Exception):
    """A document that is not valid YAML for migdocs, with its position."""

    def __init__(self, message: str, mark: Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _CoreResolver(yaml.resolver.BaseResolver):
    """Implicit tags of the YAML 1.2 core schema: only true/false are booleans, no timestamps."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        # The parser asks once per node; a direct answer is several times faster than
        # PyYAML's generic walk over its resolver tables.
        if kind is _SCALAR_NODE:
            if implicit[0] and value[:1] in _MAY_NOT_BE_TEXT:
                return _resolve_plain(value)
            return _STR
        return _SEQ if kind is _SEQUENCE_NODE else _MAP


_SCALAR_NODE, _SEQUENCE_NODE = yaml.ScalarNode, yaml.SequenceNode
_TAG = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"
_NULL, _BOOL, _INT_TAG, _FLOAT_TAG = _TAG + "null", _TAG + "bool", _TAG + "int", _TAG + "float"
#: How a plain scalar that is not text can start (null, ~, true, false, numbers, .inf …).
_MAY_NOT_BE_TEXT = frozenset(["", *"~nNtTfF-+.0123456789"])
_BOOLS = frozenset({"true", "True", "TRUE", "false", "False", "FALSE"})
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


def _resolve_plain(value: str) -> str:
    """The core schema's tag for a plain (unquoted) scalar."""
    if value in _NULLS:
        return _NULL
    if value in _BOOLS:
        return _BOOL
    if value[0] in "-+.0123456789":
        if _INT.match(value):
            return _INT_TAG
        if _FLOAT.match(value):
            return _FLOAT_TAG
    return _STR


if _Parser is not None:

    class _CoreComposer(_Parser, _CoreResolver):  # type: ignore[misc]
        def __init__(self, text: str) -> None:
            _Parser.__init__(self, text)
            _CoreResolver.__init__(self)


class _PyCoreComposer(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _CoreResolver,
):
    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _CoreResolver.__init__(self)


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag.removeprefix(_TAG)
    value: str = node.value
    if tag == "str":
        return value
    # An explicit tag (`!!int abc`) reaches here with a value the core schema may not allow.
    if tag == "null":
        if value not in _NULLS:
            raise YamlError(f"{value!r} is not null", _mark(node))
        return None
    if tag == "bool":
        if value not in _BOOLS:
            raise YamlError(f"{value!r} is not a boolean (true or false)", _mark(node))
        return value.lower() == "true"
    if tag == "int" and not _INT.match(value):
        raise YamlError(f"{value!r} is not an integer", _mark(node))
    if tag == "float" and not _FLOAT.match(value):
        raise YamlError(f"{value!r} is not a number", _mark(node))
    if tag == "int":
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value)
    if tag == "float":
        lowered = value.lower()
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered == ".nan":
            return math.nan
        return float(value)
    raise YamlError(f"unsupported tag {node.tag!r}", _mark(node))


def _describe(path: Path) -> str:
    return format_path(path) or "the document"


def format_path(path: Path) -> str:
    """``("migrations", 3, "rollback")`` → ``migrations[3].rollback``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_yaml(text: str) -> Document:
    """Parse one YAML 1.2 document, keeping positions.

    Raises:
        YamlError: on a syntax error, a duplicate key, a non-scalar key or an unknown tag.
    """
    composer = _composer(text)
    try:
        root = composer.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlError(f"invalid YAML: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", None) from None
    finally:
        composer.dispose()
    if root is None:
        return Document(data=None)
    document = Document(data=None, start=_packed(root.start_mark))
    document.data = _convert(root, (), document.entries)
    return document


def _key_text(node: yaml.Node) -> str | None:
    """A mapping key as the loaded data names it (``None`` for a key that is not a scalar)."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    key = node.value if node.tag is _STR else _scalar(node)
    return key if isinstance(key, str) else str(node.value)


def _convert(node: yaml.Node, path: Path, entries: dict[int, tuple[Any, list[int]]]) -> Any:
    if isinstance(node, yaml.ScalarNode):
        # `resolve` hands back the very `_STR` object for text, by far the commonest scalar
        return node.value if node.tag is _STR else _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        items = [
            item.value if item.tag is _STR else _convert(item, (*path, index), entries)
            for index, item in enumerate(node.value)
        ]
        marks = [item.start_mark for item in node.value]
        entries[id(items)] = (items, [mark.line << 32 | mark.column for mark in marks])
        return items
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if key_node.tag is _STR else _key_text(key_node)
            if key is None:
                raise YamlError(f"{_describe(path)}: a key must be a plain value", _mark(key_node))
            if key in result:
                first = next(k for k, _ in node.value if _key_text(k) == key)
                raise YamlError(
                    f"{_describe(path)}: duplicate key {key!r} (first at line "
                    f"{first.start_mark.line + 1})",
                    _mark(key_node),
                )
            result[key] = (
                value_node.value
                if value_node.tag is _STR
                else _convert(value_node, (*path, key), entries)
            )
        marks = [key.start_mark for key, _ in node.value]
        entries[id(result)] = (result, [mark.line << 32 | mark.column for mark in marks])
        return result
    raise YamlError(f"unsupported YAML node at {_describe(path)}", _mark(node))  # pragma: no cover
