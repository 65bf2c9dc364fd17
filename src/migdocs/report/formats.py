"""Output formats of a report: one small function per format."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import migdocs
from migdocs.report.escaping import inert_json, inert_xml, printable, shown
from migdocs.report.finding import Finding
from migdocs.report.report import Report

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}

#: One line of text output: pieces of text, each with the rich style it has in colour.
Line = list[tuple[str, str]]


def text_lines(report: Report) -> list[Line]:
    """The text report: findings grouped by migration, each ``file:line: severity CODE
    message``, then notes and a summary.

    Every value from the catalog, a file name, SQL or a database is
    [printable][migdocs.report.escaping.printable] and no line is a GitHub workflow command.
    """
    lines: list[Line] = []
    for migration, findings in report.by_migration():
        lines.append([(shown(migration or "(project)"), "bold")])
        for finding in findings:
            line: Line = [("  ", "")]
            if finding.location:
                line.append((f"{shown(finding.location)}: ", ""))
            line += [(finding.severity.value, _STYLE[finding.severity.value]), (" ", "")]
            line += [(finding.code, "bold"), (" ", "")]
            if finding.database:
                line += [(shown(finding.database), "dim"), (" ", "")]
            line.append((shown(finding.message), ""))
            lines.append(line)
        lines.append([])
    lines.extend([(f"note: {shown(note)}", "dim")] for note in report.notes)
    checked = f"{len(report.migrations)} migrations"
    extra = ""
    if report.replay is not None:
        extra = f" · replay {report.replay_status} · live {report.live_status}"
    if report.findings:
        lines.append([(f"{checked}:", "bold"), (f" {_counted(report)}{extra}", "")])
    elif report.replay is not None and report.replay_status == "failed":
        # Only when the rules that say why are turned off: no finding, but nothing proved.
        lines.append([(f"{checked}:", "bold"), (f" no findings{extra}", "")])
    else:
        lines.append([("✓", "bold green"), (f" {checked}: no findings{extra}", "")])
    return [_inert(line) for line in lines]


def _inert(line: Line) -> Line:
    """``line`` with a backslash before a leading ``::`` (blanks before it included, as
    GitHub's runner trims them), so that it is no workflow command."""
    if not "".join(piece for piece, _ in line).lstrip().startswith("::"):
        return line
    for index, (piece, style) in enumerate(line):
        if piece.strip():
            blanks = len(piece) - len(piece.lstrip())
            marked = piece[:blanks] + "\\" + piece[blanks:]
            return [*line[:index], (marked, style), *line[index + 1 :]]
    return line


def _counted(report: Report) -> str:
    """``1 error, 2 warnings, 0 info``."""
    counts = report.counts()
    return ", ".join(
        f"{count} {key if count == 1 or key == 'info' else key + 's'}"
        for key, count in counts.items()
    )


def render_text(report: Report, *, color: bool = False, width: int = 100) -> str:
    """The text report, plain or with colours for a terminal (lines are never wrapped)."""
    lines = text_lines(report)
    if not color:
        return "".join("".join(text for text, _ in line).expandtabs(8) + "\n" for line in lines)
    import io

    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=True, width=width, highlight=False, soft_wrap=True
    )
    for line in lines:
        console.print(Text.assemble(*line))
    return buffer.getvalue()


def render_json(report: Report) -> str:
    """The JSON report of DESIGN.md."""
    return inert_json(json.dumps(report.to_json(), indent=2, ensure_ascii=False)) + "\n"


#: The check family of each code's hundred: a JUnit test case per family.
FAMILIES = {
    "1": "catalog and files",
    "2": "sql",
    "3": "rollback",
    "4": "replay",
    "5": "live",
    "6": "review",
}


def _family(code: str) -> str:
    return FAMILIES.get(code[2:3], "other")


