"""The rules: a registry of every check, the static walk they read, and the engine."""

from __future__ import annotations

from migdocs.checks.base import Rule, RuleDocs
from migdocs.checks.engine import run_static, settle
from migdocs.checks.registry import all_rules, rule_by_code

__all__ = ["Rule", "RuleDocs", "all_rules", "rule_by_code", "run_static", "settle"]
