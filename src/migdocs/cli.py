"""The `migdocs` command: subcommands, shared options, output and exit codes."""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from migdocs.errors import CatalogError, MigdocsError
from migdocs.report.escaping import inert_lines, shown
from migdocs.report.report import EXIT_CANNOT_RUN, EXIT_FINDINGS, EXIT_INTERRUPTED
from migdocs.runners import MODULES as RUNNER_KINDS

if TYPE_CHECKING:
    from migdocs.checks import Rule
    from migdocs.project import Project
    from migdocs.report import Report
    from migdocs.runs import Progress, Scratch

# Each command imports what only it needs (psycopg and the scratch server for verify and
# audit, rich for colour and progress, mkdocs for the site) when it runs: `migdocs check`
# on a small history is mostly start-up, and start-up is mostly imports.

F = TypeVar("F", bound=Callable[..., Any])


class Options:
    """What the group-level options say, shared by every command."""

    def __init__(self, catalog: str) -> None:
        self.catalog = catalog

    def project(self) -> Project:
        """Load the project of ``--catalog``."""
        from migdocs.project import Project

        return Project.load(Path(self.catalog), self.catalog)


#: The report formats (`migdocs.report.formats.FORMATS`, which a test keeps in step).
FORMAT_NAMES = ["text", "json", "junit", "sarif", "github"]


def report_options(command: F) -> F:
    """The options every reporting command shares."""
    for option in reversed(
        [
            click.option(
                "--format",
                "output_format",
                type=click.Choice(FORMAT_NAMES),
                default="text",
                show_default=True,
                help="Output format.",
            ),
            click.option(
                "--output",
                type=click.Path(dir_okay=False, writable=True),
                help="Write the report to this file instead of standard output.",
            ),
            click.option(
                "--fail-on",
                type=click.Choice(["error", "warning", "info"]),
                default="error",
                show_default=True,
                help="Exit 1 when a finding has this severity or a higher one.",
            ),
            click.option(
                "--since",
                metavar="ID",
                help="Report only on migrations after this one (a baseline for old histories).",
            ),
        ]
    ):
        command = option(command)
    return command


def _print_version(ctx: click.Context, _: click.Parameter, wanted: bool) -> None:
    """``--version``, with the version read only when asked for."""
    if not wanted or ctx.resilient_parsing:
        return
    import migdocs

    click.echo(f"migdocs, version {migdocs.__version__}")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@click.option(
    "--catalog",
    default="catalog.yaml",
    show_default=True,
    metavar="PATH",
    help="The catalog file; its folder is the project.",
)
@click.pass_context
def cli(ctx: click.Context, catalog: str) -> None:
    """Keep a PostgreSQL migration history honest: checked, replayed, audited, published."""
    ctx.obj = Options(catalog)


