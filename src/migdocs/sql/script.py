"""One SQL file, read and parsed once: its statements, their effects, and what stopped parsing."""

from __future__ import annotations

import contextlib
import json
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from types import FrameType
from typing import Any

from pglast import parser

from migdocs.limits import SQL_MAX_BYTES, read_bounded
from migdocs.sql.analysis import Analyzer
from migdocs.sql.effects import Statement
from migdocs.sql.positions import Positions

_BOM = b"\xef\xbb\xbf"
_DIRECTIVE = re.compile(
    r"migdocs:\s*ignore\s+(?P<codes>MG\d{3}(?:\s*,\s*MG\d{3})*)\s*(?:\((?P<reason>[^)]*)\))?",
    re.IGNORECASE,
)
#: What an ignore comment starts with, whatever follows.
_IGNORE = re.compile(r"migdocs:\s*ignore\b", re.IGNORECASE)
_INCLUDES = ("i", "ir", "include", "include_relative")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
#: json.loads without its wrappers: pglast's JSON starts at its first character, and this runs
#: once per file of the history.
_DECODER: Any = json.JSONDecoder()
_SCAN_JSON: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once


#: The deepest parse tree (levels of pglast's JSON) migdocs analyses: about 1,000 nested
#: CASE expressions, 2,000 terms joined by `||` or 4,000 `UNION ALL` branches. Python's
#: recursion limit stops json and the walks of expressions near 1,000 levels, so deeper
#: trees are walked with more room; past this depth they would need more C stack than a
#: thread is sure to have (json needs about 100 bytes a level), and are MG200 instead.
MAX_TREE_DEPTH = 5_000
#: Python frames that walking one level of a tree may take (json, and a comprehension and
#: a call in `canonical`), with what the analyzer itself needs on top.
_FRAMES_PER_LEVEL = 3
_FRAMES_SPARE = 200
#: A JSON string or a bracket: what measuring a tree's depth needs to see.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
#: What PostgreSQL's scanner reads as an operator; the comment marks are made of them too.
_OPERATOR_RUN = re.compile(r"[~!@#^&|`?+\-*/%<>=]{64,}")
#: How much work runs of operator characters may cost PostgreSQL's scanner, as the sum of
#: the squares of their lengths: besides this allowance, 64 a character of the file.
_OPERATOR_WORK_ALLOWANCE = 1 << 26
_OPERATOR_WORK_PER_CHAR = 64


def _load_tree(tree: str) -> dict[str, Any]:
    loaded, _ = _SCAN_JSON(tree, 0)
    if not isinstance(loaded, dict):  # pragma: no cover - pglast always gives an object
        raise TypeError("pglast gave a parse tree that is not a JSON object")
    return loaded


@contextlib.contextmanager
def _recursion_room(frames: int) -> Iterator[None]:
    """Python's recursion limit raised, while inside, to let ``frames`` more frames run.

    Only what walks one deep tree runs with it (`MAX_TREE_DEPTH` bounds what that asks),
    and the limit is back as it was after.
    """
    depth = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, depth + frames))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def load_tree(tree: str) -> dict[str, Any]:
    """pglast's JSON parse tree (`parser.parse_sql_json`) as dicts and lists, whatever its
    depth up to `MAX_TREE_DEPTH`.

    Raises:
        RecursionError: for a tree deeper than `MAX_TREE_DEPTH`.
    """
    try:
        return _load_tree(tree)
    except RecursionError:
        pass  # a deep tree: measured, then read again with the room it needs
    depth, _ = _tree_depth(tree)
    if depth > MAX_TREE_DEPTH:
        raise RecursionError(f"a parse tree {depth:,} levels deep")
    with _recursion_room(depth * _FRAMES_PER_LEVEL + _FRAMES_SPARE):
        return _load_tree(tree)


def _tree_depth(tree: str) -> tuple[int, int]:
    """How deep pglast's JSON nests, and an offset in it where it is deepest."""
    depth = deepest = at = 0
    for token in _JSON_TOKEN.finditer(tree):
        char = token.group()[0]
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, token.start()
        elif char in "]}":
            depth -= 1
    return deepest, at


def _statement_location(tree: str, at: int) -> int:
    """The byte offset in the SQL of the statement whose JSON holds offset ``at``.

    Each statement of pglast's JSON is ``{"stmt": …, "stmt_location": N, …}`` (without
    ``stmt_location`` for one at offset 0). Inside a JSON string a quote is escaped, so a
    quote directly before ``stmt`` is a key's.
    """
    found = tree.find('"stmt_location":', at)
    if found == -1 or tree.find('{"stmt":', at, found) != -1:
        return 0  # the statement ended without a location: it starts the file
    digits = re.match(r"\d+", tree[found + len('"stmt_location":') :][:20])
    return int(digits.group()) if digits else 0


