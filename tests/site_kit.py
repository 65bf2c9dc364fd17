"""The example project copied for a site test, and a built site served over HTTP on
localhost, as a browser test opens it."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import socketserver
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: The repository root: the example project.
ROOT = Path(__file__).resolve().parent.parent


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the browser dropped a connection when it left a page: not the site's fault


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """The URL of ``site`` served on a free port of 127.0.0.1 until the block ends."""
    handler = functools.partial(_Quiet, directory=str(site))
    with _Server(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


def copy_example(tmp_path: Path) -> Path:
    """The repository's example project (catalog, mkdocs.yml, SQL, docs), copied."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("catalog.yaml", "mkdocs.yml"):
        shutil.copy(ROOT / name, project / name)
    for name in ("migrations", "docs"):
        shutil.copytree(ROOT / name, project / name)
    return project


def only_local(
    served: str, blocked: list[str], loaded: list[str] | None = None
) -> Callable[[Any], None]:
    """A playwright route handler that lets through requests to ``served`` (and ``data:``,
    ``blob:``, ``about:``), noting them in ``loaded``, and blocks every other, noting its
    URL in ``blocked``: the site as an intranet without internet sees it."""
    local = urlsplit(served).netloc

    def route(route: Any) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in {"data", "blob", "about"} or parts.netloc == local:
            if loaded is not None:
                loaded.append(route.request.url)
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("blockedbyclient")

    return route