def emit(report: Report, output_format: str, output: str | None, fail_on: str) -> int:
    """Write the report where asked and return the exit code."""
    from migdocs.catalog.models import Severity
    from migdocs.report.formats import FORMATS, render_text

    if output_format == "text" and output is None:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        text = render_text(report, color=color)
    else:
        text = FORMATS[output_format](report)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomically(Path(output), text)
    return report.exit_code(Severity(fail_on))


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader never sees half a file.

    Only a regular file is replaced (a symlink to one is followed, and stays a link); a path
    that does not exist yet is created with the umask's mode.

    Raises:
        MigdocsError: when the path is not a regular file, is read-only, or its folder does
            not exist or cannot be written.
    """
    from migdocs.atomic import replace_file

    replace_file(path, text)


@cli.command()
@report_options
@click.pass_obj
def check(
    options: Options, output_format: str, output: str | None, fail_on: str, since: str | None
) -> int:
    """Check the catalog against the SQL files, without a database."""
    from migdocs import runs

    return emit(runs.check(options.project(), since=since), output_format, output, fail_on)


def _checked_scratch_url(ctx: click.Context, param: click.Parameter, url: str | None) -> str | None:
    """``--scratch-url`` (or ``MIGDOCS_SCRATCH_URL``) when libpq can use it as it reads; a
    message that names where it came from and at most its host otherwise."""
    from click.core import ParameterSource

    from migdocs.pg.urls import checked_url

    if url is None:
        return None
    source = "--scratch-url"
    if param.name and ctx.get_parameter_source(param.name) == ParameterSource.ENVIRONMENT:
        source = "MIGDOCS_SCRATCH_URL"
    return checked_url(url, source)


def scratch_options(command: F) -> F:
    """The options of commands that replay on a scratch server, given to the command as one
    ``scratch`` argument ([Scratch][migdocs.runs.Scratch])."""

    @functools.wraps(command)
    def with_scratch(
        *args: Any,
        scratch_url: str | None,
        scratch_superuser: bool,
        statement_timeout: str | None,
        **kwargs: Any,
    ) -> Any:
        if scratch_url is not None:
            warn_password_in_argv(
                [scratch_url], "scratch_url", "--scratch-url", "MIGDOCS_SCRATCH_URL or PGPASSFILE"
            )
        from migdocs.runs import Scratch

        scratch = Scratch(scratch_url, scratch_superuser, statement_timeout)
        return command(*args, scratch=scratch, **kwargs)

    wrapped: Any = with_scratch
    for option in reversed(
        [
            click.option(
                "--scratch-url",
                metavar="URL",
                envvar="MIGDOCS_SCRATCH_URL",
                callback=_checked_scratch_url,
                help="Replay on this server (in a throwaway database migdocs creates and "
                "drops) instead of an embedded PostgreSQL 18.",
            ),
            click.option(
                "--scratch-superuser",
                is_flag=True,
                envvar="MIGDOCS_SCRATCH_SUPERUSER",
                help="Allow a --scratch-url role that is a superuser (refused by default: "
                "replayed SQL could reach every other database on that server).",
            ),
            click.option(
                "--statement-timeout",
                metavar="DURATION",
                help="Stop a statement that runs longer than this (e.g. 60s, 500ms, 5min; "
                "default: the catalog's replay.statement_timeout, else 60s).",
            ),
        ]
    ):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[no-any-return]


def warn_password_in_argv(urls: list[str], parameter: str, option: str, instead: str) -> None:
    """Warn when a URL given on the command line holds a password: every user of the machine
    can read a process's arguments (``/proc/*/cmdline``). ``instead`` says where to give it."""
    from click.core import ParameterSource

    from migdocs.pg.urls import holds_password

    context = click.get_current_context(silent=True)
    if context is None or context.get_parameter_source(parameter) != ParameterSource.COMMANDLINE:
        return
    if any(holds_password(url) for url in urls):
        click.echo(
            f"migdocs: warning: {option} holds a password, which every user of this machine "
            f"can read in its process list; give it in {instead} instead",
            err=True,
        )


@contextlib.contextmanager
def _progress(total: int, *, enabled: bool) -> Iterator[Callable[[int, int, str], None] | None]:
    """A rich progress bar on the terminal's standard error, for long replays."""
    if not enabled or total < 2:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]replay[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        # A migration id is data: text, not markup.
        TextColumn("{task.description}", markup=False),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=total)

        def advance(done: int, total: int, migration: str) -> None:
            bar.update(task, completed=done, description=shown(migration))

        yield advance


def _progress_for(output_format: str, output: str | None) -> Progress:
    """The progress bar of a run whose report goes to ``output`` in ``output_format``."""
    enabled = _wants_progress(output_format, output)
    return lambda total: _progress(total, enabled=enabled)


def _wants_progress(output_format: str, output: str | None) -> bool:
    """A progress bar only for a person at a terminal: not in CI, not for machine formats."""
    return (
        output_format == "text"
        and sys.stderr.isatty()
        and not os.environ.get("CI")
        and not os.environ.get("NO_PROGRESS")
    )


@cli.command()
@report_options
@scratch_options
@click.pass_obj
def verify(
    options: Options,
    output_format: str,
    output: str | None,
    fail_on: str,
    since: str | None,
    scratch: Scratch,
) -> int:
    """Replay each migration, its rollback and the migration again on a scratch PostgreSQL."""
    from migdocs import runs

    report = runs.verify(
        options.project(), scratch, since=since, progress=_progress_for(output_format, output)
    )
    return emit(report, output_format, output, fail_on)


