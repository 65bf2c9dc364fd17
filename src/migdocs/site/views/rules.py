"""The rules reference: every rule by family, from the rules' own docstrings."""

from __future__ import annotations

from typing import Any

from migdocs.checks import all_rules
from migdocs.site.escape import inline, url
from migdocs.site.fragments import Link, Literal, Text
from migdocs.site.state import Site

#: The families of rules, by the first digit of their code: a title and what they check.
RULE_FAMILIES = {
    "1": ("Files", "the migration and rollback files against the catalog's entries"),
    "2": ("SQL", "what each script's SQL does, read without a database"),
    "3": ("Rollback", "whether each rollback undoes its migration, and its declared risk"),
    "4": ("Replay", "the migrations and rollbacks run on a scratch PostgreSQL (verify)"),
    "5": ("Live", "the audited databases against the history (audit)"),
    "6": ("Review", "the catalog's review stamps and required texts"),
}


def rules(site: Site) -> str:
    """The rules reference: an index of the families, then each family's rules in a table
    (code, name, default severity, summary) and one section each, whose anchor is its
    code in lower case (``rules.md#mg302``), where the findings tables link."""
    families: dict[str, dict[str, Any]] = {}
    shown_rules = []
    for rule in all_rules():
        docs = rule.docs()
        shown = {
            "code": rule.code,
            "name": rule.name,
            "severity": rule.severity.value,
            "phase": rule.phase,
            "summary": rule.summary,
            "what": docs.what,
            "why": docs.why,
            "example": docs.example,
            "fix": docs.fix,
        }
        shown_rules.append(shown)
        digit = rule.code[2:3]
        title, about = RULE_FAMILIES.get(digit, (f"MG{digit}xx", ""))
        family = families.setdefault(
            digit,
            {"title": title, "codes": f"MG{digit}xx", "about": about, "rules": []},
        )
        family["rules"].append(shown)
    table = site.templates.table
    for family in families.values():
        family["anchor"] = f"{family['title']}-{family['codes']}".lower().replace(" ", "-")
        family["table"] = table(
            ("code", "name", "default", "summary"),
            [
                (
                    Link(Text(rule["code"]), f"#{url(rule['code'].lower())}"),
                    Literal(rule["name"]),
                    Text(rule["severity"]),
                    inline(rule["summary"]),
                )
                for rule in family["rules"]
            ],
        )
    index = table(
        ("family", "codes", "what it checks", "rules"),
        [
            (
                Link(Text(family["title"]), f"#{family['anchor']}"),
                Text(family["codes"]),
                Text(family["about"]),
                Text(str(len(family["rules"]))),
            )
            for family in families.values()
        ],
    )
    return site.templates.render(
        "rules.md.j2", rules=shown_rules, families=list(families.values()), index=index
    )
