"""The documentation site: an MkDocs plugin that renders the checked migration history."""