def _operator_run_problem(text: str, positions: Positions) -> ScriptProblem | None:
    """MG200 for a text whose runs of operator characters would take PostgreSQL's scanner
    too long, before any scanner sees it.

    The scanner reads a run such as ``/*/*/*…`` (nested comments) or ``+-+-…`` once for
    each token it splits from it, to the run's end each time: time grows with the square
    of the run's length (100,000 nested comments took 25 s, 200,000 unclosed ``/*`` four
    minutes).
    """
    work, longest = 0, None
    for run in _OPERATOR_RUN.finditer(text):
        length = run.end() - run.start()
        work += length * length
        if longest is None or length > longest.end() - longest.start():
            longest = run
    if longest is None or work <= _OPERATOR_WORK_ALLOWANCE + _OPERATOR_WORK_PER_CHAR * len(text):
        return None
    line, column = positions.from_char(longest.start())
    length = longest.end() - longest.start()
    return ScriptProblem(
        "MG200",
        f"{length:,} operator characters in a row (such as nested /* */ comments): "
        "PostgreSQL's scanner takes time that grows with the square of such runs, so "
        "migdocs does not parse this file",
        line,
        column,
    )


@dataclass(frozen=True, slots=True)
class ScriptProblem:
    """Something in a file that keeps migdocs from reading all of it.

    Attributes:
        code: ``MG200`` (does not parse, or is not UTF-8) or ``MG206`` (psql meta-command).
        message: What is wrong, in words.
        line: 1-based line, where known.
        column: 1-based column, where known.
    """

    code: str
    message: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True, slots=True)
class IgnoreComment:
    """A ``-- migdocs: ignore MG205 (reason)`` comment, as written.

    Attributes:
        codes: The rule codes it names, upper case (none when it names no code).
        reason: Why, from the parentheses (``None`` when it gives none).
        line: 1-based line of the comment.
        column: 1-based column of the comment.
        applies: Whether a statement follows it (or holds it) to silence.
    """

    codes: tuple[str, ...]
    reason: str | None
    line: int
    column: int
    applies: bool


#: Commands PostgreSQL refuses in a transaction block (CONCURRENTLY is a statement flag).
OUTSIDE_TRANSACTION = frozenset(
    {"VACUUM", "Createdb", "Dropdb", "CreateTableSpace", "DropTableSpace", "AlterSystem"}
)


@dataclass
class Script:
    """A migration or rollback file.

    Attributes:
        path: The file.
        display: Its path as reports show it (relative to the project).
        raw: The file's bytes, as read.
        text: Its text (``None`` when it is not UTF-8).
        statements: Every statement with its effects, in order.
        problems: Why some of it could not be read.
        parsed: Whether the whole file parsed; if not, its effects are unknown.
        ignores: Its ``-- migdocs: ignore`` comments, for the rule that checks them.
        transaction: Whether its runner may run it in a transaction block (``False`` for
            dbmate's ``transaction:false`` and goose's ``NO TRANSACTION``).
    """

    path: Path
    display: str
    raw: bytes
    text: str | None
    statements: list[Statement] = field(default_factory=list)
    problems: list[ScriptProblem] = field(default_factory=list)
    parsed: bool = True
    ignores: list[IgnoreComment] = field(default_factory=list)
    transaction: bool = True
    _ends: list[int] | None = field(default=None, init=False, repr=False, compare=False)

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the file's bytes."""
        import hashlib

        return hashlib.sha256(self.raw).hexdigest()

    @property
    def opaque(self) -> bool:
        """Whether static analysis cannot see everything the file does."""
        return not self.parsed or any(statement.opaque for statement in self.statements)

    @property
    def in_one_transaction(self) -> bool:
        """Whether PostgreSQL can run the whole script in one transaction block, and its
        runner would run it in one."""
        return self.transaction and not any(
            statement.transaction
            or statement.concurrently
            or statement.command in OUTSIDE_TRANSACTION
            for statement in self.statements
        )

    @property
    def empty(self) -> bool:
        """Whether the file parsed and holds no statement."""
        return self.parsed and not self.statements and not self.problems

    def statement_text(self, statement: Statement) -> str:
        """The SQL text of one statement, as written (without its final semicolon)."""
        encoded = self.encoded
        end = statement.offset + statement.length if statement.length else len(encoded)
        return encoded[statement.offset : end].decode("utf-8")

    @cached_property
    def encoded(self) -> bytes:
        """The text as parsed: UTF-8, without a byte-order mark."""
        return (self.text or "").encode("utf-8")

    def statement_at(self, line: int) -> Statement | None:
        """The statement whose text spans ``line`` (the first, where two share it)."""
        statements = self.statements
        ends = self._ends
        if ends is None or len(ends) != len(statements):
            ends = self._ends = [statement.end_line for statement in statements]
            if any(a > b for a, b in pairwise(ends)):  # pragma: no cover - never from pglast
                self._ends = None
                return next((s for s in statements if s.line <= line <= s.end_line), None)
        # Statements follow each other: the first that ends on or after the line is the one.
        index = bisect_left(ends, line)
        if index < len(statements) and statements[index].line <= line:
            return statements[index]
        return None


