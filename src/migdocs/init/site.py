"""The MkDocs site `init` sets up beside a new catalog: ``mkdocs.yml`` and a home page."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from migdocs.discovery import project_name


def site_files(root: Path, catalog_text: str) -> dict[str, str]:
    """``mkdocs.yml`` and ``docs/index.md`` for the history's site, when the migdocs MkDocs
    plugin is installed (else none: a config that cannot build helps nobody)."""
    try:
        if importlib.util.find_spec("migdocs.site.plugin") is None:
            return {}
    except ModuleNotFoundError:
        return {}
    name = project_name(root)
    config = f"site_name: {json.dumps(name + ' migration history')}\n" + _MKDOCS
    index = f"# {name}\n\nThe migration history of {name}, checked by migdocs.\n"
    return {"mkdocs.yml": config, "docs/index.md": index}


_MKDOCS = """\
theme:
  name: material
  font: false
  features:
    - navigation.sections
    - navigation.prune
    - navigation.indexes
    - content.code.copy
  palette:
    - scheme: default
      toggle: {icon: material/brightness-7, name: Switch to dark mode}
    - scheme: slate
      toggle: {icon: material/brightness-4, name: Switch to light mode}
plugins:
  - search:
      separator: '[\\s\\-]+|\\.(?!\\d)'   # public.users: public, users
  - migdocs
markdown_extensions:
  - admonition
  - attr_list
  - tables
  - toc:
      permalink: true
  - pymdownx.highlight
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
  - pymdownx.tabbed:
      alternate_style: true
"""
