"""Turning parser offsets (bytes or characters) into 1-based line and column, once, in one place."""

from __future__ import annotations

from bisect import bisect_right


class Positions:
    """Line and column lookups for one text.

    pglast's JSON output counts UTF-8 bytes while its exceptions and scanner count characters;
    both are answered here, with columns counted in characters as an editor shows them.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._ascii = text.isascii()
        self._char_starts: list[int] | None = None
        self._byte_starts: list[int] | None = None
        self._encoded: bytes | None = None

    def _chars(self) -> list[int]:
        if self._char_starts is None:
            starts = [0]
            find = self._text.find
            at = find("\n")
            while at != -1:
                starts.append(at + 1)
                at = find("\n", at + 1)
            self._char_starts = starts
        return self._char_starts

    def _bytes(self) -> tuple[list[int], bytes]:
        if self._byte_starts is None or self._encoded is None:
            encoded = self._text.encode("utf-8")
            starts = [0]
            find = encoded.find
            at = find(b"\n")
            while at != -1:
                starts.append(at + 1)
                at = find(b"\n", at + 1)
            self._byte_starts, self._encoded = starts, encoded
        return self._byte_starts, self._encoded

    def from_char(self, offset: int) -> tuple[int, int]:
        """``(line, column)`` of a 0-based character offset."""
        starts = self._chars()
        index = bisect_right(starts, max(offset, 0)) - 1
        return index + 1, offset - starts[index] + 1

    def from_byte(self, offset: int) -> tuple[int, int]:
        """``(line, column)`` of a 0-based byte offset into the UTF-8 encoding of the text."""
        if self._ascii:
            return self.from_char(offset)
        starts, encoded = self._bytes()
        index = bisect_right(starts, max(offset, 0)) - 1
        prefix = encoded[starts[index] : offset]
        return index + 1, len(prefix.decode("utf-8", errors="replace")) + 1

    def byte_to_char(self, offset: int) -> int:
        """The character offset of a byte offset."""
        if self._ascii:
            return offset
        _, encoded = self._bytes()
        return len(encoded[:offset].decode("utf-8", errors="replace"))

    @property
    def line_count(self) -> int:
        """How many lines the text has."""
        return len(self._chars())
