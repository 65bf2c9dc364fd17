"""The generated pages converted, then put through the theme, by worker processes while the
build does the rest (``jobs``, ``site/rendering.py``, ``site/theming.py``): the same site,
byte for byte, as one process makes; the same warnings, in the same order, counted by strict
mode; the build's own Markdown, and its own rendering, win where a plugin makes a page
differently in a worker; a worker that dies costs nothing but time. Each build is a
``mkdocs build`` of its own, as a user runs it: workers are forked only from a build that
runs no other thread, which a test process is not."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from migdocs.site.rendering import AHEAD_FROM, MOST_JOBS, forkable
from runner_kit import SITE_BUILD, environment, mkdocs
from site_kit import copy_example

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_site import history  # noqa: E402

#: The line a verbose build logs once workers have converted pages.
CONVERTED = re.compile(
    r"migdocs: (\d+) of (\d+) generated pages converted by (\d+) worker process\(es\)"
)

#: The line a verbose build logs once workers have put pages through the theme.
THEMED = re.compile(
    r"migdocs: (\d+) of (\d+) generated pages put through the theme by (\d+) worker process\(es\)"
)

#: The line a verbose build logs once its search index has taken workers' entries.
INDEXED = re.compile(r"migdocs: the search index took (\d+) pages from the workers")

forks = pytest.mark.skipif(not forkable(), reason="workers are forked: not on this system")


def _digest(folder: Path) -> dict[str, str]:
    """Each file of ``folder`` with a digest of its bytes, each folder with ``/``."""
    return {
        str(path.relative_to(folder)): (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "/"
        )
        for path in sorted(folder.rglob("*"))
    }


def _with_jobs(project: Path, jobs: object, config: str = "mkdocs.yml") -> str:
    """``project``'s mkdocs.yml with the plugin's ``jobs`` set, written as ``config``."""
    text = (project / "mkdocs.yml").read_text().replace("  - migdocs\n", "  - migdocs:\n")
    assert "  - migdocs:\n" in text
    (project / config).write_text(
        text.replace("  - migdocs:\n", f"  - migdocs:\n      jobs: {jobs}\n")
    )
    return config


def _build(
    project: Path, config: str, site: str, tmp: Path, *args: str, **extra: str
) -> tuple[int, str]:
    """A verbose ``mkdocs build ARGS`` of ``config`` into ``site``: exit code and log, with
    the workers' temporary files under ``tmp`` (and ``extra`` in the environment)."""
    tmp.mkdir(exist_ok=True)
    env = environment(**SITE_BUILD, TMPDIR=str(tmp), **extra)
    result = mkdocs("build", "-v", "-f", config, "-d", site, *args, cwd=project, env=env)
    return result.returncode, result.stderr + result.stdout


def _converted(log: str, line: re.Pattern[str] = CONVERTED) -> tuple[int, int, int] | None:
    found = line.search(log)
    return None if found is None else (int(found[1]), int(found[2]), int(found[3]))


def _said(log: str) -> list[str]:
    """What a build's log says, but for its timing and its debug lines."""
    return [
        line
        for line in log.splitlines()
        if not line.startswith("DEBUG") and "Documentation built in" not in line
    ]


FOOTNOTED = (
    "Checked by the CI[^ci] on every PR.\n\n"
    "      [^ci]: continuous integration\n\n      *[PR]: pull request\n\n"
)


def _example(root: Path) -> Path:
    """The repository's example, its purposes with a footnote and an abbreviation."""
    project = copy_example(root)
    catalog = (project / "catalog.yaml").read_text()
    assert catalog.count("    purpose: >-\n") >= 2
    (project / "catalog.yaml").write_text(
        catalog.replace("    purpose: >-\n", f"    purpose: |-\n      {FOOTNOTED}")
    )
    return project


def _long(root: Path, text: str = FOOTNOTED) -> Path:
    """A history of 60 migrations (the benchmarks' kind), ``text`` before each purpose."""
    project = root / "long"
    project.mkdir()
    history(project, 60)
    catalog = (project / "catalog.yaml").read_text()
    assert catalog.count("    purpose: Synthetic") == 60
    (project / "catalog.yaml").write_text(
        catalog.replace("    purpose: Synthetic", f"    purpose: |-\n      {text}      Synthetic")
    )
    return project


