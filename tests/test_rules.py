"""Every rule against its data-driven cases in tests/rules/MGnnn.yml (sqlfluff's std_rule_cases).

A case is a project and what the rule finds in it. Its keys:

- ``name``, ``expect`` (``pass`` or ``fail``), and for a failing case ``count`` and
  ``findings`` (each with any of ``file``, ``line``, ``column``, ``migration``,
  ``severity``, and ``message``, a part of the message);
- the project: ``catalog`` (its text; without ``version:``, the list of migrations) and
  ``files``; or ``migrations``, the short form of ``runner_kit.make_project`` (name, up,
  down, creates, drops), with the catalog's ``settings``;
- ``phase``: ``static`` (the default) runs the checks; ``replay`` replays the project on
  the embedded server, as ``verify`` does; ``live`` also deploys the first ``deployed``
  migrations (default: all) to a new database of that server, runs the case's
  ``database`` SQL there, and audits it, as ``audit`` does;
- ``today``; ``xfail: "bug: …"`` for a case that shows a known bug (strict, so a fix shows).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from migdocs import runs
from migdocs.checks import all_rules
from runner_kit import make_project

if TYPE_CHECKING:
    from migdocs.pg import ScratchServer
    from migdocs.project import Project
    from migdocs.report.finding import Finding

RULES_DIR = Path(__file__).parent / "rules"
HEADER = "version: 1\nproject: {name: Cases}\n"
PHASES = ("static", "replay", "live")


def _cases() -> list[Any]:
    params = []
    for path in sorted(RULES_DIR.glob("MG*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            marks = (
                [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
            )
            params.append(
                pytest.param(data["rule"], case, id=f"{data['rule']}-{case['name']}", marks=marks)
            )
    return params


def build_project(root: Path, case: dict[str, Any]) -> Project:
    """Write a case's project under ``root`` and load it."""
    if "migrations" in case:
        return make_project(
            root,
            case["migrations"],
            files=case.get("files"),
            display="catalog.yaml",
            **case.get("settings", {}),
        )
    catalog = case.get("catalog", "")
    if "version:" not in catalog:
        catalog = HEADER + (f"migrations:\n{catalog}" if catalog.strip() else "migrations: []\n")
    return make_project(root, catalog=catalog, files=case.get("files"), display="catalog.yaml")


def found(project: Project, case: dict[str, Any], server: ScratchServer | None) -> list[Finding]:
    """What the run of the case's phase reports: ``check``; ``verify`` replaying on
    ``server``; or ``audit`` of a database of ``server`` made as the case says."""
    if server is None:
        return runs.check(project).findings
    scratch = runs.Scratch(url=server.url("postgres"), superuser=True)
    if case.get("phase") == "replay":
        return runs.verify(project, scratch).findings
    url = server.create_database()
    try:
        with server.connect(url) as conn:
            for entry in project.entries[: case.get("deployed")]:
                script = project.forward(entry)
                assert script is not None, entry.id
                for statement in script.statements:
                    conn.execute(script.statement_text(statement).encode())
            if case.get("database"):
                conn.execute(case["database"].encode())
        return runs.audit(project, scratch, [url]).findings
    finally:
        server.drop_database(url)


@pytest.mark.parametrize(("code", "case"), _cases())
def test_rule_case(
    code: str,
    case: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    phase = case.get("phase", "static")
    assert phase in PHASES, phase
    monkeypatch.setenv("MIGDOCS_TODAY", case.get("today", "2025-10-01"))
    project = build_project(tmp_path, case)
    # The server starts only for a case that needs it.
    server = None if phase == "static" else request.getfixturevalue("embedded_server")
    found_here = [f for f in found(project, case, server) if f.code == code]
    if case["expect"] == "pass":
        assert found_here == [], [f.message for f in found_here]
        return
    assert found_here, f"{code} did not fire"
    expectations = case.get("findings") or []
    assert len(found_here) >= len(expectations), [f.message for f in found_here]
    for expected, finding in zip(expectations, found_here, strict=False):
        for key in ("file", "line", "column", "migration", "severity"):
            if key in expected:
                actual = getattr(finding, key)
                actual = actual.value if key == "severity" else actual
                assert actual == expected[key], (key, finding)
        if "message" in expected:
            assert expected["message"] in finding.message, finding.message
    if "count" in case:
        assert len(found_here) == case["count"], [f.message for f in found_here]


def test_every_rule_has_cases_that_pass_and_fail() -> None:
    covered: dict[str, set[str]] = {}
    for path in RULES_DIR.glob("MG*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        covered[data["rule"]] = {case["expect"] for case in data["cases"]}
        phases = {case.get("phase", "static") for case in data["cases"]}
        rule = next(rule for rule in all_rules() if rule.code == data["rule"])
        # A replay rule proved by checks alone, or a live rule without a database, proves
        # nothing of it.
        assert phases == {rule.phase}, (path.name, phases)
    for rule in all_rules():
        assert covered.get(rule.code) == {"pass", "fail"}, rule.code


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_rule_is_documented(rule: Any) -> None:
    docs = rule.docs()
    assert rule.name.count(".") == 1
    assert rule.summary
    assert all([docs.what, docs.why, docs.example, docs.fix])
