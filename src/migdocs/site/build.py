"""`migdocs build`: MkDocs' build into a temporary folder, then a swap, so that a build that
fails leaves the previous site whole."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from migdocs.errors import MigdocsError


def build_site(
    config_file: Path, site_dir: str | None, *, strict: bool = False, report: str | None = None
) -> Path:
    """Build the site of ``config_file`` into ``site_dir`` (default: the config's).

    Raises:
        MigdocsError: when the config cannot be loaded or the build fails; the previous
            site is then untouched.
    """
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, MkDocsException

    if not config_file.is_file():
        raise MigdocsError(f"{config_file}: no MkDocs config (see `migdocs init`)")
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        config = load_config(str(config_file), strict=strict or None)
    except (MkDocsException, Abort) as error:
        raise MigdocsError(f"{config_file}: {error}") from None
    target = Path(site_dir) if site_dir else Path(config.site_dir)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    config.site_dir = str(staging)
    if report is not None:
        plugin = config.plugins.get("migdocs")
        if plugin is None:
            shutil.rmtree(staging, ignore_errors=True)
            raise MigdocsError(f"{config_file}: the migdocs plugin is not in `plugins`")
        plugin.config.report = os.path.abspath(report)
    collected = _Collector()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collected)
    try:
        build(config)
    except (MkDocsException, Abort, OSError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        reasons = "\n".join(collected.messages) or str(error)
        raise MigdocsError(f"the site did not build, {target} is unchanged:\n{reasons}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        logger.removeHandler(collected)
    previous = None
    if target.exists():
        previous = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, previous)
    os.replace(staging, target)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    return target


class _Collector(logging.Handler):
    """Keeps MkDocs' warnings and errors, to say why a build failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
