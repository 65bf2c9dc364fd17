"""Paths that are never destructive: `--site-dir`, `--output` and the docs' symlinks (issue 16).

Each test is one of the attacks of the issue, run as a user (or a hostile pull request)
would: the command line on a small project in ``tmp_path``, and a real `mkdocs build`.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from runner_kit import MIGDOCS, migdocs, mkdocs
from runner_kit import run as kit_run

GOOD = Path(__file__).resolve().parent / "fixtures" / "good"
MKDOCS_YML = "site_name: Good\nplugins:\n  - search\n  - migdocs\n"
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MIGDOCS_TODAY": "2025-10-01"}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return migdocs(*args, cwd=cwd, env=ENV)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The good fixture with an MkDocs config, a docs folder and a stand-in for ``.git``."""
    root = tmp_path / "project"
    shutil.copytree(GOOD, root)
    (root / "mkdocs.yml").write_text(MKDOCS_YML)
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# Good\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links as their target) with its digest."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = "-> " + os.readlink(path)
        elif path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[name] = "dir"
    return found


# -- --site-dir ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site_dir", "shown", "why"),
    [
        (".", "project", "the project folder"),
        ("..", "", "holds the project folder"),
        ("migrations", "migrations", "not a site built by migdocs"),
        ("migrations/rollbacks", "rollbacks", "not a site built by migdocs"),
        ("docs", "docs", "the docs folder"),
        ("notes", "notes", "not a site built by migdocs"),
        ("catalog.yaml", "catalog.yaml", "not a folder"),
    ],
)
def test_site_dir_refuses_what_it_would_destroy(
    project: Path, site_dir: str, shown: str, why: str
) -> None:
    (project / "notes").mkdir()
    (project / "notes" / "todo.txt").write_text("mine\n")
    before = tree(project.parent)
    result = run(project, "build", "--site-dir", site_dir)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("migdocs: error: --site-dir ")
    assert f"{shown}: " in result.stderr.splitlines()[0]
    assert why in result.stderr
    assert "Traceback" not in result.stderr
    assert tree(project.parent) == before


def test_site_dir_from_mkdocs_yml_is_refused_too_even_with_a_planted_marker(
    project: Path,
) -> None:
    """A hostile pull request names the rollbacks in `site_dir` and commits the marker file
    there (`site_dir: .` mkdocs refuses itself: it holds docs_dir)."""
    (project / "mkdocs.yml").write_text("site_dir: migrations/rollbacks\n" + MKDOCS_YML)
    (project / "migrations" / "rollbacks" / ".migdocs-site").write_text("")
    before = tree(project)
    result = run(project, "build")
    assert result.returncode == 2
    assert result.stderr.startswith("migdocs: error: mkdocs.yml: site_dir ")
    assert "rollbacks: is the rollbacks folder of catalog.yaml" in result.stderr
    assert tree(project) == before


def test_a_marked_migrations_folder_is_still_refused(project: Path) -> None:
    (project / "migrations" / ".migdocs-site").write_text("")
    before = tree(project)
    result = run(project, "build", "--site-dir", "migrations/rollbacks/..")
    assert result.returncode == 2
    assert "migrations: is the migrations folder of catalog.yaml" in result.stderr
    assert tree(project) == before
    assert not [p for p in project.iterdir() if p.name.startswith(".migrations")]


def test_a_migdocs_site_is_rebuilt_and_carries_its_marker(project: Path) -> None:
    assert run(project, "build", "--site-dir", "out").returncode == 0
    assert (project / "out" / ".migdocs-site").is_file()
    assert (project / "out" / "index.html").is_file()
    (project / "out" / "stale.html").write_text("old\n")
    result = run(project, "build", "--site-dir", "out")
    assert result.returncode == 0, result.stderr
    assert not (project / "out" / "stale.html").exists()
    assert (project / "out" / ".migdocs-site").is_file()
    # Readable by a web server and teammates, as the umask says (mkdtemp alone gives 0700).
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE((project / "out").stat().st_mode) == 0o777 & ~umask


def test_a_site_built_before_the_marker_is_accepted(project: Path) -> None:
    """An MkDocs site (index.html and sitemap.xml) from an earlier migdocs or plain mkdocs."""
    old = project / "site"
    old.mkdir()
    (old / "index.html").write_text("<html></html>\n")
    (old / "sitemap.xml").write_text("<urlset/>\n")
    result = run(project, "build")
    assert result.returncode == 0, result.stderr
    assert (old / ".migdocs-site").is_file()
    assert (old / "history").is_dir()


def test_an_empty_folder_is_a_fine_site_dir(project: Path) -> None:
    (project / "out").mkdir()
    assert run(project, "build", "--site-dir", "out").returncode == 0
    assert (project / "out" / ".migdocs-site").is_file()


# -- --output ------------------------------------------------------------------------------------


def test_output_refuses_a_fifo(project: Path) -> None:
    fifo = project / "report.fifo"
    os.mkfifo(fifo)
    result = run(project, "check", "--output", str(fifo))
    assert result.returncode == 2
    assert result.stderr == f"migdocs: error: {fifo}: not a regular file (a FIFO); not written\n"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_output_refuses_a_device_node(tmp_path: Path) -> None:
    """A character device of our own (as /dev/null is), never the real one."""
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs CAP_MKNOD")
    result = run(GOOD, "check", "--output", str(node))
    assert result.returncode == 2
    assert "not a regular file (a device); not written" in result.stderr
    assert stat.S_ISCHR(node.lstat().st_mode)


