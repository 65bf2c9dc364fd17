"""Today's date, which tests and reproducible builds can pin with ``MIGDOCS_TODAY``."""

from __future__ import annotations

import datetime as dt
import os

from migdocs.errors import MigdocsError


def today() -> dt.date:
    """``MIGDOCS_TODAY`` (YYYY-MM-DD) when set, else the local date.

    Raises:
        MigdocsError: when ``MIGDOCS_TODAY`` is not a date.
    """
    pinned = os.environ.get("MIGDOCS_TODAY")
    if not pinned:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(pinned)
    except ValueError:
        raise MigdocsError(f"MIGDOCS_TODAY={pinned!r} is not a date (YYYY-MM-DD)") from None