@forks
@pytest.mark.parametrize("made", [_example, _long])
def test_pages_converted_by_workers_are_the_pages_one_process_makes(
    tmp_path: Path, made: Callable[[Path], Path]
) -> None:
    """With footnotes, abbreviations and tabs (extensions that keep state across a page) in
    catalog text on several pages: the site of 2 and of 3 processes is byte for byte the
    site of one (its search index too, which the plugin's notes about each page make, and
    its folders, which a process of the workers' makes ahead of MkDocs), the workers
    converted pages, and they leave no file behind."""
    project = made(tmp_path)
    config = (project / "mkdocs.yml").read_text()
    (project / "mkdocs.yml").write_text(
        config.replace(
            "markdown_extensions:\n",
            "markdown_extensions:\n  - footnotes\n  - abbr\n  - def_list\n  - pymdownx.tasklist\n",
        )
    )
    sites = {}
    for jobs in (1, 2, 3):
        config = _with_jobs(project, jobs, f"{jobs}.yml")
        code, log = _build(project, config, f"site{jobs}", tmp_path / "tmp")
        assert code == 0, log
        for line in (CONVERTED, THEMED):
            converted = _converted(log, line)
            if jobs == 1:
                assert converted is None
            else:
                assert converted is not None, log
                taken, pages, workers = converted
                assert workers == jobs - 1
                # on a loaded machine, workers may make every page of a short history
                # before the build reaches its first
                assert 0 < taken <= pages
        indexed = INDEXED.search(log)
        assert (indexed is None) if jobs == 1 else (indexed and int(indexed[1]) > 0), log
        sites[jobs] = _digest(project / f"site{jobs}")
    assert len(sites[1]) > 50
    footnoted = (project / "site2").glob("history/migrations/*/index.html")
    assert (
        sum('<abbr title="pull request">PR</abbr>' in path.read_text() for path in footnoted) >= 2
    )
    assert sites[2] == sites[1]
    assert sites[3] == sites[1]
    assert list((tmp_path / "tmp").iterdir()) == []


@forks
def test_what_workers_log_the_build_logs_in_page_order_and_strict_mode_counts(
    tmp_path: Path,
) -> None:
    """Catalog text that links to a page the site does not have: MkDocs warns once per
    migration page as it converts it. With workers the warnings are the same, in the same
    order, and the strict build stops on as many."""
    project = _long(tmp_path, "See [the runbook](runbook-gone.md).\n\n")
    _strict_logs_agree(project, tmp_path / "tmp", "runbook-gone.md", CONVERTED)


def _strict_logs_agree(project: Path, tmp: Path, warned: str, line: re.Pattern[str]) -> None:
    """Strict builds of ``project`` by one process and by two: one warning naming
    ``warned`` per migration page, the same log both ways, and the workers made pages (as
    ``line`` of the debug log says)."""
    logs = {}
    for jobs in (1, 2):
        config = _with_jobs(project, jobs, f"{jobs}.yml")
        code, log = _build(project, config, "site", tmp, "--strict")
        assert code == 1
        logs[jobs] = log
    warnings = [said for said in _said(logs[1]) if warned in said]
    assert len(warnings) == 60
    assert "Aborted with 60 warnings in strict mode!" in logs[1]
    assert _said(logs[2]) == _said(logs[1])
    made = _converted(logs[2], line)
    assert made is not None, logs[2]
    assert made[0] > 0


HOOKS = """\
import os
from pathlib import Path

BUILD = os.getpid()


def on_page_markdown(markdown, page, config, files):
    if not page.file.src_uri.startswith("history/"):
        return markdown
    if os.getpid() != BUILD and os.environ.get("WORKERS_DIE"):
        os._exit(3)
    return markdown + f"\\n\\n<!-- made by process {os.getpid()} -->\\n"


def on_post_build(config):
    Path("build.pid").write_text(str(BUILD))
"""


@forks
@pytest.mark.parametrize("die", [False, True])
def test_the_build_converts_a_page_itself_unless_a_worker_made_the_same_markdown(
    tmp_path: Path, die: bool
) -> None:
    """A hook (mkdocs.yml's ``hooks:``) that makes each generated page's Markdown name the
    process it runs in: no worker's HTML is the page the build makes, so the build converts
    every page itself. And when the hook kills the workers at their first page, the build
    still makes every page, as one process does."""
    project = copy_example(tmp_path)
    (project / "hooks.py").write_text(HOOKS)
    with (project / "mkdocs.yml").open("a") as config:
        config.write("\nhooks:\n  - hooks.py\n")
    extra = {"WORKERS_DIE": "1"} if die else {}
    config = _with_jobs(project, 2, "2.yml")
    code, log = _build(project, config, "site", tmp_path / "tmp", **extra)
    assert code == 0, log
    converted = _converted(log)
    assert converted is not None, log
    assert converted[0] == 0  # taken from the workers
    assert converted[2] == 1
    build = (project / "build.pid").read_text()
    made = list((project / "site" / "history").rglob("index.html"))
    assert len(made) > 10
    for page in made:
        text = page.read_text()
        assert f"<!-- made by process {build} -->" in text, page
        assert text.count("<!-- made by process") == 1, page
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("jobs", ["0", "-2", "many", "true", "1.5"])
def test_jobs_is_auto_or_a_number_of_processes(tmp_path: Path, jobs: str) -> None:
    project = copy_example(tmp_path)
    code, log = _build(project, _with_jobs(project, jobs), "site", tmp_path / "tmp")
    assert code == 1
    assert "jobs" in log
    assert "expected 'auto' or a number of processes (1 or more)" in log
    assert "Traceback" not in log
    assert not (project / "site").exists()


