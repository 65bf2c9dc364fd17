"""Live databases: where they are, and a connection that cannot hurt them.

A live connection is read-only (``default_transaction_read_only``), names itself
``application_name=migdocs``, gives up after a connect timeout and stops any statement after
a statement timeout. migdocs never writes to a live database and creates nothing in it; a
role that can connect and read the system catalogs is enough (see the README).

Every URL that reaches a message, a report or a page goes through
[redact][migdocs.pg.live.redact] first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psycopg

from migdocs.errors import MigdocsError
from migdocs.pg.urls import checked_url, redact_url, scrub_secrets

#: Server settings of every live session.
LIVE_SETTINGS = {
    "default_transaction_read_only": "on",
    "statement_timeout": "30s",
    "lock_timeout": "5s",
    "idle_in_transaction_session_timeout": "60s",
}


def redact(url: str) -> str:
    """A URL or conninfo string with its password (and any secret parameter) removed.

    An empty string means libpq's ``PG*`` environment: it is named by what those say.
    """
    if url:
        return redact_url(url)
    host = os.environ.get("PGHOST", "localhost")
    port = os.environ.get("PGPORT", "5432")
    user = os.environ.get("PGUSER", "")
    database = os.environ.get("PGDATABASE", user or "postgres")
    who = f"{user}@" if user else ""
    return f"postgresql://{who}{host}:{port}/{database} (from PG* variables)"


def resolve_live_urls(cli_urls: list[str], url_file: str | None, live_flag: bool) -> list[str]:
    """The live databases to audit: ``--database-url`` (repeatable) and ``--database-urls``
    FILE; else ``MIGDOCS_DATABASE_URL``; else, with ``--live``, libpq's ``PG*`` environment
    (an empty conninfo); else none.

    Raises:
        MigdocsError: when the file cannot be read, or a URL cannot be used as libpq reads it
            (naming where it was given — the option, the file and line, the variable — and
            at most its host).
    """
    urls = [checked_url(url, "--database-url") for url in cli_urls]
    if url_file is not None:
        path = Path(url_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise MigdocsError(f"{path}: cannot read the list of database URLs: {error}") from None
        for number, line in enumerate(lines, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            urls.append(checked_url(text, f"{path}:{number}"))
    if not urls and os.environ.get("MIGDOCS_DATABASE_URL"):
        urls.append(checked_url(os.environ["MIGDOCS_DATABASE_URL"], "MIGDOCS_DATABASE_URL"))
    if not urls and live_flag:
        urls.append("")
    return list(dict.fromkeys(urls))


def connect_live(
    url: str, *, connect_timeout: int = 10, statement_timeout: str = "30s"
) -> psycopg.Connection[Any]:
    """A read-only autocommit connection to a live database.

    Raises:
        MigdocsError: naming host, port and database — never the password — when the
            server cannot be reached or refuses the login.
    """
    settings = {**LIVE_SETTINGS, "statement_timeout": statement_timeout}
    options = " ".join(f"-c {name}={value}" for name, value in settings.items())
    try:
        conn = psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=connect_timeout,
            application_name="migdocs",
            options=options,
        )
    except psycopg.Error as error:
        raise MigdocsError(f"cannot connect to {redact(url)}: {_reason(error, url)}") from None
    return conn


def _reason(error: psycopg.Error, url: str) -> str:
    """libpq's reason, on one line, without the password should it quote the conninfo."""
    message = " ".join(str(error).split())
    return (scrub_secrets(message, url) if url else message) or type(error).__name__
