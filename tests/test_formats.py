"""Report formats: JUnit, SARIF 2.1.0 and GitHub workflow commands, on a report with static,
replay and live findings."""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from migdocs.catalog.models import Severity
from migdocs.checks import all_rules
from migdocs.report import Report
from migdocs.report.finding import Finding
from migdocs.report.formats import FORMATS, render_text

DATABASE = "postgresql://auditor@db.example:5432/app"

#: The SARIF 2.1.0 JSON schema (rtm.5, the one SchemaStore serves), as the npm package
#: @microsoft/jest-sarif 1.0.0-beta.0 (MIT) ships it in lib/schemas/.
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0-rtm.5.json"
SARIF_SCHEMA_SHA256 = "2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8"


def report() -> Report:
    return Report(
        catalog="catalog.yaml",
        migrations=["2025-01-01_users", "2025-01-02_index"],
        findings=[
            Finding(
                "MG205",
                Severity.INFO,
                "creates index without CONCURRENTLY",
                "2025-01-01_users",
                "migrations/2025-01-01_users.sql",
                3,
                1,
            ),
            Finding(
                "MG403",
                Severity.ERROR,
                "after the rollback, index public.i: still present",
                "2025-01-02_index",
                "migrations/rollbacks/2025-01-02_rollback_index.sql",
            ),
            Finding(
                "MG501",
                Severity.ERROR,
                "index public.i is missing",
                "2025-01-02_index",
                database=DATABASE,
            ),
            Finding(
                "MG502",
                Severity.WARNING,
                "table public.t, 100% made by hand:\nyes",
                None,
                database=DATABASE,
            ),
            Finding(
                "MG101",
                Severity.ERROR,
                "migration file is not in the catalog",
                None,
                "migrations/2025-01-03_x,y.sql",
            ),
            Finding(
                "MG200",
                Severity.ERROR,
                'syntax error at or near "TABEL"',
                "2025-01-01_users",
                "migrations/2025-01-01 users & more.sql",
                7,
                12,
            ),
        ],
        replay=[],
        replay_status="failed",
        live=[{"database": DATABASE, "server": "PostgreSQL 15.19", "migrations": []}],
        live_status="failed",
        entry_lines={"2025-01-01_users": 5, "2025-01-02_index": 19},
    )


#: The content model of the JUnit XML that CI systems read (Jenkins xunit-plugin's
#: junit-10.xsd, which GitLab's and GitHub's JUnit reporters follow): element → (required
#: attributes, allowed attributes, allowed children).
JUNIT_MODEL: dict[str, tuple[set[str], set[str], set[str]]] = {
    "testsuites": (
        set(),
        {"name", "time", "tests", "failures", "errors", "disabled"},
        {"testsuite"},
    ),
    "testsuite": (
        {"name", "tests"},
        {
            "name", "tests", "failures", "errors", "skipped", "disabled", "time",
            "timestamp", "hostname", "id", "package", "file", "log", "url", "version",
        },
        {"properties", "testcase", "system-out", "system-err"},
    ),
    "testcase": (
        {"name"},
        {"name", "classname", "assertions", "time", "status"},
        {"skipped", "error", "failure", "system-out", "system-err"},
    ),
    "failure": (set(), {"message", "type"}, set()),
    "system-out": (set(), set(), set()),
}  # fmt: skip


def assert_junit_shape(element: ET.Element) -> None:
    required, allowed, children = JUNIT_MODEL[element.tag]
    assert required <= set(element.attrib), (element.tag, element.attrib)
    assert set(element.attrib) <= allowed, (element.tag, element.attrib)
    for child in element:
        assert child.tag in children, (element.tag, child.tag)
        assert_junit_shape(child)
    for count in ("tests", "failures", "errors"):
        if count in element.attrib:
            assert int(element.attrib[count]) >= 0


def test_junit() -> None:
    root = ET.fromstring(FORMATS["junit"](report()))
    assert root.tag == "testsuites"
    assert_junit_shape(root)
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(sum(c.find("failure") is not None for c in cases))
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {
        "2025-01-01_users",
        "2025-01-02_index",
        "(project)",
        f"live {DATABASE}",
    }
    index = suites["2025-01-02_index"]
    cases = {case.get("name"): case for case in index.iter("testcase")}
    assert {"catalog and files", "sql", "rollback", "replay", "live", "review"} <= set(cases)
    assert cases["replay"].find("failure") is not None
    assert cases["live"].find("failure") is not None
    assert cases["sql"].find("failure") is None
    assert index.get("failures") == "2"
    # A failure carries each finding's file:line and message.
    replay_failure = cases["replay"].find("failure")
    assert replay_failure is not None
    assert replay_failure.get("type") == "error"
    assert "MG403" in (replay_failure.get("message") or "")
    assert (
        "migrations/rollbacks/2025-01-02_rollback_index.sql: error MG403 "
        "after the rollback, index public.i: still present"
    ) in (replay_failure.text or "")
    users_sql = {case.get("name"): case for case in suites["2025-01-01_users"].iter("testcase")}
    failure = users_sql["sql"].find("failure")
    assert failure is not None
    assert "migrations/2025-01-01 users & more.sql:7:12: error MG200" in (failure.text or "")
    # An info is output, not a failure.
    users = {case.get("name"): case for case in suites["2025-01-01_users"].iter("testcase")}
    assert "MG205" in (users["sql"].findtext("system-out") or "")
    assert "MG205" not in (users["sql"].findtext("failure") or "")
    # The live database has its own suite for the findings of no migration.
    live = {case.get("name"): case for case in suites[f"live {DATABASE}"].iter("testcase")}
    assert "MG502" in (live["live"].findtext("failure") or "")
    assert root.get("failures") == str(sum(int(s.get("failures") or 0) for s in suites.values()))