def test_output_through_a_symlink_replaces_its_target_and_keeps_the_link(project: Path) -> None:
    reports = project / "reports"
    reports.mkdir()
    target = reports / "report.json"
    target.write_text("old\n")
    target.chmod(0o640)
    link = project / "report.json"
    link.symlink_to("reports/report.json")
    result = run(project, "check", "--format", "json", "--output", "report.json")
    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    assert os.readlink(link) == "reports/report.json"
    assert target.read_text().startswith("{")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in reports.iterdir()) == ["report.json"]


def test_output_refuses_a_dangling_symlink(project: Path) -> None:
    link = project / "report.json"
    link.symlink_to(project / "nowhere" / "report.json")
    result = run(project, "check", "--output", "report.json")
    assert result.returncode == 2
    assert "report.json: a link to" in result.stderr
    assert "which does not exist; not written" in result.stderr
    assert link.is_symlink()
    assert not (project / "nowhere").exists()


def test_output_refuses_a_read_only_file(project: Path) -> None:
    report = project / "report.txt"
    report.write_text("kept\n")
    report.chmod(0o444)
    result = run(project, "check", "--output", "report.txt")
    assert result.returncode == 2
    assert "report.txt: read-only; not written" in result.stderr
    assert report.read_text() == "kept\n"


def test_output_gets_the_umask_mode(project: Path) -> None:
    result = kit_run(
        ["sh", "-c", 'umask 027 && exec "$@"', "sh", *MIGDOCS, "check", "--output", "new.txt"],
        cwd=project,
        env=ENV,
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((project / "new.txt").stat().st_mode) == 0o640


# -- docs/ symlinks -------------------------------------------------------------------------------


def _limit_memory() -> None:
    # Before the fix, a loop made mkdocs walk forever: stop it at 1 GB, not the machine's.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def mkdocs_build(cwd: Path) -> subprocess.CompletedProcess[str]:
    return mkdocs(
        "build",
        "--site-dir",
        str(cwd / "out"),
        cwd=cwd,
        env=ENV,
        timeout=120,
        preexec_fn=_limit_memory,
    )


@pytest.mark.parametrize(
    ("name", "target", "message"),
    [
        ("env.txt", "/proc/self/environ", "docs/env.txt -> /proc/self/environ: outside the"),
        ("etc", "/etc", "docs/etc -> /etc: outside the project"),
        ("loop", "..", "docs/loop -> ..: a folder that holds it (a loop)"),
        ("sub/up", "../..", "docs/sub/up -> ../..: a folder that holds it (a loop)"),
        ("env.md", "../.env", "docs/env.md -> ../.env: a hidden file or folder (.env)"),
        ("git", "../.git", "docs/git -> ../.git: a hidden file or folder (.git)"),
    ],
)
def test_docs_links_out_of_the_project_or_in_a_loop_stop_the_build(
    project: Path, name: str, target: str, message: str
) -> None:
    link = project / "docs" / name
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(target)
    (project / ".env").write_text("MIGDOCS_DATABASE_URL=postgresql://u:SECRET@db/app\n")
    (project / ".git").mkdir(exist_ok=True)
    expected = message
    result = mkdocs_build(project)
    assert result.returncode == 1, result.stderr[-2000:]
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "out").exists()
    built = run(project, "build", "--site-dir", "out")
    assert built.returncode == 2
    assert expected in built.stderr
    assert not (project / "out").exists()


def test_docs_links_that_reach_a_folder_twice_stop_the_build(project: Path) -> None:
    """A loop through a folder outside docs/ but inside the project."""
    (project / "extra").mkdir()
    (project / "extra" / "back").symlink_to("../docs")
    (project / "docs" / "extra").symlink_to("../extra")
    result = mkdocs_build(project)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "docs/extra/back -> ../docs: a folder the docs already reach" in result.stderr


def test_docs_dir_outside_the_project_is_refused(project: Path) -> None:
    (project / "mkdocs.yml").write_text("docs_dir: /etc\n" + MKDOCS_YML)
    result = mkdocs_build(project)
    assert result.returncode == 1
    assert "docs_dir /etc is outside the project" in result.stderr


def test_docs_links_inside_the_project_keep_working(project: Path) -> None:
    (project / "CHANGELOG.md").write_text("# Changelog\n\nAll of it.\n")
    (project / "docs" / "changelog.md").symlink_to("../CHANGELOG.md")
    (project / "docs" / "sql").symlink_to("../migrations")
    result = mkdocs_build(project)
    assert result.returncode == 0, result.stderr
    assert "All of it." in (project / "out" / "changelog" / "index.html").read_text()
    assert (project / "out" / "sql" / "2025-08-30_initial_schema.sql").is_file()


@pytest.mark.parametrize("where", ["outside", "git"])
def test_output_refuses_a_link_that_leads_out_of_its_folder(
    project: Path, tmp_path_factory: pytest.TempPathFactory, where: str
) -> None:
    """A link a pull request planted at the report's path (``migdocs.sarif -> ~/.bashrc``)
    does not choose what the report overwrites."""
    if where == "outside":
        victim = tmp_path_factory.mktemp("home") / ".bashrc"
    else:
        (project / ".git" / "hooks").mkdir(parents=True)
        victim = project / ".git" / "hooks" / "pre-commit"
    victim.write_text("echo hello\n")
    (project / "migdocs.sarif").symlink_to(victim)
    result = run(project, "check", "--format", "sarif", "--output", "migdocs.sarif")
    assert result.returncode == 2
    assert "outside the link's own folder; not written" in result.stderr
    assert victim.read_text() == "echo hello\n"