@forks
def test_auto_starts_workers_for_a_long_history_only(tmp_path: Path) -> None:
    """``jobs: auto`` (the default): a history of more than `AHEAD_FROM` generated pages is
    converted with workers, one per further core; the example's short one, in one process."""
    cores = min(len(os.sched_getaffinity(0)), MOST_JOBS)
    if cores < 2:
        pytest.skip("one core for this build: no worker to start")
    long = tmp_path / "long"
    long.mkdir()
    history(long, AHEAD_FROM)
    code, log = _build(long, "mkdocs.yml", "site", tmp_path / "tmp")
    assert code == 0, log
    converted = _converted(log)
    assert converted is not None, log
    assert converted[1] > AHEAD_FROM
    assert converted[2] == cores - 1
    project = copy_example(tmp_path)
    code, log = _build(project, "mkdocs.yml", "site", tmp_path / "tmp")
    assert code == 0, log
    assert _converted(log) is None


THREADED = """\
import threading
from migdocs.site.rendering import jobs_for

alone = jobs_for(4), jobs_for(None)
release = threading.Event()
thread = threading.Thread(target=release.wait)
thread.start()
beside = jobs_for(4), jobs_for(None)
release.set()
thread.join()
print(alone, beside, jobs_for(4))
"""


@forks
def test_no_worker_is_forked_while_another_thread_runs(tmp_path: Path) -> None:
    """Forking a process that runs threads can leave the child waiting forever on a lock one
    of them held (``mkdocs serve`` runs its server beside the builds): one process then.
    In a process of its own, which runs no thread of a test's."""
    result = subprocess.run(
        [sys.executable, "-c", THREADED], capture_output=True, text=True, check=True
    )
    cores = min(len(os.sched_getaffinity(0)), MOST_JOBS)
    assert result.stdout.split("\n")[0] == f"(4, {cores}) (1, 1) 4"


THEME_HOOKS = """\
import logging

LOG = logging.getLogger("mkdocs.hooks.noted")


def on_env(env, config, files):
    def noted(page):
        if page.file.src_uri.startswith("history/migrations/"):
            LOG.warning(f"rendering {page.file.src_uri}")
        return ""

    env.globals["noted"] = noted
    return env


def on_post_page(output, page, config):
    config.extra["built"] = config.extra.get("built", 0) + COUNTED
    return output
"""

#: A theme override whose page template logs a warning for each migration page (by the
#: hooks' ``noted``) and shows how many pages the hooks counted before it.
OVERRIDE = """\
{% extends "base.html" %}
{% block content %}
{{ noted(page) }}<p>built before: {{ config.extra.built }}</p>{{ super() }}
{% endblock %}
"""


def _one_way_and_two(project: Path, tmp: Path) -> tuple[dict[int, dict[str, str]], str]:
    """``project`` built by one process into ``site1`` and by two into ``site2``: the
    digests of both sites, by number of processes, and the log of the second build."""
    sites = {}
    for jobs in (1, 2):
        config = _with_jobs(project, jobs, f"{jobs}.yml")
        code, log = _build(project, config, f"site{jobs}", tmp)
        assert code == 0, log
        sites[jobs] = _digest(project / f"site{jobs}")
    return sites, log


def _with_hooks(project: Path, hooks: str) -> None:
    """``project`` with ``hooks`` as its mkdocs.yml's ``hooks:`` file."""
    (project / "hooks.py").write_text(hooks)
    with (project / "mkdocs.yml").open("a") as config:
        config.write("hooks:\n  - hooks.py\n")


def _themed_project(root: Path, *, counted: bool) -> Path:
    """The 60-migration history with `THEME_HOOKS` and `OVERRIDE`; with ``counted``, the
    hooks count the pages built in ``config.extra``, which every page shows."""
    project = _long(root, "")
    (project / "hooks.py").write_text(THEME_HOOKS.replace("COUNTED", "1" if counted else "0"))
    (project / "overrides").mkdir()
    (project / "overrides" / "main.html").write_text(OVERRIDE)
    config = (project / "mkdocs.yml").read_text()
    assert "  name: material\n" in config
    config = config.replace("  name: material\n", "  name: material\n  custom_dir: overrides\n")
    (project / "mkdocs.yml").write_text(config + "extra: {built: 0}\nhooks:\n  - hooks.py\n")
    return project


