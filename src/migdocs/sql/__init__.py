"""SQL analysis with PostgreSQL's own parser: statements, their effects, and the schema model."""

from __future__ import annotations

from migdocs.sql.effects import HeavyStep, KeyInfo, Lock, Statement, Validation
from migdocs.sql.model import Effect, SchemaModel
from migdocs.sql.script import IgnoreComment, Script, ScriptProblem, parse_text, read_script

__all__ = [
    "Effect",
    "HeavyStep",
    "IgnoreComment",
    "KeyInfo",
    "Lock",
    "SchemaModel",
    "Script",
    "ScriptProblem",
    "Statement",
    "Validation",
    "parse_text",
    "read_script",
]