def test_junit_has_a_suite_for_a_clean_live_database() -> None:
    clean = "postgresql://auditor@db2.example:5432/app"
    done = Report(
        catalog="catalog.yaml",
        migrations=["2025-01-01_users", "2025-01-01_users"],  # an id twice (MG109)
        replay=[],
        replay_status="passed",
        live=[{"database": clean, "server": "PostgreSQL 15.19", "migrations": []}],
        live_status="passed",
    )
    root = ET.fromstring(FORMATS["junit"](done))
    assert_junit_shape(root)
    names = [suite.get("name") for suite in root.iter("testsuite")]
    assert names == ["2025-01-01_users", f"live {clean}"]
    [live] = [suite for suite in root.iter("testsuite") if suite.get("name") == f"live {clean}"]
    assert [case.get("name") for case in live.iter("testcase")] == ["live"]
    assert live.get("tests") == "1"
    assert live.get("failures") == "0"
    assert root.get("failures") == "0"


def test_sarif_is_valid_against_the_sarif_2_1_0_schema() -> None:
    assert hashlib.sha256(SARIF_SCHEMA.read_bytes()).hexdigest() == SARIF_SCHEMA_SHA256
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    log = json.loads(FORMATS["sarif"](report()))
    assert [error.message for error in validator.iter_errors(log)] == []
    # The schema does catch a broken log.
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert not validator.is_valid(log)
    clean = json.loads(FORMATS["sarif"](Report(catalog="catalog.yaml")))
    assert validator.is_valid(clean)
    assert clean["runs"][0]["results"] == []


def test_sarif() -> None:
    log = json.loads(FORMATS["sarif"](report()))
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "migdocs"
    assert [rule["id"] for rule in driver["rules"]] == [rule.code for rule in all_rules()]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert "## " not in rule["fullDescription"]["text"]
        assert rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    results = run["results"]
    assert [r["level"] for r in results] == ["note", "error", "error", "warning", "error", "error"]
    first = results[0]
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "migrations/2025-01-01_users.sql"},
        "region": {"startLine": 3, "startColumn": 1},
    }
    assert driver["rules"][first["ruleIndex"]]["id"] == "MG205"
    # GitHub refuses a log with one result located only logically (codeql-action#1738): a
    # live finding points at its migration's catalog entry, a finding of no migration at
    # the catalog.
    for result in results:
        [location] = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"]
    live = results[2]
    assert {"name": DATABASE, "kind": "resource"} in live["locations"][0]["logicalLocations"]
    assert live["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "catalog.yaml"},
        "region": {"startLine": 19},
    }
    stray = results[3]
    assert stray["ruleId"] == "MG502"
    assert stray["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "catalog.yaml"}
    }
    assert {"name": DATABASE, "kind": "resource"} in stray["locations"][0]["logicalLocations"]
    # A relative URI reference: percent-encoded where a path has spaces or '&'.
    parse_error = results[5]["locations"][0]["physicalLocation"]
    assert parse_error == {
        "artifactLocation": {"uri": "migrations/2025-01-01%20users%20%26%20more.sql"},
        "region": {"startLine": 7, "startColumn": 12},
    }
    for rule in driver["rules"]:
        assert rule["help"]["markdown"].startswith("**What it does.**")
        assert rule["name"]
        assert rule["fullDescription"]["text"]


def test_github_escapes_data_and_properties() -> None:
    lines = FORMATS["github"](report()).splitlines()
    assert lines[0] == (
        "::notice file=migrations/2025-01-01_users.sql,line=3,col=1,"
        "title=MG205 2025-01-01_users::creates index without CONCURRENTLY"
    )
    # Every annotation names a file: a live finding its catalog entry, the others the catalog.
    assert all(line.split(" ", 1)[1].startswith("file=") for line in lines[:-1])
    missing = next(line for line in lines if "MG501" in line)
    assert missing.startswith("::error file=catalog.yaml,line=19,title=MG501 2025-01-02_index::")
    stray = next(line for line in lines if "MG502" in line)
    assert stray.startswith("::warning file=catalog.yaml,title=MG502::")
    assert "100%25 made by hand%3A" not in stray  # ':' is escaped in properties only
    assert stray.endswith(f"[{DATABASE}] table public.t, 100%25 made by hand:%0Ayes")
    unlisted = next(line for line in lines if "MG101" in line)
    assert "file=migrations/2025-01-03_x%2Cy.sql" in unlisted
    parse_error = next(line for line in lines if "MG200" in line)
    assert parse_error == (
        "::error file=migrations/2025-01-01 users & more.sql,line=7,col=12,"
        'title=MG200 2025-01-01_users::syntax error at or near "TABEL"'
    )
    assert lines[-1] == "migdocs: 2 migrations, 4 errors, 1 warning, 1 info"