@cli.command()
@report_options
@scratch_options
@click.option(
    "--database-url",
    "database_urls",
    multiple=True,
    metavar="URL",
    help="A live database to audit, read-only (repeat for a fleet; default: MIGDOCS_DATABASE_URL).",
)
@click.option(
    "--database-urls",
    "urls_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A file of live database URLs, one per line (# comments).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Audit the database libpq's PG* environment variables name when no URL is given.",
)
@click.option(
    "--connect-timeout",
    type=click.IntRange(1, 600),
    default=10,
    show_default=True,
    help="Seconds to wait for a live database to answer.",
)
@click.pass_obj
def audit(
    options: Options,
    output_format: str,
    output: str | None,
    fail_on: str,
    since: str | None,
    scratch: Scratch,
    database_urls: tuple[str, ...],
    urls_file: str | None,
    live: bool,
    connect_timeout: int,
) -> int:
    """Check, verify and (with a database URL) compare a live database: the CI command."""
    from migdocs import runs
    from migdocs.pg.live import resolve_live_urls

    project = options.project()
    warn_password_in_argv(
        list(database_urls),
        "database_urls",
        "--database-url",
        "MIGDOCS_DATABASE_URL, a --database-urls file or PGPASSFILE",
    )
    urls = resolve_live_urls(list(database_urls), urls_file, live)
    if urls_file is not None and not _lists_a_url(Path(urls_file)):
        # A fleet file with no URL is a mistake (the wrong file, a generator that failed):
        # auditing nothing and saying "live skipped" would pass CI on no evidence.
        raise MigdocsError(f"{urls_file}: no database URL in it")
    report = runs.audit(
        project,
        scratch,
        urls,
        connect_timeout=connect_timeout,
        since=since,
        progress=_progress_for(output_format, output),
    )
    return emit(report, output_format, output, fail_on)


