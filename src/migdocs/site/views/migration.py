"""A migration's page: its header and facts, declared objects, SQL, rollback, replay and
findings, with links to the migrations before and after it."""

from __future__ import annotations

from typing import Any

from migdocs.catalog.models import Migration
from migdocs.checks.context import EntryAnalysis
from migdocs.objects import ObjectRef, found_among
from migdocs.project import Entry
from migdocs.site.escape import url
from migdocs.site.fragments import (
    Cell,
    Code,
    Link,
    Literal,
    Text,
    html_badge,
    html_code,
    html_table,
    html_text,
)
from migdocs.site.proof import NO_ROLLBACK, Proof, badge, label
from migdocs.site.releases import Release
from migdocs.site.state import Site
from migdocs.site.views.cells import BAD, NONE, OK
from migdocs.site.views.findings import finding_rows, findings_table
from migdocs.sql.script import Script

#: Lines of SQL shown on a migration page; the whole file is a link away.
SQL_LINES = 300


def migration(site: Site, position: int) -> str:
    """The page of the ``position``-th migration of the history."""
    entry = site.entries[position]
    analysis = site.analyses[position]
    replay = site.replay.get(entry.id)
    forward_sql, forward_more = _excerpt(_shown(site.project.forward(entry), entry.forward_part))
    rollback_script = site.project.rollback(entry)
    rollback_sql, rollback_more = (
        _excerpt(_shown(rollback_script, entry.rollback_part))
        if rollback_script is not None
        else (None, 0)
    )
    rollback = _rollback_view(entry.migration)
    evidence = site.proofs[entry.id]
    forward_file = site.project.display(entry.forward_path)
    objects = _objects(
        site.static.declared(entry, "creates"),
        site.static.declared(entry, "drops"),
        analysis,
        replay,
    )
    declared = site.static.declared(entry, "creates") + site.static.declared(entry, "drops")
    for row, ref in zip(objects, declared, strict=True):  # each links to its table's page
        row["page"] = site.schema.uri_of(ref) or ""
    forward_text = forward_sql if forward_sql is not None else "-- the file is missing"
    parts = _parts(site, entry.migration, evidence, forward_file, replay, forward_text)
    if objects:
        parts["objects"] = _objects_table(site, objects)
    parts.update(_sql_and_replay(site, rollback_sql, replay))
    findings = finding_rows(site.findings.get(entry.id, []))
    return site.templates.render(
        "migration.md.j2",
        m=_migration_view(entry.migration),
        html=parts,
        state=label(evidence.level),
        proof=evidence,
        forward_file=forward_file,
        objects=objects,
        rollback=rollback,
        computed=sorted({reason.impact.value for reason in analysis.impacts}),
        forward_sql=forward_text,
        forward_more=forward_more,
        forward_link=f"../sql/{url(site.sql_name(entry.forward_path))}",
        rollback_sql=rollback_sql,
        rollback_more=rollback_more,
        rollback_link=(
            f"../sql/{url(site.sql_name(entry.rollback_path))}" if entry.rollback_path else ""
        ),
        replay=replay,
        replay_changes=_replay_changes(replay),
        findings=findings,
        findings_table=findings_table(site, findings, "../rules.md") if findings else "",
        rules_link="../rules.md",
        replayed_on=site.replayed_on,
        rewrote=any(lock.get("rewrite") for lock in (replay or {}).get("locks", [])),
        risk_low=rollback is not None and rollback["risk"] in ("low", "none"),
        release=_release(entry.migration),
        previous=_link(site.entries[position - 1]) if position > 0 else None,
        next=_link(site.entries[position + 1]) if position + 1 < len(site.entries) else None,
    )


def _rollback_view(migration: Migration) -> dict[str, Any] | None:
    """The catalog's rollback of ``migration``, as its template reads it."""
    if migration.rollback is None:
        return None
    r = migration.rollback
    return {
        "none": r.none,
        "file": r.file,
        "risk": r.risk.value if r.risk else "?",
        "impact": [i.value for i in r.impact or []],
        "summary": r.summary or "",
    }


def _replay_changes(replay: dict[str, Any] | None) -> list[tuple[str, list[Any]]]:
    """What the replay saw the migration change, and what its round trip left different."""
    changes = (replay or {}).get("changes", {})
    return [
        ("Added", changes.get("added", [])),
        ("Removed", changes.get("removed", [])),
        ("Changed", changes.get("changed", [])),
        ("Round-trip differences", (replay or {}).get("differences", [])),
    ]


def _release(migration: Migration) -> dict[str, str] | None:
    if migration.release is None:
        return None
    return {"name": migration.release, "uri": f"../{url(Release(migration.release, ()).uri)}"}


def _steps(replay: dict[str, Any] | None) -> list[tuple[str, Any]]:
    return [
        ("forward", (replay or {}).get("forward")),
        ("rollback", (replay or {}).get("rollback")),
        ("round trip", (replay or {}).get("round_trip")),
    ]