def read_script(path: Path, display: str, *, parse: bool = True) -> Script:
    """Read and analyze one SQL file; problems become `ScriptProblem`s, never exceptions.

    With ``parse=False`` only its text is read (a file whose sections are parsed apart).

    Raises:
        OSError: when the file cannot be read at all (the caller reports it), or
            `FileTooLarge` when it is larger than migdocs reads.
    """
    raw = read_bytes(path)
    body = raw[len(_BOM) :] if raw.startswith(_BOM) else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        column = exc.start - (body.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = ScriptProblem(
            "MG200",
            f"not UTF-8 text (byte 0x{body[exc.start]:02x}); save the file as UTF-8",
            line,
            column,
        )
        return Script(path, display, raw, None, problems=[problem], parsed=False)
    script = Script(path, display, raw, text)
    if parse:
        _parse(script, text)
    return script


def read_bytes(path: Path) -> bytes:
    """The bytes of the SQL file at ``path`` (see `read_bounded`).

    Raises:
        FileTooLarge: when it is larger than `SQL_MAX_BYTES`.
        OSError: as `open` would (`IsADirectoryError` for a folder, from `read`).
    """
    return read_bounded(path, SQL_MAX_BYTES)


def parse_text(text: str, display: str = "<sql>") -> Script:
    """Analyze SQL given as text (for tests and the site); a leading byte-order mark is skipped."""
    body = text.removeprefix("\ufeff")
    script = Script(Path(display), display, text.encode("utf-8"), body)
    _parse(script, body)
    return script


def parse_into(script: Script, text: str) -> None:
    """Analyze ``text`` into ``script`` (a section of a file, masked to keep its lines)."""
    _parse(script, text)


def _parse(script: Script, text: str) -> None:
    positions = Positions(text)
    costly = _operator_run_problem(text, positions)
    if costly is not None:
        script.problems.append(costly)
        script.parsed = False
        return
    source = text.replace("\x00", " ")
    includes = False
    try:
        tree = parser.parse_sql_json(source)
    except parser.ParseError as error:
        blanked, meta = _blank_meta_commands(source, positions)
        if not meta:
            script.problems.append(_parse_problem(error, positions))
            script.parsed = False
            return
        for line, column, command in meta:
            includes = includes or command.split()[0].lstrip("\\") in _INCLUDES
            script.problems.append(
                ScriptProblem(
                    "MG206",
                    f"psql meta-command `{command.split()[0]}`: migdocs reads SQL only, "
                    "so what it does is not checked",
                    line,
                    column,
                )
            )
        try:
            tree = parser.parse_sql_json(blanked)
        except parser.ParseError as error:
            script.problems.append(_parse_problem(error, positions))
            script.parsed = False
            return
        source = blanked
    analyzed = _analyze_deep(tree, positions)
    if isinstance(analyzed, ScriptProblem):
        script.problems.append(analyzed)
        script.parsed = False
        return
    script.statements += analyzed
    if includes and script.statements:
        script.statements[-1].opaque = True
    elif includes:
        script.parsed = False
    if "migdocs:" in text.lower():
        _apply_directives(script, source, positions)


def _analyze(tree: str, positions: Positions) -> list[Statement]:
    """Every statement of pglast's JSON parse tree, with its effects."""
    analyzer = Analyzer()
    statements = []
    for index, raw in enumerate(_load_tree(tree).get("stmts", ())):
        start = raw.get("stmt_location", 0)
        length = raw.get("stmt_len", 0)
        line, column = positions.from_byte(start)
        end_line = positions.from_byte(start + length)[0] if length else positions.line_count
        statement = Statement(index, line, column, end_line, "", offset=start, length=length)
        analyzer.analyze(raw["stmt"], statement)
        statements.append(statement)
    return statements


def _analyze_deep(tree: str, positions: Positions) -> list[Statement] | ScriptProblem:
    """`_analyze`, also for trees deeper than Python's recursion limit lets it walk; MG200
    (at the deepest statement) for one deeper than `MAX_TREE_DEPTH`."""
    try:
        return _analyze(tree, positions)
    except RecursionError:
        pass  # a deep tree: measured, then walked again with the room it needs
    depth, at = _tree_depth(tree)
    if depth <= MAX_TREE_DEPTH:
        try:
            with _recursion_room(depth * _FRAMES_PER_LEVEL + _FRAMES_SPARE):
                return _analyze(tree, positions)
        except RecursionError:  # pragma: no cover - the room is ample for the depth
            pass
    line, column = positions.from_byte(_statement_location(tree, at))
    return ScriptProblem(
        "MG200",
        f"nested too deeply to analyse: its parse tree is {depth:,} levels deep, and "
        f"migdocs reads up to {MAX_TREE_DEPTH:,} (about 1,000 nested CASE expressions)",
        line,
        column,
    )


def _parse_problem(error: parser.ParseError, positions: Positions) -> ScriptProblem:
    message = str(error.args[0]) if error.args else "syntax error"
    offset = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else None
    if offset is None:
        return ScriptProblem("MG200", f"does not parse: {message}")
    line, column = positions.from_char(offset)
    return ScriptProblem("MG200", f"does not parse: {message}", line, column)


def _scan(text: str) -> list[Any]:
    """pglast's tokens of ``text``, with offsets in characters.

    pglast maps each token's byte offset to a character index with a linear search, which
    makes scanning quadratic on non-ASCII text (minutes for a few megabytes). Every
    non-ASCII character is replaced by an ASCII letter first: PostgreSQL's lexer treats
    every such byte as a letter, so tokens and character offsets stay the same.

    Raises:
        parser.ParseError: when the text does not lex (an unterminated string, …).
    """
    if not text.isascii():
        text = _NON_ASCII.sub("x", text)
    return list(parser.scan(text))


def _lexes(text: str) -> bool:
    """Whether ``text`` lexes as SQL, ending outside any string, identifier or comment."""
    try:
        _scan(text)
    except parser.ParseError:
        return False
    return True


#: How many times over `_blank_meta_commands` may lex a text, besides an allowance.
_RELEX_PER_CHAR = 16
_RELEX_ALLOWANCE = 1 << 20


def _blank_meta_commands(text: str, positions: Positions) -> tuple[str, list[tuple[int, int, str]]]:
    """Replace psql meta-command lines (``\\set``, ``\\i``) with spaces, keeping every offset.

    As psql does, a backslash outside quotes and comments starts a meta-command that runs to
    the end of its line; what follows it is not SQL, so it is never handed to the SQL scanner
    (``\\i 2025-08-30_x.sql`` or ``\\echo it's done`` would stop it). A line whose first
    character is a backslash is one when the SQL between the previous meta-command and that
    line lexes cleanly: the line then starts outside any string, identifier or comment.

    Each such line inside a string lexes the SQL before it again: past `_RELEX_PER_CHAR`
    times the text's length, the search stops (what is left is not blanked, and then does
    not parse), so that thousands of them in one unterminated string take linear time.
    """
    found: list[tuple[int, int, str]] = []
    chars: list[str] | None = None
    sql_from = 0
    budget = _RELEX_PER_CHAR * len(text) + _RELEX_ALLOWANCE
    at = text.find("\\")
    while at != -1:
        line_start = text.rfind("\n", 0, at) + 1
        line_end = text.find("\n", at)
        line_end = len(text) if line_end == -1 else line_end
        first_on_its_line = line_start >= sql_from and not text[line_start:at].strip()
        if first_on_its_line:
            budget -= line_start - sql_from
            if budget < 0:
                break
        if first_on_its_line and _lexes(text[sql_from:line_start]):
            if chars is None:
                chars = list(text)
            line, column = positions.from_char(at)
            found.append((line, column, text[at:line_end].strip()))
            chars[at:line_end] = " " * (line_end - at)
            sql_from = line_end
        at = text.find("\\", line_end)
    return ("".join(chars) if chars is not None else text), found


def _apply_directives(script: Script, source: str, positions: Positions) -> None:
    """Attach ``-- migdocs: ignore MG205 (reason)`` to the statement on or below the comment."""
    try:
        tokens = _scan(source)
    except parser.ParseError:
        return
    starts = [statement.line for statement in script.statements]
    for token in tokens:
        if token.name not in ("SQL_COMMENT", "C_COMMENT"):
            continue
        comment = source[token.start : token.end + 1]
        match = _DIRECTIVE.search(comment)
        if match is None:
            if _IGNORE.search(comment):  # `migdocs: ignore` with no code: silences nothing
                line, column = positions.from_char(token.start)
                script.ignores.append(IgnoreComment((), None, line, column, applies=False))
            continue
        codes = {code.strip().upper() for code in match.group("codes").split(",")}
        line, column = positions.from_char(token.start)
        target = script.statement_at(line)
        if target is None:
            below = bisect_right(starts, line)  # the first statement that starts below
            target = script.statements[below] if below < len(starts) else None
        if target is not None:
            target.suppressed = target.suppressed | codes
        reason = (match.group("reason") or "").strip() or None
        script.ignores.append(
            IgnoreComment(tuple(sorted(codes)), reason, line, column, applies=target is not None)
        )
