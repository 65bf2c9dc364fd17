"""The generated pages, a module each: what a page shows, as Markdown from its template."""
