"""`migdocs review`: what is due, the checklist, and stamping that keeps every other byte."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from runner_kit import environment, migdocs

CATALOG = """\
# The history of Shop — keep this comment.
version: 1
project: {name: Shop}   # flow style, kept
review:
  every_days: 90

migrations:
  # First of all.
  - id: 2025-01-01_users
    date: 2025-01-01
    title: 'Users'
    purpose: >-
      Creates users.
    creates: {tables: [users]}
    rollback:
      file: 2025-01-01_rollback_users.sql
      risk: critical
      impact: [data-loss]
      summary: Drops users.
    reviewed:
      date: 2025-01-10
      by: "old team"
    # A comment about notes.
    notes: "kept"

  - id: 2025-01-02_orders
    date: 2025-01-02
    title: Orders
    purpose: Creates orders.
    creates:
      tables: [orders]
    rollback: {file: 2025-01-02_rollback_orders.sql, risk: high, impact: [data-loss], summary: x}
    reviewed: {date: 2025-06-01, by: ops, sha256: %(orders)s}  # fresh

  - id: 2025-01-03_items
    date: 2025-01-03
    title: Items
    purpose: Creates items.
    creates:
      tables: [items]
    rollback:
      none: "kept forever"

# Trailing comment of the file.
"""

FILES = {
    "migrations/2025-01-01_users.sql": "CREATE TABLE users (id int);\n",
    "migrations/2025-01-02_orders.sql": "CREATE TABLE orders (id int);\n",
    "migrations/2025-01-03_items.sql": "CREATE TABLE items (id int);\n",
    "migrations/rollbacks/2025-01-01_rollback_users.sql": "DROP TABLE users;\n",
    "migrations/rollbacks/2025-01-02_rollback_orders.sql": "DROP TABLE orders;\n",
}


def digest(*texts: str) -> str:
    hashed = hashlib.sha256()
    for text in texts:
        hashed.update(text.encode())
    return hashed.hexdigest()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    orders = digest(
        FILES["migrations/2025-01-02_orders.sql"],
        FILES["migrations/rollbacks/2025-01-02_rollback_orders.sql"],
    )
    (tmp_path / "catalog.yaml").write_text(CATALOG % {"orders": orders})
    return tmp_path


def run(cwd: Path, *args: str, today: str = "2025-07-01") -> subprocess.CompletedProcess[str]:
    return migdocs(*args, cwd=cwd, env=environment(MIGDOCS_TODAY=today))


def due(cwd: Path, today: str = "2025-07-01") -> list[tuple[str, str]]:
    result = run(cwd, "review", "--format", "json", "--fail-on", "info", today=today)
    return [(f["code"], f["migration"][11:]) for f in json.loads(result.stdout)["findings"]]


def test_what_is_due(project: Path) -> None:
    # users: reviewed 172 days ago (overdue), and without sha256 MG603 cannot apply;
    # orders: fresh and unchanged; items: never reviewed.
    assert due(project) == [("MG601", "users"), ("MG602", "items")]
    result = run(project, "review")
    assert result.returncode == 0  # MG601 is a warning, below the default --fail-on error
    assert "never reviewed" in result.stdout


def test_checklist(project: Path) -> None:
    result = run(project, "review", "--checklist")
    assert result.returncode == 0
    text = result.stdout
    assert text.startswith("## Documentation review of Shop: 2025-07-01\n")
    assert "2 of 3 migrations are due" in text
    assert "- [ ] **2025-01-01_users**: Users (MG601 last reviewed 2025-01-10" in text
    assert "- [ ] **2025-01-03_items**: Items (MG602 never reviewed)" in text
    assert "2025-01-02_orders" not in text
    assert "$ migdocs review --mark 2025-01-01_users 2025-01-03_items --by NAME" in text


def test_mark_keeps_every_other_byte(project: Path) -> None:
    before = (project / "catalog.yaml").read_text()
    result = run(
        project,
        "review",
        "--mark",
        "2025-01-01_users",
        "2025-01-03_items",
        "--by",
        "Ana Lima",
        today="2025-07-02",
    )
    assert result.returncode == 0, result.stderr
    after = (project / "catalog.yaml").read_text()
    users = digest(
        FILES["migrations/2025-01-01_users.sql"],
        FILES["migrations/rollbacks/2025-01-01_rollback_users.sql"],
    )
    items = digest(FILES["migrations/2025-01-03_items.sql"])
    expected = before.replace(
        '    reviewed:\n      date: 2025-01-10\n      by: "old team"\n',
        f"    reviewed: {{date: 2025-07-02, by: Ana Lima, sha256: {users}}}\n",
    ).replace(
        '      none: "kept forever"\n',
        '      none: "kept forever"\n'
        f"    reviewed: {{date: 2025-07-02, by: Ana Lima, sha256: {items}}}\n",
    )
    assert after == expected
    assert due(project, today="2025-07-02") == []


def test_mark_all_and_a_flow_stamp_with_its_comment(project: Path) -> None:
    result = run(project, "review", "--all", "--by", "ops", today="2025-08-01")
    assert result.returncode == 0, result.stderr
    text = (project / "catalog.yaml").read_text()
    assert text.count("reviewed: {date: 2025-08-01, by: ops, sha256: ") == 3
    assert "  # fresh\n" in text  # the comment after the replaced flow stamp
    assert text.startswith("# The history of Shop — keep this comment.\n")
    assert text.endswith("# Trailing comment of the file.\n")


def test_review_cycle_finds_a_changed_file(project: Path) -> None:
    assert run(project, "review", "--all", "--by", "ops").returncode == 0
    assert due(project) == []
    (project / "migrations/2025-01-02_orders.sql").write_text("CREATE TABLE orders (id bigint);\n")
    assert due(project) == [("MG603", "orders")]


def test_crlf_catalog_stays_crlf(project: Path) -> None:
    path = project / "catalog.yaml"
    path.write_bytes(path.read_text().replace("\n", "\r\n").encode())
    before = path.read_bytes()
    assert run(project, "review", "--mark", "2025-01-03_items", "--by", "ops").returncode == 0
    after = path.read_bytes()
    assert b"\n" not in after.replace(b"\r\n", b"")
    assert len(after.splitlines()) == len(before.splitlines()) + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mark", "2025-01-09_nope", "--by", "ops"], "no migration with id '2025-01-09_nope'"),
        (["--mark", "2025-01-01_users"], "--by NAME is required"),
        (["--all", "--by", " "], "--by NAME is required"),
        (["--mark", "--by", "ops"], "--mark needs the ids"),
        (["2025-01-01_users"], "ids are for --mark"),
    ],
)
def test_bad_requests_change_nothing(project: Path, args: list[str], message: str) -> None:
    path = project / "catalog.yaml"
    before = path.read_bytes()
    result = run(project, "review", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in project.iterdir()) == ["catalog.yaml", "migrations"]


def test_a_flow_style_entry_is_refused_with_the_reason(project: Path) -> None:
    path = project / "catalog.yaml"
    text = path.read_text()
    start = text.index("  - id: 2025-01-03_items")
    end = text.index("\n# Trailing comment")
    path.write_text(
        text[:start]
        + "  - {id: 2025-01-03_items, date: 2025-01-03, title: Items, purpose: Creates items.,"
        + ' creates: {tables: [items]}, rollback: {none: "kept forever"}}\n'
        + text[end:]
    )
    before = path.read_bytes()
    result = run(project, "review", "--mark", "2025-01-03_items", "--by", "ops")
    assert result.returncode == 2
    line = text[:start].count("\n") + 1
    assert f"catalog.yaml:{line}: the entry '2025-01-03_items' is written in flow style" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before


def _stamp_each(path: str, ids: list[str]) -> None:
    """One reviewer's run: stamps ``ids`` one at a time, each a read, an edit and a write."""
    from migdocs.review import Stamp, stamp_catalog

    for migration in ids:
        stamp_catalog(Path(path), [Stamp(migration, "2025-07-01", "ops", None)])


