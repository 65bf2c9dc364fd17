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


def _parser(text: str) -> Any:
    return _Parser(text) if _Parser is not None else _PyParser(text)


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
    (its item), next to the data. Both are built from the parser's events: the node tree
    PyYAML's composer would make first takes many times the memory of the data (about
    150 MB for a catalog of 10,000 entries) and a fifth of the time of loading it.
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


class YamlError(Exception):
    """A document that is not valid YAML for migdocs, with its position."""

    def __init__(self, message: str, mark: Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
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


class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's pure Python parser, for a PyYAML built without libyaml."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


def _mark(mark: Any) -> Mark:
    return Mark(mark.line + 1, mark.column + 1)


def _scalar(full_tag: str, value: str, mark: Any) -> Any:
    """The value of a scalar with its (resolved or explicit) tag.

    Raises:
        YamlError: for a tag migdocs does not load, or a value its tag does not allow.
    """
    tag = full_tag.removeprefix(_TAG)
    if tag == "str":
        return value
    # An explicit tag (`!!int abc`) reaches here with a value the core schema may not allow.
    if tag == "null":
        if value not in _NULLS:
            raise YamlError(f"{value!r} is not null", _mark(mark))
        return None
    if tag == "bool":
        if value not in _BOOLS:
            raise YamlError(f"{value!r} is not a boolean (true or false)", _mark(mark))
        return value.lower() == "true"
    if tag == "int" and not _INT.match(value):
        raise YamlError(f"{value!r} is not an integer", _mark(mark))
    if tag == "float" and not _FLOAT.match(value):
        raise YamlError(f"{value!r} is not a number", _mark(mark))
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
    raise YamlError(f"unsupported tag {full_tag!r}", _mark(mark))


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
    parser = _parser(text)
    try:
        return _Builder(parser.get_event).document()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlError(f"invalid YAML: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", None) from None
    finally:
        parser.dispose()


#: How many values aliases may repeat, besides `ALIAS_RATIO` times the values the document
#: writes itself: a catalog that shares a few `rollback:` blocks stays far below, while an
#: alias bomb (anchors of aliases of anchors: a kilobyte that stands for billions of values)
#: is refused at the alias that goes past it, before it takes memory. The budget grows with
#: the document, as yaml.v3's alias ratio does.
ALIAS_ALLOWANCE = 10_000
#: How many values aliases may repeat per value the document writes itself.
ALIAS_RATIO = 2

#: What a mapping has while it waits for its next key (a key of ``None`` is "null").
_NO_KEY: Any = object()


@dataclass(slots=True)
class _Anchored:
    """What an anchor names, for its aliases: the value, where it was written, and (for a
    scalar) its text, which is what names a mapping key."""

    value: Any
    mark: Any
    text: str | None
    done: bool
    start: int = 0
    """How many values the document had made when this one began."""
    size: int = 1
    """How many values it holds, itself included (known once it is done)."""


@dataclass(slots=True)
class _Open:
    """A mapping or list being filled: where each of its entries was written, where it is
    in the document, the anchor that names it, and (a mapping) the key that waits for its
    value."""

    container: Any
    marks: list[int]
    is_map: bool
    path: Path
    anchor: _Anchored | None
    key: Any = _NO_KEY


class _Builder:
    """Data and positions from the parser's events, in one pass.

    Errors come in the order PyYAML's composer gave them before: what breaks the YAML
    itself (syntax, an undefined alias, a second document) at once, where the parser finds
    it; what breaks migdocs' rules (duplicate keys, keys that are not scalars, values their
    explicit tag does not allow) only once the whole document has parsed, the first of
    them in document order.
    """

    def __init__(self, get_event: Any) -> None:
        self.get_event = get_event
        self.entries: dict[int, tuple[Any, list[int]]] = {}
        self.anchors: dict[str, _Anchored] = {}
        self.problem: YamlError | None = None
        self.open: list[_Open] = []
        """The mappings and lists being filled, the innermost last."""
        self.root = 0
        """Where the document's mapping or list begins (packed)."""
        self.written = 0
        """Values the document writes (scalars, mappings, lists; keys included)."""
        self.repeated = 0
        """Values its aliases repeat."""

    def fail(self, message: str, mark: Any) -> None:
        """Remember the first problem of the document's content; it is raised at the end."""
        if self.problem is None:
            self.problem = YamlError(message, _mark(mark))

    def anchor(self, name: str | None, anchored: _Anchored) -> None:
        if name is None:
            return
        if name in self.anchors:  # as PyYAML's composer: YAML 1.2 allows it, PyYAML does not
            raise YamlError("invalid YAML: second occurrence", _mark(anchored.mark))
        self.anchors[name] = anchored

    def document(self) -> Document:
        get = self.get_event
        get()  # the stream's start
        if isinstance(get(), yaml.StreamEndEvent):
            return Document(data=None)  # no document at all (only comments, or nothing)
        data, start = self.value()
        get()  # the document's end
        event = get()
        if not isinstance(event, yaml.StreamEndEvent):
            raise YamlError("invalid YAML: but found another document", _mark(event.start_mark))
        if self.problem is not None:
            raise self.problem
        document = Document(data=data, start=start)
        document.entries = self.entries
        return document

    def value(self) -> tuple[Any, int]:
        """The document's value and its packed position."""
        get, open_, scalar_event, place = self.get_event, self.open, self.scalar_event, self.place
        while True:
            event = get()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                value: Any = scalar_event(event)
                mark, text, scalar = event.start_mark, event.value, True
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                self.open_container(event, kind is yaml.MappingStartEvent)
                continue
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                done = self.close_container()
                if done is not None:
                    return done
                continue
            elif kind is yaml.AliasEvent:
                value, mark, text, scalar = self.alias_event(event)
            else:  # pragma: no cover - the parser gives no other event inside a document
                raise YamlError(f"unexpected YAML event {kind.__name__}", None)
            # a scalar or an alias: the document itself, a key, a mapping's value or an item
            if not open_:
                return value, mark.line << 32 | mark.column
            place(open_[-1], value, mark, text, scalar)

    def scalar_event(self, event: Any) -> Any:
        """A scalar's value, as its tag (explicit, else resolved by the core schema) says."""
        self.written += 1
        mark, text, tag = event.start_mark, event.value, event.tag
        value: Any = text
        if tag is None or tag == "!":
            if event.implicit[0] and text[:1] in _MAY_NOT_BE_TEXT:
                resolved = _resolve_plain(text)
                if resolved is not _STR:
                    value = self.scalar(resolved, text, mark)
        else:
            value = self.scalar(tag, text, mark)
        if event.anchor is not None:
            self.anchor(event.anchor, _Anchored(value, mark, text, done=True))
        return value

    def alias_event(self, event: Any) -> tuple[Any, Any, str | None, bool]:
        """What an alias stands for: its value, where it was written, its text (for a
        scalar) and whether it is a scalar.

        Raises:
            YamlError: for an alias of no anchor, or one past the alias budget.
        """
        mark = event.start_mark
        found = self.anchors.get(event.anchor)
        if found is None:
            raise YamlError(f"invalid YAML: found undefined alias {event.anchor!r}", _mark(mark))
        if found.done:
            self.repeat(event.anchor, found, mark)
            return self.copy(found.value), found.mark, found.text, found.text is not None
        # an alias inside what it names: a value without end
        path = self.open[-1].path if self.open else ()
        self.fail(f"{_describe(path)}: *{event.anchor} is inside its own anchor", mark)
        return None, mark, "", True

    def open_container(self, event: Any, is_map: bool) -> None:
        """Start filling a new mapping or list, an entry of the one open (if any)."""
        self.written += 1
        mark = event.start_mark
        new: Any = {} if is_map else []
        anchored = None
        if event.anchor is not None:
            anchored = _Anchored(new, mark, None, False, self.made - 1)
            self.anchor(event.anchor, anchored)
        path: Path = ()
        if self.open:
            parent = self.open[-1]
            if not parent.is_map:
                parent.marks.append(mark.line << 32 | mark.column)
                path = (*parent.path, len(parent.container))
            elif parent.key is _NO_KEY:
                self.fail(f"{_describe(parent.path)}: a key must be a plain value", mark)
                path = parent.path
            else:
                path = (*parent.path, parent.key)
        else:
            self.root = mark.line << 32 | mark.column
        frame = _Open(new, [], is_map, path, anchored)
        self.entries[id(new)] = (new, frame.marks)
        self.open.append(frame)

    def close_container(self) -> tuple[Any, int] | None:
        """End the open mapping or list: the document's value and position when it is the
        document itself, else ``None`` once it is placed in the one that holds it."""
        frame = self.open.pop()
        if frame.anchor is not None:
            frame.anchor.done = True
            frame.anchor.size = self.made - frame.anchor.start
        if not self.open:
            return frame.container, self.root
        parent = self.open[-1]
        if not parent.is_map:
            parent.container.append(frame.container)
        elif parent.key is _NO_KEY:  # a mapping or list as a key: reported, set aside
            parent.key = object()
        else:
            parent.container[parent.key] = frame.container
            parent.key = _NO_KEY
        return None

    def place(self, frame: _Open, value: Any, mark: Any, text: str | None, scalar: bool) -> None:
        """Put a scalar or an alias's value in the open mapping or list: an item, a
        mapping's value, or its next key (which must be a scalar, and new)."""
        container = frame.container
        if not frame.is_map:
            container.append(value)
            frame.marks.append(mark.line << 32 | mark.column)
            return
        if frame.key is not _NO_KEY:
            container[frame.key] = value
            frame.key = _NO_KEY
            return
        if not scalar:
            self.fail(f"{_describe(frame.path)}: a key must be a plain value", mark)
            frame.key = object()
            return
        key = value if isinstance(value, str) else text
        if key in container and self.problem is None:  # (then entries still align)
            first = frame.marks[next(i for i, other in enumerate(container) if other == key)]
            self.fail(
                f"{_describe(frame.path)}: duplicate key {key!r} (first at line "
                f"{(first >> 32) + 1})",
                mark,
            )
        frame.marks.append(mark.line << 32 | mark.column)
        frame.key = key

    def scalar(self, tag: str, text: str, mark: Any) -> Any:
        try:
            return _scalar(tag, text, mark)
        except YamlError as problem:
            if self.problem is None:
                self.problem = problem
            return text

    @property
    def made(self) -> int:
        """How many values the document has so far, repeated ones included."""
        return self.written + self.repeated

    def repeat(self, name: str, anchored: _Anchored, mark: Any) -> None:
        """Count what an alias repeats against the document's alias budget.

        Raises:
            YamlError: at the alias that goes past the budget, naming it.
        """
        self.repeated += anchored.size
        budget = ALIAS_ALLOWANCE + ALIAS_RATIO * self.written
        if self.repeated > budget:
            raise YamlError(
                f"alias *{name} makes the aliases repeat {self.repeated:,} values, more than "
                f"the {budget:,} allowed in a document that writes {self.written:,} "
                "(an alias bomb?); write the values out instead",
                _mark(mark),
            )

    def copy(self, value: Any) -> Any:
        """What an alias stands for: the anchored value again, with its positions.

        Made without recursion: an anchored value may be nested as deep as libyaml allows.
        """
        if not isinstance(value, dict | list):
            return value
        root = self.copy_container(value)
        pending = [(value, root)]
        while pending:
            original, copied = pending.pop()
            items = original.items() if isinstance(original, dict) else enumerate(original)
            for key, item in items:
                if isinstance(item, dict | list):
                    inner = self.copy_container(item)
                    pending.append((item, inner))
                    item = inner
                if isinstance(copied, dict):
                    copied[key] = item
                else:
                    copied.append(item)
        return root

    def copy_container(self, value: dict[Any, Any] | list[Any]) -> Any:
        """An empty mapping or list that takes ``value``'s positions."""
        copied: Any = {} if isinstance(value, dict) else []
        known = self.entries.get(id(value))
        if known is not None:
            self.entries[id(copied)] = (copied, known[1])
        return copied
