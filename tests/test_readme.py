"""The README tells the truth: its rules table and test command match the code and CI."""

from __future__ import annotations

import re
from pathlib import Path

from migdocs.checks import all_rules
from migdocs.cli import rules_table

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_rules_table_is_the_registry() -> None:
    match = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", README, re.DOTALL)
    assert match is not None
    assert match.group(1) == rules_table(list(all_rules()))


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.DOTALL)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_pre_commit_hooks_run_real_commands() -> None:
    import yaml as pyyaml

    from migdocs.cli import cli

    hooks = pyyaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {hook["id"] for hook in hooks} >= {"migdocs-check"}
    for hook in hooks:
        program, command, *_ = hook["entry"].split()
        assert program == "migdocs"
        assert command in cli.commands
        assert hook["pass_filenames"] is False
