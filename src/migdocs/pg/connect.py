"""Connecting to a scratch server: sessions as migdocs opens them, failures told without secrets."""

from __future__ import annotations

from typing import Any

import psycopg

from migdocs.errors import MigdocsError
from migdocs.pg.urls import redact_url, scrub_secrets

#: Seconds to wait for a server to accept a connection.
CONNECT_TIMEOUT = 10


class ServerError(MigdocsError):
    """A scratch server cannot be started, reached or used; the message never holds a password."""


def connect(
    url: str, settings: dict[str, str] | None = None
) -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection to ``url``, with ``settings`` as the session's defaults.

    Raises:
        ServerError: when it cannot connect.
    """
    extra: dict[str, Any] = {}
    if settings:
        # libpq splits options at spaces: a value's own spaces and backslashes are escaped.
        extra["options"] = " ".join(
            "-c " + f"{name}={value}".replace("\\", "\\\\").replace(" ", "\\ ")
            for name, value in settings.items()
        )
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name="migdocs",
            **extra,
        )
    except psycopg.Error as error:
        raise ServerError(f"cannot connect to {redact_url(url)}: {reason(error, url)}") from None


def reason(error: psycopg.Error, url: str | None) -> str:
    """What the server said, on one line, without the password of ``url``."""
    message = " ".join(str(error).split())
    return scrub_secrets(message, url) if url else message