@forks
def test_what_the_theme_logs_in_a_worker_the_build_logs_in_page_order(tmp_path: Path) -> None:
    """A template that warns for each migration page, as it renders it: with workers
    rendering pages, the warnings are the same, in the same order, and the strict build
    stops on as many."""
    project = _themed_project(tmp_path, counted=False)
    _strict_logs_agree(project, tmp_path / "tmp", "rendering history/migrations/", THEMED)


@forks
def test_the_build_renders_a_page_itself_unless_the_worker_rendered_the_same_context(
    tmp_path: Path,
) -> None:
    """A hook that counts the pages built in ``config.extra`` after each one, and a theme
    that shows the count: a worker, forked before, sees another count than the build does
    when it reaches the page, so the build renders every page itself; the site is the one
    process's. Without the count, the workers' pages are taken, and the site is the same."""
    for counted in (True, False):
        root = tmp_path / str(counted)
        root.mkdir()
        project = _themed_project(root, counted=counted)
        sites, log = _one_way_and_two(project, root / "tmp")
        themed = _converted(log, THEMED)
        assert themed is not None, log
        assert (themed[0] == 0) is counted, themed
        assert sites[2] == sites[1]
        shown = (project / "site2" / "history" / "migrations").rglob("index.html")
        counts = {re.search(r"built before: (\d+)", path.read_text())[1] for path in shown}
        assert len(counts) == (60 if counted else 1)


CONTEXT_HOOK = """\
def on_page_context(context, page, config, nav):
    context["shown"] = page.file.src_uri
    return context
"""


@forks
def test_a_plugin_reading_the_pages_context_keeps_the_theme_in_one_process(
    tmp_path: Path,
) -> None:
    """A hook on ``on_page_context`` other than the known ones (search, tags, blog) may
    depend on the pages built before: the pages are converted by workers, but the build
    renders every page's template itself, and says why in its debug log."""
    project = _long(tmp_path, "")
    _with_hooks(project, CONTEXT_HOOK)
    config = _with_jobs(project, 2, "2.yml")
    code, log = _build(project, config, "site", tmp_path / "tmp")
    assert code == 0, log
    assert _converted(log) is not None, log
    assert _converted(log, THEMED) is None, log
    assert "the theme renders the pages in one process (hooks.py.on_page_context" in log


NEXT_HOOK = """\
def on_post_page(output, page, config):
    following = page.next_page
    if following is not None and following.content is not None:
        following.content += f"<p>Read after {page.title}</p>"
    return output
"""


@forks
def test_the_search_index_reads_a_page_itself_unless_the_worker_read_the_same(
    tmp_path: Path,
) -> None:
    """A hook that, after each page, adds a line to the next page's HTML: a worker, forked
    before, reads each page without it, so the build's search index reads every page itself
    and the build renders each itself; the site and its search index are the one process's."""
    project = _long(tmp_path, "")
    _with_hooks(project, NEXT_HOOK)
    sites, log = _one_way_and_two(project, tmp_path / "tmp")
    indexed = INDEXED.search(log)
    assert indexed is not None, log
    themed = _converted(log, THEMED)
    assert themed is not None, log
    assert themed[0] == int(indexed[1]) <= themed[1] - 60  # the migrations, at least
    assert sites[2] == sites[1]
    index = (project / "site2" / "search" / "search_index.json").read_text()
    assert index.count("Read after") >= 60


NO_TEMP_HOOK = """\
import tempfile


def on_pre_build(config):
    tempfile.tempdir = "/nonexistent/migdocs-test"  # where the workers' files would go
"""


@forks
def test_without_a_temporary_folder_the_build_makes_every_page_itself(tmp_path: Path) -> None:
    """The workers write what they made to a temporary folder: where none can be made, the
    build converts and renders every page in one process, says why in its debug log, and
    makes the site one process makes."""
    project = _long(tmp_path, "")
    _with_hooks(project, NO_TEMP_HOOK)
    sites, log = _one_way_and_two(project, tmp_path / "tmp")
    assert _converted(log) is None, log
    assert _converted(log, THEMED) is None, log
    assert "migdocs: converting the pages in one process ([Errno 2]" in log
    assert "migdocs: the theme renders the pages in one process ([Errno 2]" in log
    assert sites[2] == sites[1]
