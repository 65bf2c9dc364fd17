"""Positions: byte and character offsets into line and column, with non-ASCII text and CRLF."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migdocs.sql.positions import Positions

TEXT = "ab\r\ncé\r\n日本x\n😀y"
#        0123 4 56 7 8 9 10 11 12 13   (characters)


def naive(text: str, offset: int) -> tuple[int, int]:
    """Line and column as an editor counts them: characters since the last newline."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        ("", 0, (1, 1)),
        ("SELECT 1;", 0, (1, 1)),
        ("SELECT 1;", 7, (1, 8)),
        ("SELECT 1;", 9, (1, 10)),
        ("a\nb", 1, (1, 2)),  # the newline itself ends line 1
        ("a\nb", 2, (2, 1)),
        ("a\n\n\nb", 4, (4, 1)),
        (TEXT, 0, (1, 1)),
        (TEXT, 2, (1, 3)),  # the \r of a CRLF is the last column of its line
        (TEXT, 3, (1, 4)),
        (TEXT, 4, (2, 1)),
        (TEXT, 5, (2, 2)),  # é
        (TEXT, 6, (2, 3)),
        (TEXT, 8, (3, 1)),  # 日
        (TEXT, 10, (3, 3)),  # x
        (TEXT, 12, (4, 1)),  # 😀
        (TEXT, 13, (4, 2)),  # y
        (TEXT, 14, (4, 3)),  # end of text
    ],
)
def test_from_char(text: str, offset: int, expected: tuple[int, int]) -> None:
    assert Positions(text).from_char(offset) == expected
    assert naive(text, offset) == expected


@pytest.mark.parametrize(
    ("text", "byte", "expected"),
    [
        ("SELECT 1;", 7, (1, 8)),
        (TEXT, 0, (1, 1)),
        (TEXT, 4, (2, 1)),
        (TEXT, 5, (2, 2)),  # é is 2 bytes
        (TEXT, 7, (2, 3)),
        (TEXT, 9, (3, 1)),  # 日 and 本 are 3 bytes each
        (TEXT, 12, (3, 2)),
        (TEXT, 15, (3, 3)),  # x
        (TEXT, 17, (4, 1)),  # 😀 is 4 bytes
        (TEXT, 21, (4, 2)),  # y
        (TEXT, 22, (4, 3)),
        ("-- café\nSELECT 1;", len("-- café\n".encode()), (2, 1)),
        ("SELECT 'ü'; SELECT 2;", len("SELECT 'ü'; ".encode()), (1, 13)),
    ],
)
def test_from_byte(text: str, byte: int, expected: tuple[int, int]) -> None:
    assert Positions(text).from_byte(byte) == expected


@pytest.mark.parametrize(
    ("text", "byte", "char"),
    [
        ("abc", 2, 2),
        ("é", 2, 1),
        (TEXT, 9, 8),
        (TEXT, 15, 10),
        (TEXT, 21, 13),
        (TEXT, 22, 14),
        ("日本語", 9, 3),
    ],
)
def test_byte_to_char(text: str, byte: int, char: int) -> None:
    assert Positions(text).byte_to_char(byte) == char


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 1), ("x", 1), ("x\n", 2), ("a\r\nb\r\n", 3), ("a\rb", 1), (TEXT, 4)],
)
def test_line_count(text: str, count: int) -> None:
    assert Positions(text).line_count == count


def test_repeated_lookups_agree() -> None:
    positions = Positions(TEXT)
    first = [positions.from_byte(b) for b in (0, 5, 15, 21)]
    assert [positions.from_byte(b) for b in (0, 5, 15, 21)] == first
    assert first == [(1, 1), (2, 2), (3, 3), (4, 2)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \n\r\té日😀;'"), max_size=40), st.data())
def test_bytes_and_characters_agree(text: str, data: st.DataObject) -> None:
    offset = data.draw(st.integers(min_value=0, max_value=len(text)))
    byte = len(text[:offset].encode("utf-8"))
    positions = Positions(text)
    assert positions.from_char(offset) == naive(text, offset)
    assert positions.from_byte(byte) == naive(text, offset)
    assert positions.byte_to_char(byte) == offset