def test_concurrent_marks_all_land(tmp_path: Path) -> None:
    """Four processes stamping 15 entries each: the lock keeps every one of the 60 stamps."""
    import multiprocessing

    ids = [f"2025-01-01_m{number:02d}" for number in range(60)]
    entries = "".join(
        f"  - id: {i}\n    date: 2025-01-01\n    title: M\n    purpose: P.\n"
        "    rollback: {none: x}\n"
        for i in ids
    )
    path = tmp_path / "catalog.yaml"
    path.write_text(f"version: 1\nproject: {{name: Shop}}\nmigrations:\n{entries}")
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_stamp_each, args=(str(path), ids[start::4])) for start in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    assert path.read_text().count("    reviewed: {date: 2025-07-01, by: ops}\n") == 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.yaml"]


def test_a_read_only_catalog_is_refused(project: Path) -> None:
    path = project / "catalog.yaml"
    path.chmod(0o444)
    before = path.read_bytes()
    result = run(project, "review", "--mark", "2025-01-03_items", "--by", "ops")
    assert result.returncode == 2
    assert result.stderr == "migdocs: error: catalog.yaml: read-only; not written\n"
    assert "stamped" not in result.stdout
    assert path.read_bytes() == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_a_symlinked_catalog_is_stamped_through_the_link(project: Path) -> None:
    """The link stays a link; its target is stamped in its own folder, mode and owner kept."""
    shared = project / "shared"
    shared.mkdir()
    (project / "catalog.yaml").rename(shared / "catalog.yaml")
    (project / "catalog.yaml").symlink_to("shared/catalog.yaml")
    target = shared / "catalog.yaml"
    target.chmod(0o640)
    owner = (1234, 1234) if os.geteuid() == 0 else (os.geteuid(), os.getegid())
    os.chown(target, *owner)
    result = run(project, "review", "--mark", "2025-01-03_items", "--by", "ops")
    assert result.returncode == 0, result.stderr
    assert os.readlink(project / "catalog.yaml") == "shared/catalog.yaml"
    assert target.read_text().count("reviewed: {date: 2025-07-01, by: ops, sha256: ") == 1
    status = target.stat()
    assert stat.S_IMODE(status.st_mode) == 0o640
    assert (status.st_uid, status.st_gid) == owner
    assert sorted(p.name for p in shared.iterdir()) == ["catalog.yaml"]


