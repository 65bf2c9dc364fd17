"""YAML 1.2 core-schema loading: scalars, duplicate keys, positions, errors (both parsers)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from migdocs.catalog import yamlload
from migdocs.catalog.yamlload import Mark, YamlError, format_path, load_yaml


@pytest.fixture(params=["libyaml", "python"], autouse=True)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with libyaml's parser (when built) and with PyYAML's pure Python one."""
    if request.param == "python":
        monkeypatch.setattr(yamlload, "_Parser", None)
    elif yamlload._Parser is None:  # pragma: no cover - PyYAML built without libyaml
        pytest.skip("PyYAML was built without libyaml")
    return str(request.param)


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        # YAML 1.1 booleans stay strings under the 1.2 core schema
        ("on", "on"),
        ("off", "off"),
        ("yes", "yes"),
        ("no", "no"),
        ("y", "y"),
        ("n", "n"),
        ("Yes", "Yes"),
        ("ON", "ON"),
        ("tRue", "tRue"),
        # the only booleans
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
        # nulls
        ("~", None),
        ("null", None),
        ("Null", None),
        ("NULL", None),
        ("", None),
        # integers: 1.2 has no sexagesimal, no `0` octal, no underscores, no 0b
        ("12", 12),
        ("+12", 12),
        ("-7", -7),
        ("012", 12),
        ("0o17", 15),
        ("0x1f", 31),
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("12:30", "12:30"),
        # floats
        ("1.5", 1.5),
        ("1.", 1.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("-2.5E-1", -0.25),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("+.INF", math.inf),
        # no timestamps: dates stay text (pydantic parses them)
        ("2025-08-30", "2025-08-30"),
        ("2025-08-30T10:00:00Z", "2025-08-30T10:00:00Z"),
        # quoting and explicit tags
        ("'on'", "on"),
        ('"true"', "true"),
        ("'12'", "12"),
        ("!!str 12", "12"),
        ("!!str true", "true"),
        ("!!int '12'", 12),
        ("!!float '1'", 1.0),
        ("!!null ''", None),
        ("plain text", "plain text"),
        ("café ✓", "café ✓"),
    ],
)
def test_core_schema_scalars(scalar: str, expected: Any) -> None:
    value = load_yaml(f"key: {scalar}\n").data["key"]
    assert value == expected
    assert type(value) is type(expected)


def test_nan_is_a_float() -> None:
    value = load_yaml("key: .nan\n").data["key"]
    assert isinstance(value, float)
    assert math.isnan(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, two, true]\n", {"a": [1, "two", True]}),
        ("a:\n  - {b: on}\n  - c: off\n", {"a": [{"b": "on"}, {"c": "off"}]}),
        ("a: &x {b: 1}\nc: *x\n", {"a": {"b": 1}, "c": {"b": 1}}),
        ("? |\n  block key\n: 1\n", {"block key\n": 1}),
        ("1: one\n", {"1": "one"}),
        ("true: yes\n", {"true": "yes"}),
        ("a: |\n  line 1\n  line 2\n", {"a": "line 1\nline 2\n"}),
        ("%YAML 1.2\n---\na: 1\n", {"a": 1}),
        ("# only a comment\n", None),
        ("", None),
    ],
)
def test_documents(text: str, expected: Any) -> None:
    assert load_yaml(text).data == expected


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("a: 1\na: 2\n", "the document: duplicate key 'a' (first at line 1)", 2, 1),
        ("a:\n  b: 1\n  c: 2\n  b: 3\n", "a: duplicate key 'b' (first at line 2)", 4, 3),
        ("- {x: 1, x: 2}\n", "[0]: duplicate key 'x' (first at line 1)", 1, 10),
        (
            "m:\n  - id: a\n    date: 1\n    id: b\n",
            "m[0]: duplicate key 'id' (first at line 2)",
            4,
            5,
        ),
        ('"a": 1\na: 2\n', "the document: duplicate key 'a' (first at line 1)", 2, 1),
        ("1: a\n'1': b\n", "the document: duplicate key '1' (first at line 1)", 2, 1),
        ("? [a, b]\n: 1\n", "the document: a key must be a plain value", 1, 3),
        ("{a: 1}: 2\n", "the document: a key must be a plain value", 1, 1),
        ("k: !custom x\n", "unsupported tag '!custom'", 1, 4),
        ("k: !!binary aGk=\n", "unsupported tag 'tag:yaml.org,2002:binary'", 1, 4),
        ("k: !!timestamp 2025-01-01\n", "unsupported tag 'tag:yaml.org,2002:timestamp'", 1, 4),
        ("a: &x [1, *x]\n", "a: *x is inside its own anchor", 1, 11),  # not a RecursionError
        ("a: {b: &x {c: *x}}\n", "a.b: *x is inside its own anchor", 1, 15),
        ("a: *nope\n", "invalid YAML: found undefined alias 'nope'", 1, 4),
        ("a: &x 1\nb: &x 2\n", "invalid YAML: second occurrence", 2, 4),
        # what breaks the YAML comes first, wherever it is; then the first content problem
        ("a: 1\na: 2\nb: *nope\n", "invalid YAML: found undefined alias 'nope'", 3, 4),
        ("k: !!int abc\nk: 2\n", "'abc' is not an integer", 1, 4),
        ("a: 1\n*u : 2\n", "invalid YAML: found undefined alias 'u'", 2, 1),
        ("&k a: 1\n*k : 2\n", "the document: duplicate key 'a' (first at line 1)", 1, 1),
        ("a: &m {x: 1}\n*m : 2\n", "the document: a key must be a plain value", 1, 4),
        (
            "k: !!python/object:os.system x\n",
            "unsupported tag 'tag:yaml.org,2002:python/object:os.system'",
            1,
            4,
        ),
    ],
)
def test_refused_documents(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml(text)
    assert caught.value.message == message
    assert caught.value.mark == Mark(line, column)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a: [1, 2\n", 2, 1),
        ("a: 'x\n", 2, 1),
        ("a: 1\n b: 2\n", 2, 3),
        ("a: b: c\n", 1, 5),
        ("a: *nope\n", 1, 4),
        ("--- a\n--- b\n", 2, 1),
        ("a:\n\tb: 1\n", 2, 1),
        ("project: {name: X\n", 2, 1),
    ],
)
def test_syntax_errors_have_a_position(text: str, line: int, column: int) -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml(text)
    assert caught.value.message.startswith("invalid YAML: ")
    assert len(caught.value.message) > len("invalid YAML: ")
    assert caught.value.mark == Mark(line, column)