def _lists_a_url(path: Path) -> bool:
    """Whether a ``--database-urls`` file (already read once, so readable) has a line that
    is neither blank nor a ``#`` comment."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return any(line.strip() and not line.strip().startswith("#") for line in lines)


@cli.command()
@click.option(
    "-f", "--config-file", default="mkdocs.yml", show_default=True, help="The MkDocs config."
)
@click.option(
    "-d", "--site-dir", default=None, help="Where to write the site (default: the config's)."
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1, the previous site kept) when the report the site shows has a finding "
    "at or above --fail-on, or MkDocs warns (a broken link…); as strict: true in mkdocs.yml.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    default=None,
    help="In strict mode, the lowest severity of a finding that fails the build (default: "
    "the plugin's fail_on, else error); never: only MkDocs' warnings fail it.",
)
@click.option(
    "--audit",
    "with_audit",
    is_flag=True,
    help="Run the audit first (check + verify, and live with --database-url) and show it.",
)
@scratch_options
@click.option(
    "--database-url",
    "database_urls",
    multiple=True,
    metavar="URL",
    help="With --audit: a live database to audit, read-only (repeatable).",
)
@click.option(
    "--engine",
    type=click.Choice(["mkdocs", "zensical"]),
    default=None,
    help="Build with MkDocs, or with Zensical, Material's successor (pip install zensical); "
    "default: the plugin's engine, else mkdocs.",
)
@click.pass_obj
def build(
    options: Options,
    config_file: str,
    site_dir: str | None,
    strict: bool,
    fail_on: str | None,
    with_audit: bool,
    scratch: Scratch,
    database_urls: tuple[str, ...],
    engine: str | None,
) -> int:
    """Build the documentation site; a build that fails leaves the previous site whole.

    Exit 1 when the build is strict and the report it shows has a finding at or above
    --fail-on; exit 2 when the site cannot be built.
    """
    from migdocs.site.build import FindingsStoppedBuild, build_site

    if database_urls and not with_audit:
        raise click.UsageError("--database-url is for --audit")
    report = None
    if with_audit:
        from migdocs import runs
        from migdocs.pg.live import resolve_live_urls

        warn_password_in_argv(
            list(database_urls),
            "database_urls",
            "--database-url",
            "MIGDOCS_DATABASE_URL, a --database-urls file or PGPASSFILE",
        )
        urls = resolve_live_urls(list(database_urls), None, False)
        report = runs.audit(options.project(), scratch, urls)
    try:
        target = build_site(
            Path(config_file),
            site_dir,
            strict=strict,
            fail_on=fail_on,
            report=report,
            catalog=Path(options.catalog),
            engine=engine,
        )
    except FindingsStoppedBuild as stopped:
        click.echo(inert_lines(str(stopped).split("\n")), err=True)
        return EXIT_FINDINGS
    _say(f"built the site in {target}")
    return 0


@cli.command()
@click.option(
    "-f", "--config-file", default="mkdocs.yml", show_default=True, help="The MkDocs config."
)
@click.option(
    "-a",
    "--dev-addr",
    default="127.0.0.1:8000",
    show_default=True,
    metavar="IP:PORT",
    help="The address and port to serve on.",
)
@click.option(
    "--engine",
    type=click.Choice(["mkdocs", "zensical"]),
    default=None,
    help="Serve with MkDocs, or with Zensical (pip install zensical); default: the "
    "plugin's engine, else mkdocs.",
)
def serve(config_file: str, dev_addr: str, engine: str | None) -> int:
    """Serve the site with live reload (catalog and SQL changes rebuild it)."""
    from mkdocs.commands.serve import serve as mkdocs_serve
    from mkdocs.exceptions import MkDocsException

    if not Path(config_file).is_file():
        raise MigdocsError(f"{config_file}: no MkDocs config (see `migdocs init`)")
    if engine != "mkdocs":
        from migdocs.site.build import serve_with_engine

        if serve_with_engine(Path(config_file), dev_addr, engine):
            return 0
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    click.echo(f"serving on http://{dev_addr}/ (Ctrl-C stops)", err=True)
    try:
        mkdocs_serve(config_file=config_file, dev_addr=dev_addr, livereload=True)
    except MkDocsException as error:
        raise MigdocsError(f"{config_file}: {error}") from None
    return 0


@cli.command()
@click.option(
    "--from-markdown",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="A hand-written history document to take purposes, changes, dates and rollback "
    "texts from.",
)
@click.option("--force", is_flag=True, help="Replace an existing catalog.")
@click.option(
    "--runner",
    "runner_kind",
    type=click.Choice(list(RUNNER_KINDS)),
    metavar="KIND",
    help=f"Adopt the history of this runner ({', '.join(RUNNER_KINDS)}).",
)
@click.option(
    "--migrations-dir",
    type=click.Path(file_okay=False),
    metavar="PATH",
    help="Adopt the history in this folder (with --runner: exactly that runner's reading).",
)
@click.option(
    "--update",
    is_flag=True,
    help="Add entries for the migration files the catalog lacks, changing nothing else.",
)
@click.pass_obj
def init(
    options: Options,
    from_markdown: str | None,
    force: bool,
    runner_kind: str | None,
    migrations_dir: str | None,
    update: bool,
) -> int:
    """Write a catalog for an existing history: found by walking the repository, read as
    its runner reads it (dbmate, golang-migrate, Flyway, Prisma…), with a history document's
    texts."""
    from migdocs import discovery
    from migdocs import update as updating
    from migdocs.history import read_history
    from migdocs.init import adopt, site_files

    path = Path(options.catalog)
    root = path.parent if str(path.parent) else Path(".")
    history = read_history(Path(from_markdown)) if from_markdown else None
    if update:
        if force or runner_kind or migrations_dir:
            raise click.UsageError("--update keeps the catalog's runner and folder; give it alone")
        if not path.exists():
            raise MigdocsError(f"{path}: no catalog to update; write one with `migdocs init`")
        updated = updating.update(path, options.catalog, history)
        if not updated.added:
            _say(f"{path}: every migration file has an entry; nothing to add")
            return 0
        write_atomically(path, updated.text)
        count = len(updated.added)
        _say(
            f"added {count} {'entry' if count == 1 else 'entries'} to {path}:",
            *(f"  {i}" for i in updated.added),
        )
        click.echo("next: `migdocs check`, then replace each TODO (MG604 lists them)")
        return 0
    if path.exists() and not force:
        raise MigdocsError(f"{path}: a catalog is already there; use --force to replace it")
    choice = discovery.choose(
        root, runner_kind, Path(migrations_dir) if migrations_dir is not None else None
    )
    text = adopt(root, choice, history)
    write_atomically(path, text)
    for note in choice.notes:
        _say(f"note: {note}")
    where = discovery.shown(choice.folder.resolve(), root.resolve())
    _say(f"wrote {path}: the {choice.runner.kind} history in {where}")
    for name, content in site_files(root, text).items():
        target = root / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, content)
            _say(f"wrote {target}")
    click.echo("next: `migdocs check`, then replace each TODO (MG604 lists them)")
    return 0


@cli.command()
@report_options
@click.option("--checklist", is_flag=True, help="Print a Markdown checklist of what is due.")
@click.option("--mark", is_flag=True, help="Stamp the entries IDS as reviewed today.")
@click.option("--all", "mark_all", is_flag=True, help="Stamp every entry as reviewed today.")
@click.option("--by", metavar="NAME", help="Who reviewed (required with --mark or --all).")
@click.option(
    "--allow-todo",
    is_flag=True,
    help="Stamp entries even when a text is still a placeholder (MG604).",
)
@click.argument("ids", nargs=-1, metavar="[IDS]...")
@click.pass_obj
def review(
    options: Options,
    output_format: str,
    output: str | None,
    fail_on: str,
    since: str | None,
    checklist: bool,
    mark: bool,
    mark_all: bool,
    by: str | None,
    allow_todo: bool,
    ids: tuple[str, ...],
) -> int:
    """The quarterly review: what is due, a checklist, and stamping entries reviewed.

    \b
    migdocs review                         what is due (MG601-MG604)
    migdocs review --checklist             a Markdown checklist for the meeting
    migdocs review --mark ID... --by NAME  stamp entries reviewed today
    migdocs review --all --by NAME         stamp every entry

    IDS are the catalog ids of the entries to stamp (with --mark). An entry whose title,
    purpose or rollback text is still a placeholder (MG604) is not stamped (exit 2, nothing
    written) unless --allow-todo is given.
    """
    from migdocs import review as reviewing

    project = options.project()
    if mark or mark_all:
        if not by or not by.strip():
            raise click.UsageError("--by NAME is required to stamp entries")
        if mark and not ids:
            raise click.UsageError("--mark needs the ids of the entries to stamp")
        if mark_all and ids:
            raise click.UsageError("give either --all or ids, not both")
        for stamp, todo in reviewing.mark(project, list(ids), by.strip(), allow_todo=allow_todo):
            note = f" (with {todo} placeholder{'s' if todo > 1 else ''})" if todo else ""
            _say(f"stamped {stamp.migration}: reviewed {stamp.date} by {stamp.by}{note}")
        return 0
    if allow_todo:
        raise click.UsageError("--allow-todo is for --mark or --all")
    if ids:
        raise click.UsageError("ids are for --mark")
    report = reviewing.report(project, since)
    if checklist:
        text = reviewing.checklist(project, report.findings)
        if output is None:
            _say(*text.rstrip("\n").split("\n"))
        else:
            write_atomically(Path(output), text)
        return 0
    return emit(report, output_format, output, fail_on)


@cli.command()
@click.argument("code", required=False)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text: one line per rule, or a rule's documentation (rendered on a terminal, "
    "Markdown when piped); json: code, name, severity, summary and phase; markdown: a table.",
)
def rules(code: str | None, output_format: str) -> int:
    """List every rule; with CODE (such as MG403), show that rule's documentation."""
    from migdocs.checks import all_rules

    selected = [rule for rule in all_rules() if code is None or rule.code == code.upper()]
    if code is not None and not selected:
        raise MigdocsError(f"there is no rule {code} (see `migdocs rules`)")
    if output_format == "markdown":
        click.echo(rules_table(selected), nl=False)
        return 0
    if output_format == "json":
        data = [
            {
                "code": rule.code,
                "name": rule.name,
                "severity": rule.severity.value,
                "summary": rule.summary,
                "phase": rule.phase,
            }
            for rule in selected
        ]
        click.echo(json.dumps(data, indent=2))
        return 0
    if code is not None:
        rule = selected[0]
        title = f"{rule.code} {rule.name} ({rule.severity.value})"
        if sys.stdout.isatty():
            from rich.console import Console
            from rich.markdown import Markdown

            page = f"# {title}\n\n{rule.summary}\n\n{rule.docs().markdown()}"
            Console(highlight=False).print(Markdown(page))
            return 0
        click.echo(f"{title}\n{rule.summary}\n")
        click.echo(rule.docs().markdown())
        return 0
    for rule in selected:
        click.echo(f"{rule.code}  {rule.severity.value:<7}  {rule.name:<38}  {rule.summary}")
    return 0