def test_a_date_like_title_is_stamped_and_kept(project: Path) -> None:
    """`2025-13-45` is text in YAML 1.2 (the catalog's); ruamel's timestamp rule took it for a
    date and crashed the stamp."""
    path = project / "catalog.yaml"
    path.write_text(path.read_text().replace("    title: Items\n", "    title: 2025-13-45\n"))
    assert run(project, "check").returncode in (0, 1)
    result = run(project, "review", "--mark", "2025-01-03_items", "--by", "ops")
    assert result.returncode == 0, result.stderr
    text = path.read_text()
    assert "    title: 2025-13-45\n" in text
    assert text.count("reviewed: {date: 2025-07-01, by: ops, sha256: ") == 1


def _with_placeholders(project: Path) -> Path:
    """The Shop catalog with TODO texts as `migdocs init` leaves them: users' purpose and
    rollback summary, and items' `rollback.none`; orders stays written."""
    path = project / "catalog.yaml"
    text = path.read_text()
    text = text.replace("    purpose: >-\n      Creates users.\n", "    purpose: TODO\n")
    text = text.replace("      summary: Drops users.\n", '      summary: ""\n')
    text = text.replace('      none: "kept forever"\n', "      none: TBD why it stays\n")
    path.write_text(text)
    return path


def _line(path: Path, text: str) -> int:
    """The 1-based line of the catalog that holds ``text``."""
    return path.read_text().split("\n").index(text) + 1


def _mg604(project: Path) -> list[str]:
    """Where `migdocs check` reports MG604, as ``file:line: id: message`` lines."""
    result = run(project, "check", "--format", "json", "--fail-on", "info")
    return [
        f"{f['file']}:{f['line']}: {f['migration']}: {f['message']} (MG604)"
        for f in json.loads(result.stdout)["findings"]
        if f["code"] == "MG604"
    ]


