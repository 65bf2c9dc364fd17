"""migdocs at a terminal: `rules CODE` rendered there and plain when piped, help for every
option, and shell completion from the installed console script."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from migdocs.cli import cli
from runner_kit import run

#: The console script pyproject.toml installs (``[project.scripts] migdocs``).
SCRIPT = Path(sys.executable).parent / "migdocs"

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def quiet_environment(**extra: str) -> dict[str, str]:
    """The environment of a person's shell, without what turns colour and layout off."""
    drop = ("NO_COLOR", "CI", "TERM", "COLUMNS", "FORCE_COLOR")
    environment = {k: v for k, v in os.environ.items() if k not in drop}
    return {**environment, "TERM": "xterm-256color", "COLUMNS": "100", **extra}


def on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the console script with a pseudo-terminal as its standard output (and input and
    error): what a person at a terminal sees, and the exit code."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its standard streams are the terminal
        os.execve(str(SCRIPT), [str(SCRIPT), *args], quiet_environment())
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode().replace("\r\n", "\n")


def piped(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run the console script with its output in a pipe."""
    return run([str(SCRIPT), *args], env=quiet_environment(**extra), timeout=60)


def test_the_console_script_is_installed() -> None:
    assert SCRIPT.is_file(), "pip install -e . makes it"


def test_rules_code_is_rendered_on_a_terminal() -> None:
    code, seen = on_a_terminal("rules", "MG403")
    assert code == 0, seen
    assert ANSI.search(seen), seen  # bold headings, code spans
    text = ANSI.sub("", seen)
    assert "MG403 replay.rollback-restores-schema (error)" in text
    assert "What it does." in text
    assert "**" not in text  # Markdown's emphasis became bold, not asterisks
    assert "`numeric(12,3)`" not in text
    assert "numeric(12,3)" in text


def test_rules_code_is_plain_markdown_when_piped() -> None:
    result = piped("rules", "mg403")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    lines = result.stdout.split("\n")
    assert lines[0] == "MG403 replay.rollback-restores-schema (error)"
    assert "**What it does.**" in result.stdout
    assert "`numeric(12,3)`" in result.stdout


def test_a_rule_that_is_not_there_is_bad_input_at_a_terminal_too() -> None:
    code, seen = on_a_terminal("rules", "MG999")
    assert code == 2
    assert "migdocs: error: there is no rule MG999" in seen
    assert "Traceback" not in seen


def commands(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    """Every command of the tree under ``command``, with how it is typed."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from commands(sub, f"{path} {name}")


ALL = list(commands(cli, "migdocs"))


def test_the_tree_has_every_command() -> None:
    names = {path for path, _ in ALL}
    assert {"migdocs build", "migdocs rules", "migdocs audit", "migdocs serve"} <= names


@pytest.mark.parametrize(("path", "command"), ALL, ids=[path for path, _ in ALL])
def test_every_option_has_help(path: str, command: click.Command) -> None:
    """Every option has help text, and every argument (click gives them none) is named in
    its command's docstring, where ``--help`` shows it."""
    assert command.help, f"{path} has no docstring"
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            assert parameter.help, f"{path} {parameter.opts[-1]} has no help"
            assert parameter.help.strip().endswith((".", ")")), (path, parameter.opts)
        elif isinstance(parameter, click.Argument):
            assert parameter.name is not None
            assert parameter.name.upper() in command.help, f"{path}: {parameter.name}"


@pytest.mark.parametrize("path", [path for path, _ in ALL])
def test_help_shows_every_option(path: str) -> None:
    result = piped(*path.split()[1:], "--help")
    assert result.returncode == 0, result.stderr
    command = dict(ALL)[path]
    for parameter in command.params:
        if isinstance(parameter, click.Option) and not parameter.hidden:
            assert parameter.opts[-1] in result.stdout, (path, parameter.opts)


def test_bash_completion_script_installs_and_completes(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    result = piped(_MIGDOCS_COMPLETE="bash_source")
    assert result.returncode == 0, result.stderr
    assert "complete -o nosort -F _migdocs_completion migdocs" in result.stdout
    # As the README says to install it: bash evaluates it, and then knows migdocs.
    path = f"{SCRIPT.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    shell = run(
        [
            bash,
            "--norc",
            "--noprofile",
            "-c",
            'eval "$(_MIGDOCS_COMPLETE=bash_source migdocs)" && complete -p migdocs',
        ],
        env=quiet_environment(PATH=path),
        timeout=60,
    )
    assert shell.returncode == 0, shell.stderr
    assert "_migdocs_completion" in shell.stdout
    # What the function asks the script for the words `migdocs bu`, and `migdocs rules --fo`.
    asked = piped(_MIGDOCS_COMPLETE="bash_complete", COMP_WORDS="migdocs bu", COMP_CWORD="1")
    assert asked.stdout.split() == ["plain,build"]
    asked = piped(
        _MIGDOCS_COMPLETE="bash_complete", COMP_WORDS="migdocs rules --format ", COMP_CWORD="3"
    )
    assert asked.stdout.split() == ["plain,text", "plain,json", "plain,markdown"]


@pytest.mark.parametrize(("shell", "line"), [("zsh", "#compdef migdocs"), ("fish", "complete")])
def test_zsh_and_fish_completion_scripts(shell: str, line: str) -> None:
    result = piped(_MIGDOCS_COMPLETE=f"{shell}_source")
    assert result.returncode == 0, result.stderr
    assert line in result.stdout
    assert "_MIGDOCS_COMPLETE" in result.stdout
