"""What a value from a catalog, a file name, SQL or a database may not print raw, and how
each output shows it instead.

Such a value may hold control characters (an ANSI escape recolours or rewrites a terminal; a
carriage return hides what came before it), and GitHub Actions runs any line of a job's
output that starts, after blanks, with ``::`` (``::error::…``, ``::stop-commands::…``) or
that holds ``##[`` anywhere (the runner's legacy form) as a workflow command. Text output and
messages show such characters as escapes (``\\x1b``, ``\\n``); the machine formats keep
every value exact, in their own escapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Characters never printed raw: C0 controls but tab, DEL, C1 controls (NEL among them),
#: bidirectional controls (which reorder what a reader sees), line and paragraph
#: separators, lone surrogates (a file name that is not UTF-8), and the two non-characters
#: XML forbids.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ud800-\udfff\ufffe\uffff]"
)
#: What of those JSON (with ``ensure_ascii=False``) would leave raw: everything but C0.
_JSON_RAW = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff\ufffe\uffff]"
)
#: The runner's legacy command prefix, which it finds anywhere in a line.
LEGACY_COMMAND = "##["


def _escape(char: str) -> str:
    """A character as Python writes it in a string literal: ``\\n``, ``\\x1b``, ``\\u202e``."""
    code = ord(char)
    if char in "\n\r":
        return "\\n" if char == "\n" else "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: str, *, keep: str = "") -> str:
    """``value`` with every control, bidirectional and unpaired character written as its
    escape (an ESC as ``\\x1b``, a newline as ``\\n``); tabs and the characters of ``keep``
    stay."""
    return _UNPRINTABLE.sub(
        lambda found: found.group() if found.group() in keep else _escape(found.group()), value
    )


def shown(value: str) -> str:
    """A value from outside as text output and messages show it: each character that is not
    printable as its escape, and the runner's legacy prefix ``##[`` as ``##\\[``."""
    return printable(value).replace(LEGACY_COMMAND, "##\\[")


def inert_line(line: str) -> str:
    """A line of output that GitHub Actions cannot run: a leading ``::`` (blanks before it
    included, as the runner trims them) is written ``\\::``, and ``##[`` is written ``##\\[``.

    The line must already be [printable][migdocs.report.escaping.printable]: a newline or
    carriage return inside would start a line of its own.
    """
    line = line.replace(LEGACY_COMMAND, "##\\[")
    stripped = line.lstrip()
    if stripped.startswith("::"):
        line = line[: len(line) - len(stripped)] + "\\" + stripped
    return line


def inert_lines(lines: Iterable[str]) -> str:
    """Lines of a message that quote values from outside, one line each (a newline inside one
    shows as ``\\n``), each printable and inert."""
    return "\n".join(inert_line(printable(line)) for line in lines)


def inert_json(serialized: str) -> str:
    """JSON (made with ``ensure_ascii=False``) that means the same, with what a terminal or
    the runner would act on written as ``\\uXXXX`` escapes.

    JSON's own syntax has no ``#`` and no character past ASCII, so each of these is inside a
    string, where the escape stands for the same character.
    """
    serialized = _JSON_RAW.sub(lambda found: f"\\u{ord(found.group()):04x}", serialized)
    return serialized.replace(LEGACY_COMMAND, "#\\u0023[")


def inert_xml(serialized: str) -> str:
    """XML whose text holds no ``##[`` (written ``#&#35;[``, the same characters to a parser).

    XML's syntax has no ``##[`` of its own, so each is inside text or an attribute value.
    """
    return serialized.replace(LEGACY_COMMAND, "#&#35;[")