def _parts(
    site: Site,
    migration: Migration,
    evidence: Proof,
    forward_file: str,
    replay: dict[str, Any] | None,
    forward_sql: str,
) -> dict[str, str]:
    """The markers of a migration page's header (rollback risk and impact, proof,
    transaction), facts as HTML, and forward SQL to highlight."""
    proof_badge = html_badge(badge(evidence.level))
    if evidence.rollback == NO_ROLLBACK:
        header = [html_badge(badge(NO_ROLLBACK))]
    else:
        assert migration.rollback is not None  # a risk is a rollback's
        impacts = ", ".join(i.value for i in migration.rollback.impact or []) or "none"
        header = [
            f"<span>rollback risk: <strong>{html_text(evidence.rollback)}</strong></span>",
            f"<span>impact: <strong>{html_text(impacts)}</strong></span>",
        ]
    header.append(f"<span>proof: {proof_badge}</span>")
    if evidence.outside_transaction:
        header.append("<span>runs outside a transaction</span>")
    lines = "\n".join(header)
    reviewed = migration.reviewed
    if reviewed is None:
        stamp = html_text("never")
    else:
        stamp = html_text(f"{reviewed.date.isoformat()} by {' '.join(reviewed.by.split())}")
        if reviewed.sha256:
            stamp += f" (files {html_code(reviewed.sha256[:12])})"
    replayed = ", ".join(f"{step} {result}" for step, result in _steps(replay))
    facts = [
        ["id", html_code(migration.id)],
        ["date", html_text(migration.date.isoformat())],
        ["file", html_code(forward_file)],
        ["proof", proof_badge],
        ["reviewed", stamp],
        ["replayed", html_text(replayed if replay else "not in this site's report")],
    ]
    marker = site.fragments.marker
    return {
        # Raw HTML in the page: every value in it is escaped above.
        "header": f'<div class="migdocs-header">\n{lines}\n</div>',
        "facts": marker(html_table(["", ""], facts)),
        "forward_sql": marker(Code("sql", forward_sql)),
    }


def _objects_table(site: Site, objects: list[dict[str, str]]) -> str:
    """The declared objects as a table fragment, so that MkDocs resolves the links to the
    schema reference."""
    cells: list[tuple[Cell, ...]] = [
        (
            Text(o["verb"]),
            (
                Text(f"{o['kind']} "),
                Link(Literal(o["name"]), f"../{o['page']}")
                if o.get("page")
                else Literal(o["name"]),
            ),
            Text(o["sql"]),
            Text(o["replay"]),
        )
        for o in objects
    ]
    return site.templates.table(("", "object", "in the SQL", "on replay"), cells)


def _sql_and_replay(
    site: Site, rollback_sql: str | None, replay: dict[str, Any] | None
) -> dict[str, str]:
    """The markers of the rollback's SQL to highlight, and the replay's steps and locks."""
    marker = site.fragments.marker
    parts = {}
    if rollback_sql is not None:
        parts["rollback_sql"] = marker(Code("sql", rollback_sql))
    if replay:
        steps = [*_steps(replay), ("time", f"{replay.get('ms')} ms")]
        rows = [[html_text(step), html_text(result)] for step, result in steps]
        parts["replay"] = marker(html_table(["step", "result"], rows))
    if replay and replay.get("locks"):
        locks = [
            [
                html_text(f"line {lock.get('line')}"),
                html_code(str(lock.get("relation", "")).partition(":")[2]),
                html_text(lock.get("mode", "")),
                html_text("rewritten" if lock.get("rewrite") else ""),
                html_text(lock.get("source", "")),
            ]
            for lock in replay["locks"]
        ]
        header = ["statement", "relation", "lock", "rewrite", "measured or documented"]
        parts["locks"] = marker(html_table(header, locks))
    return parts


def _shown(script: Script | None, part: str | None) -> str | None:
    """A script's text as its page shows it: a section of a file (dbmate, goose) without the
    other section's emptied lines before it."""
    if script is None or script.text is None:
        return None
    return script.text.lstrip("\r\n") if part is not None else script.text


def _excerpt(text: str | None) -> tuple[str | None, int]:
    if text is None:
        return None, 0
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    if len(lines) <= SQL_LINES:
        return "\n".join(lines), 0
    return "\n".join(lines[:SQL_LINES]), len(lines) - SQL_LINES


def _link(entry: Entry) -> dict[str, str]:
    return {"id": entry.id, "title": entry.migration.title}


def _migration_view(migration: Migration) -> dict[str, Any]:
    return {
        "id": migration.id,
        "title": migration.title,
        "date": migration.date.isoformat(),
        "purpose": migration.purpose,
        "changes": migration.changes or [],
        "features": migration.features or [],
        "reviewed": (
            {
                "date": migration.reviewed.date.isoformat(),
                "by": migration.reviewed.by,
                "sha256": migration.reviewed.sha256 or "",
            }
            if migration.reviewed
            else None
        ),
        "notes": migration.notes or "",
    }


def _objects(
    creates: list[ObjectRef],
    drops: list[ObjectRef],
    analysis: EntryAnalysis,
    replay: dict[str, Any] | None,
) -> list[dict[str, str]]:
    """The declared objects (``creates``, ``drops``) with where each was seen."""
    rows = []
    for verb, declared, seen_sql, seen_key in (
        (
            "creates",
            creates,
            [
                *analysis.mentioned_creates,
                *(analysis.forward_effect.created if analysis.forward_effect else []),
            ],
            "added",
        ),
        (
            "drops",
            drops,
            [
                *analysis.mentioned_drops,
                *(analysis.forward_effect.dropped if analysis.forward_effect else []),
            ],
            "removed",
        ),
    ):
        keys = set((replay or {}).get("changes", {}).get(seen_key, []))
        for ref in declared:
            in_sql = found_among(ref, seen_sql)
            sql_mark = (
                f"{OK} seen" if in_sql else ("? opaque" if analysis.opaque else f"{BAD} not found")
            )
            if replay is None or replay.get("forward") != "ok":
                replay_mark = NONE
            else:
                parent = ref.parent.key if ref.parent is not None else None
                seen = ref.key in keys or (parent is not None and parent in keys)
                replay_mark = f"{OK} seen" if seen else f"{BAD} not found"
            rows.append(
                {
                    "verb": verb,
                    "kind": ref.kind.value,
                    "name": ref.declared,
                    "sql": sql_mark,
                    "replay": replay_mark,
                }
            )
    return rows