def test_mark_refuses_an_entry_with_placeholders_and_writes_nothing(project: Path) -> None:
    path = _with_placeholders(project)
    before = path.read_bytes()
    result = run(
        project, "review", "--mark", "2025-01-02_orders", "2025-01-01_users", "--by", "ops"
    )
    assert result.returncode == 2
    purpose, summary = _line(path, "    purpose: TODO"), _line(path, '      summary: ""')
    assert result.stderr == (
        "migdocs: error: nothing stamped: 1 entry still with placeholders (MG604)\n"
        f"catalog.yaml:{purpose}: 2025-01-01_users: `purpose` is a placeholder (MG604)\n"
        f"catalog.yaml:{summary}: 2025-01-01_users: "
        "`rollback.summary` is empty (MG604)\n"
        "write those texts, then stamp; or stamp anyway with --allow-todo\n"
    )
    assert result.stdout == ""
    assert path.read_bytes() == before  # orders, which has none, is not stamped either
    assert sorted(p.name for p in project.iterdir()) == ["catalog.yaml", "migrations"]


def test_all_names_every_entry_with_placeholders_as_mg604_does(project: Path) -> None:
    """The refusal lists exactly the MG604 findings of `migdocs check`: one definition."""
    path = _with_placeholders(project)
    text = path.read_text()
    path.write_text(text.replace("    title: Orders\n", "    title: 'FIXME: name it'\n"))
    before = path.read_bytes()
    expected = _mg604(project)
    assert len(expected) == 4  # users' purpose and summary, orders' title, items' none
    result = run(project, "review", "--all", "--by", "ops")
    assert result.returncode == 2
    lines = result.stderr.rstrip("\n").split("\n")
    assert lines[0] == "migdocs: error: nothing stamped: 3 entries still with placeholders (MG604)"
    assert lines[1:-1] == expected
    assert lines[-1] == "write those texts, then stamp; or stamp anyway with --allow-todo"
    assert path.read_bytes() == before


def test_a_word_that_starts_with_todo_is_no_placeholder(project: Path) -> None:
    path = project / "catalog.yaml"
    path.write_text(
        path.read_text().replace(
            "    purpose: Creates items.\n", "    purpose: TODOs become tasks.\n"
        )
    )
    assert _mg604(project) == []
    result = run(project, "review", "--mark", "2025-01-03_items", "--by", "ops")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "stamped 2025-01-03_items: reviewed 2025-07-01 by ops\n"


def test_allow_todo_stamps_and_says_how_many_placeholders_are_left(project: Path) -> None:
    path = _with_placeholders(project)
    result = run(project, "review", "--all", "--by", "ops", "--allow-todo")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "stamped 2025-01-01_users: reviewed 2025-07-01 by ops (with 2 placeholders)\n"
        "stamped 2025-01-02_orders: reviewed 2025-07-01 by ops\n"
        "stamped 2025-01-03_items: reviewed 2025-07-01 by ops (with 1 placeholder)\n"
    )
    assert path.read_text().count("reviewed: {date: 2025-07-01, by: ops, sha256: ") == 3
    assert "    purpose: TODO\n" in path.read_text()  # the stamp changes nothing else


def test_placeholders_are_refused_even_with_mg604_turned_off(project: Path) -> None:
    """A severity setting quiets the report; it does not make a TODO reviewable."""
    path = _with_placeholders(project)
    path.write_text(
        path.read_text().replace(
            "review:\n",
            'rules:\n  MG604: {severity: "off", reason: TODOs are filled later}\nreview:\n',
            1,
        )
    )
    assert _mg604(project) == []  # check no longer reports them
    before = path.read_bytes()
    result = run(project, "review", "--mark", "2025-01-03_items", "--by", "ops")
    assert result.returncode == 2
    assert "2025-01-03_items: `rollback.none` is a placeholder (MG604)" in result.stderr
    assert path.read_bytes() == before


def test_allow_todo_without_a_stamp_is_a_usage_error(project: Path) -> None:
    result = run(project, "review", "--allow-todo")
    assert result.returncode == 2
    assert "--allow-todo is for --mark or --all" in result.stderr
    assert "Traceback" not in result.stderr