def test_github_summary_counts_in_words() -> None:
    def summary(*severities: Severity) -> str:
        findings = [Finding("MG403", severity, "x") for severity in severities]
        return FORMATS["github"](Report(catalog="catalog.yaml", findings=findings)).splitlines()[-1]

    assert summary(Severity.ERROR, Severity.WARNING, Severity.INFO) == (
        "migdocs: 0 migrations, 1 error, 1 warning, 1 info"
    )
    assert summary(Severity.ERROR, Severity.ERROR, Severity.WARNING, Severity.WARNING) == (
        "migdocs: 0 migrations, 2 errors, 2 warnings, 0 info"
    )


def test_sarif_uri_of_an_absolute_path_is_a_file_uri() -> None:
    findings = [Finding("MG101", Severity.ERROR, "x", None, "/srv/app/migrations/a b.sql")]
    log = json.loads(FORMATS["sarif"](Report(catalog="/srv/app/catalog.yaml", findings=findings)))
    [result] = log["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///srv/app/migrations/a%20b.sql"
    }


def test_github_escaping_table() -> None:
    finding = Finding(
        "MG403",
        Severity.ERROR,
        "50% done\r\nsecond: line, with comma",
        "m:1,2",
        "migrations/a:b,c%.sql",
        3,
    )
    [line, _] = FORMATS["github"](
        Report(catalog="catalog.yaml", findings=[finding], migrations=["m:1,2"])
    ).splitlines()
    assert line == (
        "::error file=migrations/a%3Ab%2Cc%25.sql,line=3,title=MG403 m%3A1%2C2"
        "::50%25 done%0D%0Asecond: line, with comma"
    )


# -- text ------------------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def text_report() -> Report:
    findings = [
        *report().findings,
        # what rich would read as markup, emoji codes or control characters
        Finding("MG201", Severity.ERROR, "declares [bold]x[/bold] :smile:", "2025-01-01_users",
                "catalog.yaml", 100),
        Finding("MG604", Severity.WARNING, "tab\there, bell\x07 and\rcarriage", "[odd] id"),
    ]  # fmt: skip
    return Report(
        catalog="catalog.yaml",
        migrations=["2025-01-01_users", "2025-01-02_index", "[odd] id", "2025-01-01_users"],
        findings=findings,
        notes=["live: skipped (no --database-url)"],
    )


TEXT = """\
2025-01-01_users
  migrations/2025-01-01_users.sql:3:1: info MG205 creates index without CONCURRENTLY
  migrations/2025-01-01 users & more.sql:7:12: error MG200 syntax error at or near "TABEL"
  catalog.yaml:100: error MG201 declares [bold]x[/bold] :smile:

2025-01-02_index
  migrations/rollbacks/2025-01-02_rollback_index.sql: error MG403 after the rollback, index public.i: still present
  error MG501 postgresql://auditor@db.example:5432/app index public.i is missing

[odd] id
  warning MG604 tab     here, bell\\x07 and\\rcarriage

(project)
  warning MG502 postgresql://auditor@db.example:5432/app table public.t, 100% made by hand:\\nyes
  migrations/2025-01-03_x,y.sql: error MG101 migration file is not in the catalog

note: live: skipped (no --database-url)
4 migrations: 5 errors, 2 warnings, 1 info
"""  # noqa: E501


def test_text_groups_findings_by_migration_in_catalog_order() -> None:
    # Text is as written: `[bold]` and `:smile:` are not markup, `:100:` is no emoji (rich
    # made it 💯), tabs are expanded and control characters (newlines in a value included)
    # shown as their escapes, so that a value can neither start a line nor rewrite one.
    # A migration listed twice (MG109) shows once; findings of no migration come last.
    assert render_text(text_report()) == TEXT


def test_colour_is_the_plain_text_with_styles() -> None:
    plain = render_text(text_report())
    coloured = render_text(text_report(), color=True)
    assert ANSI.search(coloured)
    assert "\x1b[1mMG201\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == plain


def test_text_of_a_clean_report() -> None:
    clean = Report(catalog="catalog.yaml", migrations=["a", "b"])
    assert render_text(clean) == "✓ 2 migrations: no findings\n"


def test_text_of_a_replay_that_proved_nothing_has_no_tick() -> None:
    # Only when the rules that would say why are turned off: then no finding, but no ✓.
    unproved = Report(catalog="catalog.yaml", migrations=["a"], replay=[], replay_status="failed")
    assert render_text(unproved) == "1 migrations: no findings · replay failed · live skipped\n"
    proved = Report(catalog="catalog.yaml", migrations=["a"], replay=[], replay_status="passed")
    assert render_text(proved) == "✓ 1 migrations: no findings · replay passed · live skipped\n"