def test_a_syntax_error_comes_before_a_duplicate_key_above_it() -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml("a: 1\na: 2\nb: [1\n")
    assert caught.value.message.startswith("invalid YAML: ")
    assert caught.value.mark == Mark(4, 1)


@pytest.mark.parametrize("scalar", ["!!int abc", "!!float abc", "!!int 0x", "!!bool maybe"])
def test_explicit_tag_with_a_wrong_value_is_a_yaml_error(scalar: str) -> None:
    # Not a ValueError (the CLI would say "internal error"), nor a silent False for `maybe`.
    with pytest.raises(YamlError) as caught:
        load_yaml(f"key: {scalar}\n")
    assert caught.value.mark == Mark(1, 6)


POSITIONS = """\
a: 1
b:
  c: [x, {d: 2}]
  e:
    - f: 3
      g: 4
"""


@pytest.mark.parametrize(
    ("path", "line", "column"),
    [
        ((), 1, 1),
        (("a",), 1, 1),
        (("b",), 2, 1),
        (("b", "c"), 3, 3),
        (("b", "c", 0), 3, 7),
        (("b", "c", 1), 3, 10),
        (("b", "c", 1, "d"), 3, 11),
        (("b", "e"), 4, 3),
        (("b", "e", 0), 5, 7),
        (("b", "e", 0, "f"), 5, 7),
        (("b", "e", 0, "g"), 6, 7),
        # unknown paths fall back to their nearest known parent
        (("b", "e", 0, "missing"), 5, 7),
        (("b", "c", 7), 3, 3),
        (("nope",), 1, 1),
    ],
)
def test_positions_of_keys_and_values(path: tuple[str | int, ...], line: int, column: int) -> None:
    document = load_yaml(POSITIONS)
    assert document.mark(path) == Mark(line, column)


ALIASED = "a: &x {b: 1}\nc: *x\n1: one\nl: [p, q]\nm:\n  - k: v\n"


@pytest.mark.parametrize(
    ("path", "line", "column"),
    [
        (("c",), 2, 1),
        (("c", "b"), 1, 8),  # an alias's values are where the anchored value was written
        (("a", "b"), 1, 8),
        (("1",), 3, 1),  # a key that reads as a number is named by its text
        ((1,), 1, 1),  # an index into a mapping: nothing there, the document
        (("l", 1), 4, 8),
        (("l", -1), 4, 1),  # no negative indexes: the list's key
        (("l", "1"), 4, 1),  # nor text into a list
        (("l", 5), 4, 1),
        (("m", 0), 6, 5),
        (("m", 0, "k"), 6, 5),
    ],
)
def test_positions_through_aliases_and_odd_paths(
    path: tuple[str | int, ...], line: int, column: int
) -> None:
    assert load_yaml(ALIASED).mark(path) == Mark(line, column)


def test_an_empty_document_has_no_positions() -> None:
    document = load_yaml("")
    assert document.data is None
    assert document.mark(("a",)) is None
    assert document.mark(()) is None


def test_positions_count_characters_not_bytes() -> None:
    document = load_yaml("é: ünïcödé\nnext: {k: v}\n")
    assert document.mark(("next", "k")) == Mark(2, 8)
    assert document.data == {"é": "ünïcödé", "next": {"k": "v"}}


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("migrations", 3, "rollback"), "migrations[3].rollback"),
        (("migrations", 3, "rollback", "risk"), "migrations[3].rollback.risk"),
        ((0, "a"), "[0].a"),
        (("a", 1, 2), "a[1][2]"),
        (("rules", "MG205"), "rules.MG205"),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text
