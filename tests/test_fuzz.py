"""Fuzzing `migdocs check` with hostile catalogs and SQL, under a memory cap.

Catalogs are the example's `catalog.yaml` mutated, YAML made of anchors and aliases (alias
bombs among them), and random bytes; SQL is the example's migrations mutated, deep nesting,
comments, dollar quotes, psql meta-commands, NUL bytes and invalid UTF-8. Every run must end
in 0, 1 or 2 with a message of its own, never an internal error, and within the cap.

The search runs in a child process: an address-space cap there stops a regression (an alias
bomb that takes gigabytes) from taking the machine, and leaves pytest's own process alone.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migdocs.cli import main
from runner_kit import run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CATALOG = (ROOT / "catalog.yaml").read_bytes()
EXAMPLE_SQL = [path.read_bytes() for path in sorted((ROOT / "migrations").rglob("*.sql"))]
#: The address space the child may use: far above what a check of these projects needs.
MEMORY_CAP = 2 << 30
#: How many examples each search tries: together they take about 10 s.
EXAMPLES = 400

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # In CI the same examples every run, so that a merge is not failed by a search's luck;
    # at a developer's machine a new search each time.
    derandomize=bool(os.environ.get("CI")),
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- mutations --------------------------------------------------------------------------------

#: Bytes that mean something to YAML or SQL, and some that mean trouble.
PIECES = [
    b":",
    b"- ",
    b"\n",
    b"  ",
    b"&a ",
    b"*a",
    b"&b ",
    b"*b",
    b"!!int ",
    b"!!binary ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"'",
    b'"',
    b"#",
    b"|",
    b">",
    b"? ",
    b"---\n",
    b"...\n",
    b"\t",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    b"\r\n",
    b"(",
    b")",
    b";",
    b"$$",
    b"$x$",
    b"/*",
    b"*/",
    b"--",
    b"\\i ",
    b"\\echo ",
    b"CASE WHEN true THEN ",
    b" END",
    b"E'\\",
    b"U&'",
    b"migdocs: ignore MG205",
    b"../",
    b"/etc/passwd",
    "é€😀".encode(),
]

edit = st.tuples(
    st.sampled_from(["insert", "delete", "repeat", "replace"]),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=1),
    st.one_of(st.sampled_from(PIECES), st.binary(max_size=8)),
    st.integers(min_value=1, max_value=3_000),
)


def mutate(data: bytes, edits: list[tuple[str, float, float, bytes, int]]) -> bytes:
    """``data`` with each edit applied: pieces inserted (repeated up to 3,000 times), spans
    deleted, repeated or replaced."""
    for kind, where, width, piece, times in edits:
        at = int(where * len(data))
        end = min(len(data), at + int(width * 200))
        if kind == "insert":
            data = data[:at] + piece * times + data[at:]
        elif kind == "delete":
            data = data[:at] + data[end:]
        elif kind == "repeat":
            data = data[:at] + data[at:end] * min(times, 50) + data[at:]
        else:
            data = data[:at] + piece + data[end:]
    return data


@st.composite
def anchored_yaml(draw: st.DrawFn) -> bytes:
    """A catalog whose values are anchors and aliases of each other: chains that may
    multiply (alias bombs), aliases of what is still open, aliases in keys."""
    levels = draw(st.integers(min_value=1, max_value=16))
    width = draw(st.integers(min_value=1, max_value=12))
    flow = draw(st.booleans())
    lines = [b"version: 1\n", b"project: {name: P}\n", b"x:\n", b'  a0: &a0 ["lol", {k: v}]\n']
    for level in range(1, levels):
        # mostly the anchor just above, so that chains multiply as a bomb's do
        aliases = [f"*a{draw(st.integers(max(0, level - 2), level - 1))}" for _ in range(width)]
        if flow:
            lines.append(f"  a{level}: &a{level} [{', '.join(aliases)}]\n".encode())
        else:
            items = "".join(f"    - {alias}\n" for alias in aliases)
            lines.append(f"  a{level}: &a{level}\n{items}".encode())
    entry = draw(
        st.sampled_from(
            [
                b"migrations: *a0\n",
                b"migrations:\n  - &m {id: 2025-01-01_a, date: 2025-01-01, title: *a0,"
                b" purpose: P, rollback: {none: *a1}}\n  - *m\n",
                b"migrations: &self [*self]\n",
                b"migrations: []\n*a0 : key\n",
                b"migrations: []\n",
            ]
        )
    )
    return b"".join(lines) + entry


@st.composite
def nested_sql(draw: st.DrawFn) -> bytes:
    """SQL nested past what a recursive walk or a quadratic scan survives, or left open."""
    opener, closer = draw(
        st.sampled_from(
            [
                (b"(", b")"),
                (b"CASE WHEN true THEN ", b" END"),
                (b"/*", b"*/"),
                (b"ARRAY[", b"]"),
                (b"(SELECT ", b")"),
                (b"'a' || ", b""),
                (b"+", b""),
                (b"-+", b""),
                (b"$$", b"$$"),
                (b"\\echo x\n", b""),
                (b"-- migdocs: ignore MG205\n", b"SELECT 1;\n"),
            ]
        )
    )
    depth = draw(st.integers(min_value=1, max_value=12_000))
    closed = draw(st.booleans())
    body = b"SELECT " + opener * depth + b"1" + (closer * depth if closed else b"") + b";\n"
    return draw(st.sampled_from([b"", b"SELECT 'open;\n", b"\x00", b"\xff\xfe"])) + body


catalogs = st.one_of(
    st.builds(mutate, st.just(EXAMPLE_CATALOG), st.lists(edit, min_size=1, max_size=6)),
    anchored_yaml(),
    st.binary(max_size=2_000),
)
sqls = st.one_of(
    st.builds(mutate, st.sampled_from(EXAMPLE_SQL), st.lists(edit, min_size=1, max_size=6)),
    nested_sql(),
    st.binary(max_size=2_000),
)


# -- runs -------------------------------------------------------------------------------------


def check(catalog: bytes, sql: bytes | None = None) -> None:
    """Run `migdocs check` on the example project with ``catalog`` (and, if given, ``sql``
    as its first migration): it ends in 0, 1 or 2, never with an internal error."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "migrations" / "rollbacks").mkdir(parents=True)
        for path in (ROOT / "migrations").rglob("*.sql"):
            target = root / path.relative_to(ROOT)
            target.write_bytes(path.read_bytes())
        if sql is not None:
            (root / "migrations" / "2025-08-30_initial_schema.sql").write_bytes(sql)
        (root / "catalog.yaml").write_bytes(catalog)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--catalog", str(root / "catalog.yaml"), "check", "--format", "json"])
        errors = err.getvalue()
        assert code in (0, 1, 2), (code, errors)
        assert "internal error" not in errors, errors
        assert "Traceback" not in errors, errors
        if code == 2:
            assert errors.startswith("migdocs: error: "), errors


@FUZZ_SETTINGS
@given(catalogs)
def fuzz_catalogs(catalog: bytes) -> None:
    """Hostile catalogs beside the example's SQL."""
    check(catalog)


@FUZZ_SETTINGS
@given(sqls)
def fuzz_sql(sql: bytes) -> None:
    """Hostile SQL beside the example's catalog."""
    check(EXAMPLE_CATALOG, sql)


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def test_check_survives_fuzzed_catalogs_and_sql() -> None:
    child = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_fuzz; "
        "test_fuzz.fuzz_catalogs(); test_fuzz.fuzz_sql()"
    )
    done = run(
        [sys.executable, "-c", child, str(Path(__file__).parent)],
        timeout=120,  # the search takes about 10 s; an exhausted child is a failure too
        preexec_fn=_capped,
    )
    assert done.returncode == 0, done.stdout[-5_000:] + done.stderr[-5_000:]
