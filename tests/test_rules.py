"""Every rule against its data-driven cases in tests/rules/MGnnn.yml (sqlfluff's std_rule_cases)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from migdocs.checks import all_rules, run_static, settle
from migdocs.project import Project

RULES_DIR = Path(__file__).parent / "rules"
HEADER = "version: 1\nproject: {name: Cases}\n"


def _cases() -> list[Any]:
    params = []
    for path in sorted(RULES_DIR.glob("MG*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            # a case that shows a known bug says so: `xfail: "bug: …"` (strict, so a fix shows)
            marks = (
                [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
            )
            params.append(
                pytest.param(data["rule"], case, id=f"{data['rule']}-{case['name']}", marks=marks)
            )
    return params


def build_project(root: Path, case: dict[str, Any]) -> Project:
    """Write a case's catalog and files under ``root`` and load it."""
    catalog = case.get("catalog", "")
    if "version:" not in catalog:
        catalog = HEADER + (f"migrations:\n{catalog}" if catalog.strip() else "migrations: []\n")
    (root / "catalog.yaml").write_text(catalog, encoding="utf-8")
    (root / "migrations" / "rollbacks").mkdir(parents=True, exist_ok=True)
    for name, content in (case.get("files") or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):  # `!!binary`: files that are not UTF-8
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return Project.load(root / "catalog.yaml", "catalog.yaml")


@pytest.mark.parametrize(("code", "case"), _cases())
def test_rule_case(
    code: str, case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGDOCS_TODAY", case.get("today", "2025-10-01"))
    project = build_project(tmp_path, case)
    _, raw = run_static(project)
    found = [f for f in settle(project, raw) if f.code == code]
    if case["expect"] == "pass":
        assert found == [], [f.message for f in found]
        return
    assert found, f"{code} did not fire"
    expectations = case.get("findings") or []
    assert len(found) >= len(expectations), [f.message for f in found]
    for expected, finding in zip(expectations, found, strict=False):
        for key in ("file", "line", "column", "migration", "severity"):
            if key in expected:
                actual = getattr(finding, key)
                actual = actual.value if key == "severity" else actual
                assert actual == expected[key], (key, finding)
        if "message" in expected:
            assert expected["message"] in finding.message, finding.message
    if "count" in case:
        assert len(found) == case["count"], [f.message for f in found]


def test_every_rule_has_cases_that_pass_and_fail() -> None:
    covered: dict[str, set[str]] = {}
    for path in RULES_DIR.glob("MG*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        covered[data["rule"]] = {case["expect"] for case in data["cases"]}
    for rule in all_rules():
        if rule.phase == "static":
            assert covered.get(rule.code) == {"pass", "fail"}, rule.code


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_rule_is_documented(rule: Any) -> None:
    docs = rule.docs()
    assert rule.name.count(".") == 1
    assert rule.summary
    assert all([docs.what, docs.why, docs.example, docs.fix])