def rules_table(selected: list[type[Rule]]) -> str:
    """The rules as a Markdown table (the README's and the site's)."""
    lines = ["| code | name | default | meaning |", "|---|---|---|---|"]
    for rule in selected:
        summary = rule.summary.replace("|", "\\|")
        lines.append(f"| {rule.code} | `{rule.name}` | {rule.severity.value} | {summary} |")
    return "\n".join(lines) + "\n"


@cli.command()
def schema() -> int:
    """Print the catalog's JSON Schema (for editors)."""
    from migdocs.catalog.models import json_schema

    click.echo(json.dumps(json_schema(), indent=2))
    return 0


def _say(*lines: str) -> None:
    """Print lines that quote values from outside (ids, names, paths): each printable (a
    newline in a value shows as ``\\n``), and none a command to the CI runner reading it."""
    from migdocs.report.escaping import inert_lines

    click.echo(inert_lines(lines))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _error(lines: list[str], *, kind: str = "error") -> None:
    """Print ``migdocs: error: …`` on standard error, each of ``lines`` on a line of its own.
    A message quotes file names, SQL and catalog text: control characters (a newline in a
    file name too) show as escapes, and no line is a GitHub workflow command (the runner
    reads a job's standard error for them as well)."""
    click.echo(f"migdocs: {kind}: {inert_lines(lines)}", err=True)