def render_junit(report: Report) -> str:
    """JUnit XML: a test suite per migration (and per live database), a test case per check
    family; errors and warnings are failures, infos are printed output."""
    import xml.etree.ElementTree as ET

    suites = ET.Element("testsuites", name="migdocs")
    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        group = finding.migration or "(project)"
        if finding.database and finding.migration is None:
            group = f"live {finding.database}"
        groups.setdefault(group, []).append(finding)
    # Two entries may share an id (MG109): still one suite per name.
    names = list(dict.fromkeys([*report.migrations, "(project)"]))
    databases = [f"live {section['database']}" for section in report.live]
    names += [name for name in databases if name not in names]
    names += [name for name in groups if name not in names]
    total = failed = 0
    for name in names:
        findings = groups.get(name, [])
        if name == "(project)" and not findings:
            continue
        # A live database is checked by the live family only: a clean one passes that case.
        run = {"live"} if name in databases else set(_families_run(report))
        families = sorted({_family(f.code) for f in findings} | run)
        suite = ET.SubElement(suites, "testsuite", name=printable(name))
        suite_failures = 0
        for family in families:
            case = ET.SubElement(suite, "testcase", classname=printable(name), name=family)
            of_family = [f for f in findings if _family(f.code) == family]
            problems = [f for f in of_family if f.severity.value in ("error", "warning")]
            if problems:
                suite_failures += 1
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=printable("; ".join(f"{f.code} {f.message}" for f in problems)[:1000]),
                    type=max(problems, key=lambda f: f.severity.rank).severity.value,
                )
                failure.text = "\n".join(_line(f) for f in problems)
            notes = [f for f in of_family if f not in problems]
            if notes:
                ET.SubElement(case, "system-out").text = "\n".join(_line(f) for f in notes)
        suite.set("tests", str(len(families)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        total += len(families)
        failed += suite_failures
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    ET.indent(suites)
    # XML 1.0 has no way to write most control characters, not even escaped: values are
    # printable, so the file parses.
    text = inert_xml(ET.tostring(suites, "unicode"))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"


def _families_run(report: Report) -> list[str]:
    """The families a run checked, so that a clean migration still has passing cases."""
    families = ["catalog and files", "sql", "rollback", "review"]
    if report.replay is not None:
        families.append("replay")
    if report.live:
        families.append("live")
    return families


def _line(finding: Finding) -> str:
    """A finding on one line of JUnit's text: ``file:line: severity CODE [database] message``."""
    where = f"{finding.location}: " if finding.location else ""
    database = f"[{finding.database}] " if finding.database else ""
    return printable(f"{where}{finding.severity.value} {finding.code} {database}{finding.message}")


_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def render_sarif(report: Report) -> str:
    """SARIF 2.1.0: the rules from the registry with their help, results in files and lines."""
    from migdocs.checks import all_rules

    rules = all_rules()
    index = {rule.code: number for number, rule in enumerate(rules)}
    driver = {
        "name": "migdocs",
        "version": migdocs.__version__,
        "informationUri": "https://github.com/migdocs/migdocs",
        "rules": [
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.docs().what},
                "help": {"text": rule.docs().markdown(), "markdown": rule.docs().markdown()},
                "defaultConfiguration": {"level": _SARIF_LEVEL.get(rule.severity.value, "none")},
            }
            for rule in rules
        ],
    }
    results = []
    for finding in report.findings:
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "level": _SARIF_LEVEL[finding.severity.value],
            "message": {"text": finding.message},
        }
        if finding.code in index:
            result["ruleIndex"] = index[finding.code]
        file, line, column = report.place(finding)
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(file)}}
        if line is not None:
            region: dict[str, int] = {"startLine": line}
            if column is not None:
                region["startColumn"] = column
            physical["region"] = region
        # GitHub's code scanning refuses a whole log if one result has no physical location.
        location: dict[str, Any] = {"physicalLocation": physical}
        logical = [
            {"name": name, "kind": kind}
            for name, kind in ((finding.migration, "module"), (finding.database, "resource"))
            if name
        ]
        if logical:
            location["logicalLocations"] = logical
        result["locations"] = [location]
        results.append(result)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }
    return inert_json(json.dumps(log, indent=2, ensure_ascii=False)) + "\n"


def _uri(path: str) -> str:
    """A path as SARIF wants it: a relative URI reference, percent-encoded, or for an absolute
    path a ``file:`` URI."""
    from pathlib import PurePosixPath, PureWindowsPath
    from urllib.parse import quote

    if PureWindowsPath(path).is_absolute():
        return PureWindowsPath(path).as_uri()
    if PurePosixPath(path).is_absolute():
        return PurePosixPath(path).as_uri()
    # A file name that is not UTF-8 holds surrogates: its own bytes are what it names.
    return quote(path.replace("\\", "/"), safe="/", errors="surrogateescape")


def _escape_data(text: str) -> str:
    """A command's data as @actions/core's ``escapeData`` writes it; what else is not
    printable, as its escape."""
    text = printable(text, keep="\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """A command's property value as @actions/core's ``escapeProperty`` writes it."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def render_github(report: Report) -> str:
    """GitHub Actions workflow commands: one ``::error file=…,line=…::`` line per finding."""
    lines = []
    for finding in report.findings:
        file, line, column = report.place(finding)
        properties = [f"file={_escape_property(file)}"]
        if line is not None:
            properties.append(f"line={line}")
            if column is not None:
                properties.append(f"col={column}")
        title = finding.code + (f" {finding.migration}" if finding.migration else "")
        properties.append(f"title={_escape_property(title)}")
        database = f"[{finding.database}] " if finding.database else ""
        message = _escape_data(f"{database}{finding.message}")
        lines.append(
            f"::{_GITHUB_COMMAND[finding.severity.value]} {','.join(properties)}::{message}"
        )
    lines.append(f"migdocs: {len(report.migrations)} migrations, {_counted(report)}")
    return "\n".join(lines) + "\n"


FORMATS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "sarif": render_sarif,
    "github": render_github,
}
