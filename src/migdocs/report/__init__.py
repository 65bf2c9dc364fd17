"""Findings, the report of a run, and its output formats."""

from __future__ import annotations

from migdocs.report.finding import Finding
from migdocs.report.report import Report

__all__ = ["Finding", "Report"]