def main(args: list[str] | None = None) -> int:
    """Run migdocs; returns 0 (clean), 1 (findings), 2 (cannot run) or 130 (interrupted)."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    # A run builds hundreds of thousands of small acyclic objects (YAML nodes, parse trees);
    # the cyclic collector would walk them again and again for nothing: more than half the
    # time of `check` on 10,000 migrations. A command is short-lived, so it runs without it.
    gc.disable()
    try:
        result = cli.main(args=args, prog_name="migdocs", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        hint = exc.ctx.get_usage().split("\n") if exc.ctx is not None else []
        _error([*exc.format_message().split("\n"), *hint])
        return EXIT_CANNOT_RUN
    except click.ClickException as exc:
        _error(exc.format_message().split("\n"))
        return EXIT_CANNOT_RUN
    except (KeyboardInterrupt, click.Abort):
        click.echo("migdocs: interrupted", err=True)
        return EXIT_INTERRUPTED
    except MigdocsError as exc:
        # A catalog's problems are one line each, whatever their file name holds; other
        # messages are written with their own line breaks.
        _error(exc.problems if isinstance(exc, CatalogError) else str(exc).split("\n"))
        return EXIT_CANNOT_RUN
    except Exception as exc:  # a bug: say so briefly, keep the traceback for those who ask
        if os.environ.get("MIGDOCS_DEBUG"):
            raise
        _error(
            [
                f"{type(exc).__name__}: {exc} "
                "(set MIGDOCS_DEBUG=1 for the traceback, and please report it)"
            ],
            kind="internal error",
        )
        return EXIT_CANNOT_RUN
    finally:
        gc.enable()
        signal.signal(signal.SIGTERM, previous)
    return result if isinstance(result, int) else 0
