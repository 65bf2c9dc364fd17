"""The page templates (Jinja2, overridable by a project's folder) and the tables they hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from migdocs.site.escape import cell, code, heading, inline, md, message, text, url
from migdocs.site.fragments import Cell, Fragments, Table


def environment(override: Path | None = None) -> jinja2.Environment:
    """The templates: a project's own folder first, then the package's."""
    loaders: list[jinja2.BaseLoader] = []
    if override is not None:
        loaders.append(jinja2.FileSystemLoader(str(override)))
    loaders.append(jinja2.PackageLoader("migdocs.site", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,  # the output is Markdown: the filters escape what must be
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        md=md,
        inline=inline,
        cell=cell,
        heading=heading,
        title_text=heading,  # its former name, which custom templates may use
        text=text,
        code=code,
        message=message,
        url=url,
    )
    return env


@dataclass
class Templates:
    """The templates of one build, and the fragments its tables are kept in."""

    env: jinja2.Environment
    #: The parts of the pages rendered to HTML here, for the plugin's Markdown extension.
    fragments: Fragments = field(default_factory=Fragments)
    #: Whether the site's Markdown reads attribute lists (``attr_list``), through which the
    #: pages mark what Material's search leaves out (``data-search-exclude``): a migration's
    #: SQL, a table's diagram.
    attr_list: bool = True
    loaded: dict[str, jinja2.Template] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # What a heading ends with for search to leave its section out (every template).
        self.env.globals["no_search"] = " { data-search-exclude }" if self.attr_list else ""

    def render(self, template: str, **values: Any) -> str:
        """The Markdown of ``template`` with ``values``."""
        loaded = self.loaded.get(template)
        if loaded is None:  # once a build: Jinja would look at the file at each get
            loaded = self.loaded[template] = self.env.get_template(template)
        return loaded.render(**values)

    def table(self, header: tuple[str, ...], rows: list[tuple[Cell, ...]]) -> str:
        """The marker of a table built cell by cell (see ``fragments.Table``)."""
        return self.fragments.marker(Table(header, rows))
