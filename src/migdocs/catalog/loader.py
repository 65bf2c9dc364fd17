"""Loading `catalog.yaml`: YAML → pydantic, every error as `file:line:column: path: message`."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from migdocs.catalog.models import Catalog
from migdocs.catalog.yamlload import Document, Mark, YamlError, format_path, load_yaml
from migdocs.errors import CatalogError
from migdocs.limits import CATALOG_MAX_BYTES, FileTooLarge, read_bounded

if typing.TYPE_CHECKING:
    from pydantic_core import ErrorDetails


@dataclass(frozen=True)
class LoadedCatalog:
    """A validated catalog with the positions of its values.

    Attributes:
        catalog: The validated catalog.
        path: The catalog file.
        display: How messages name the file (as the user gave it).
        document: The parsed YAML, for line numbers of catalog values.
    """

    catalog: Catalog
    path: Path
    display: str
    document: Document

    def line_of(self, *path: str | int) -> int | None:
        """The line where the value at ``path`` (``"migrations", 3, "rollback"``) stands."""
        mark = self.document.mark(path)
        return mark.line if mark is not None else None

    def error(self, path: tuple[str | int, ...], message: str) -> str:
        """One problem as ``file:line:column: path: message``."""
        return _problem(self.display, self.document.mark(path), path, message)


def load_catalog(path: Path, display: str | None = None) -> LoadedCatalog:
    """Read and validate a catalog file.

    Args:
        path: The catalog file.
        display: The name to use in messages; default ``path`` as given.

    Raises:
        CatalogError: with one line per problem, each naming file, line and column.
    """
    shown = display if display is not None else str(path)
    try:
        raw = read_bounded(path, CATALOG_MAX_BYTES)
    except FileTooLarge as exc:
        raise CatalogError([f"{shown}: {exc.strerror}"]) from None
    except FileNotFoundError:
        raise CatalogError([f"{shown}: no such catalog (create one with `migdocs init`)"]) from None
    except IsADirectoryError:
        raise CatalogError([f"{shown}: is a folder, not a catalog file"]) from None
    except OSError as exc:
        raise CatalogError([f"{shown}: cannot read: {exc.strerror}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CatalogError(
            [f"{shown}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x})"]
        ) from None
    try:
        document = load_yaml(text)
    except YamlError as exc:
        raise CatalogError([_problem(shown, exc.mark, (), exc.message)]) from None
    if document.data is None:
        raise CatalogError([f"{shown}: the catalog is empty (it needs at least `version: 1`)"])
    if not isinstance(document.data, dict):
        raise CatalogError([f"{shown}:1:1: the catalog must be a mapping of keys"])
    try:
        catalog = Catalog.model_validate(document.data)
    except ValidationError as exc:
        problems = [_explain(shown, document, error) for error in exc.errors()]
        raise CatalogError(sorted(set(problems), key=_by_position)) from None
    return LoadedCatalog(catalog=catalog, path=path, display=shown, document=document)


def _by_position(problem: str) -> tuple[int, int, str]:
    parts = problem.split(":", 3)
    try:
        return (int(parts[1]), int(parts[2]), problem)
    except (IndexError, ValueError):
        return (0, 0, problem)


def _problem(shown: str, mark: Mark | None, path: tuple[str | int, ...], message: str) -> str:
    where = f"{shown}:{mark.line}:{mark.column}" if mark is not None else shown
    name = format_path(path)
    return f"{where}: {name}: {message}" if name else f"{where}: {message}"


def _explain(shown: str, document: Document, error: ErrorDetails) -> str:
    loc = tuple(part for part in error["loc"] if part != "[key]")
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        parent, key = loc[:-1], loc[-1]
        return _problem(shown, document.mark(parent), parent, f"`{key}` is required")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        known = _fields_at(loc[:-1])
        hint = difflib.get_close_matches(key, known, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        allowed = f"; allowed: {', '.join(known)}" if known and not hint else ""
        return _problem(
            shown, document.mark(loc), loc[:-1], f"unknown key {key!r}{suggestion}{allowed}"
        )
    if kind in ("literal_error", "enum"):
        expected = str(error.get("ctx", {}).get("expected", ""))
        choices = expected.replace("'", "").replace(" or ", ", ")
        return _problem(shown, document.mark(loc), loc, f"{value!r} is not one of {choices}")
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "id":
        message = f"{value!r} is not a valid id (no slash, no line break, no space at either end)"
        return _problem(shown, document.mark(loc), loc, message)
    if kind == "string_pattern_mismatch" and loc[:1] == ("rules",):
        return _problem(shown, document.mark(loc), loc, f"{loc[-1]!r} is not a rule code (MGnnn)")
    if kind == "string_too_short":
        return _problem(shown, document.mark(loc), loc, "must not be empty")
    if kind in ("string_type", "int_type", "bool_type", "list_type", "dict_type", "model_type"):
        wanted = {
            "string_type": "a string",
            "int_type": "a whole number",
            "bool_type": "true or false",
            "list_type": "a list",
            "dict_type": "a mapping",
            "model_type": "a mapping",
        }[kind]
        return _problem(shown, document.mark(loc), loc, f"expected {wanted}, got {_shown(value)}")
    if kind in ("int_parsing", "int_from_float"):
        return _problem(
            shown, document.mark(loc), loc, f"expected a whole number, got {_shown(value)}"
        )
    if kind in ("greater_than", "greater_than_equal"):
        bound = error.get("ctx", {}).get("gt", error.get("ctx", {}).get("ge"))
        relation = "more than" if kind == "greater_than" else "at least"
        return _problem(
            shown, document.mark(loc), loc, f"must be {relation} {bound}, got {_shown(value)}"
        )
    message = error["msg"].removeprefix("Value error, ")
    if kind.startswith(("date_", "datetime_")):
        message = f"{value!r} is not a date (YYYY-MM-DD)"
    return _problem(shown, document.mark(loc), loc, message)


def _shown(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """Names of the keys allowed in the mapping at ``loc`` of a catalog."""
    annotation: Any = Catalog
    for part in loc:
        model = _model_in(annotation)
        if isinstance(part, int) or model is None:
            annotation = _item_type(annotation)
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
    model = _model_in(annotation)
    return list(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    if origin is typing.Annotated:
        return _model_in(typing.get_args(annotation)[0])
    return None


def _item_type(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _item_type(arg)
    args = typing.get_args(annotation)
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return annotation
