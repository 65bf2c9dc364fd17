"""The generated pages rendered as MkDocs renders a page: by one Markdown converter per build,
and on a machine with cores to spare, partly in other processes while MkDocs does the rest.

MkDocs makes a new ``markdown.Markdown`` for every page it renders: it builds every
extension of the site again (configurations copied, patterns compiled, Pygments settings
looked up) before converting a line. For the thousands of pages of a long history that is a
fifth of the time Markdown takes. A `GeneratedPage` is converted by the one converter of
its build instead, reset between pages (``Markdown.reset``, which Python-Markdown provides
for this: each extension with state of its own — footnotes, tabs, the table of contents —
starts the page afresh), with MkDocs' own processors for the page (links, anchors, title)
made for it as ``Page.render`` makes them.

MkDocs converts its pages one after the other, on one core. With ``jobs`` above one (by
default, as many as the machine gives the build, on a history of `AHEAD_FROM` pages or
more), the build's first generated page to be converted starts `Ahead`: worker processes,
forked from the build as it then is, that convert the generated pages from the last one
backwards while MkDocs converts them from the first one forwards, until the two meet, and a
process that makes the pages' folders meanwhile. Each worker does for a page what MkDocs
would (``on_pre_page``, ``read_source``, every plugin's ``on_page_markdown``) and converts
it; MkDocs, reaching the page, still runs each plugin's hooks itself, and takes the
worker's HTML only when the Markdown it now has is the Markdown the worker converted. What
the workers log is logged by the build, page by page, as if the build had converted the
page (``mkdocs build --strict`` counts their warnings). Workers are forked, so only where a
fork is safe (`forkable`: not on macOS or Windows), and only from a build that runs no
other thread (``mkdocs serve``'s rebuilds, beside its server's threads, convert in one process).

What a page becomes is the same either way: the tests build sites every way and compare them
byte for byte. The user's hand-written pages are left to MkDocs.
"""

from __future__ import annotations

import bisect
import functools
import logging
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Python-Markdown ships no type information.
import markdown  # type: ignore[import-untyped]
from mkdocs.structure.pages import (
    Page,
    _ExtractAnchorsTreeprocessor,
    _ExtractTitleTreeprocessor,
    _RawHTMLPreprocessor,
    _RelativePathTreeprocessor,
)
from mkdocs.structure.toc import get_toc

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import File, Files

    from migdocs.site.extension import MigdocsExtension

#: MkDocs' logger for pages, whose level decides whether links to anchors are kept for
#: validation (as ``Page.render`` does).
_LOG = logging.getLogger("mkdocs.structure.pages")

#: With ``jobs: auto``, the fewest generated pages for which workers are started: below it,
#: starting them costs more than they save.
AHEAD_FROM = 200
#: With ``jobs: auto``, the most processes converting pages (the build's own included).
MOST_JOBS = 8
#: How long, in seconds, the build waits for the workers' lock, or for a worker asked to stop
#: (one chunk of pages takes a fraction of a second): past it, a worker is deemed dead.
LOCK_WAIT = 10


@dataclass
class Rendered:
    """What converting a page's Markdown makes of the page, as it can be sent between
    processes: the page's fields ``Page.render`` sets, what the plugin's extension noted
    about the page, and what was logged while converting it."""

    markdown: str
    content: str
    toc_tokens: list[Any]
    title: str | None
    anchors: set[str]
    #: The links to anchors of other pages, by the linked page's ``src_uri`` (MkDocs keys
    #: them by ``File``, which is the build's own object).
    links_to_anchors: dict[str, dict[str, str]] | None
    placed: list[tuple[str, str]]
    tables: bool
    records: list[logging.LogRecord] = field(default_factory=list)


class SharedMarkdown:
    """The one Markdown converter of a build, made on first use from the site's extensions
    as they are then (after every plugin's ``on_config``), and the workers converting pages
    ahead of MkDocs, when there are any."""

    def __init__(self, extension: MigdocsExtension, jobs: int | None = None) -> None:
        self._converter: markdown.Markdown | None = None
        #: The plugin's extension, whose notes about a page are part of what it becomes.
        self.extension = extension
        #: How many processes may convert pages, the build's own included; ``None``: as many
        #: as the machine gives the build (see `jobs_for`).
        self.jobs = jobs
        self.ahead: Ahead | None = None
        self._started = False

    def reset(self, config: MkDocsConfig) -> markdown.Markdown:
        """The converter, reset for a new page."""
        if self._converter is None:
            self._converter = markdown.Markdown(
                extensions=config["markdown_extensions"],
                extension_configs=config["mdx_configs"] or {},
            )
        return self._converter.reset()

    def convert(self, page: Page, source: str, config: MkDocsConfig, files: Files) -> Rendered:
        """What ``Page.render`` makes of ``source`` on ``page``, with the shared converter."""
        md = self.reset(config)
        raw_html = _RawHTMLPreprocessor()
        raw_html._register(md)
        anchors = _ExtractAnchorsTreeprocessor(page.file, files, config)
        anchors._register(md)
        links = _RelativePathTreeprocessor(page.file, files, config)
        links._register(md)
        title = _ExtractTitleTreeprocessor()
        title._register(md)
        content = md.convert(source)
        kept = None
        if _LOG.getEffectiveLevel() > logging.DEBUG:
            kept = {target.src_uri: dict(found) for target, found in links.links_to_anchors.items()}
        return Rendered(
            source,
            content,
            getattr(md, "toc_tokens", []),
            title.title,
            anchors.present_anchor_ids | raw_html.present_anchor_ids,
            kept,
            self.extension.placed,
            self.extension.tables,
        )

    def converted_ahead(
        self, page: GeneratedPage, config: MkDocsConfig, files: Files
    ) -> Rendered | None:
        """What a worker made of ``page``, when workers run (starting them on the first
        call) and the worker converted the Markdown the page now has; ``None`` when the
        build is to convert it itself."""
        if not self._started:
            self._started = True
            jobs = jobs_for(self.jobs)
            pages = [
                file.page
                for file in files.documentation_pages()
                if isinstance(file.page, GeneratedPage) and file.page.converter is self
            ]
            if jobs > 1 and (self.jobs is not None or len(pages) >= AHEAD_FROM):
                self.reset(config)  # made once, before the workers are forked: theirs too
                folders = sorted({os.path.dirname(page.file.abs_dest_path) for page in pages})
                try:
                    self.ahead = Ahead.start(
                        pages,
                        functools.partial(self._convert_ahead, config=config, files=files),
                        jobs - 1,
                        folders=folders,
                        done="converted",
                    )
                except OSError as error:  # no process or temporary folder to be had
                    _LOG.debug(f"migdocs: converting the pages in one process ({error})")
        if self.ahead is None:
            return None
        taken = self.ahead.take(page)
        if taken is None:
            return None
        rendered: Rendered = taken[0]
        records = taken[1]
        if rendered.markdown != page.markdown:  # a plugin's hook made the page otherwise there
            return None
        rendered.records = records
        self.ahead.taken += 1
        return rendered

    def _convert_ahead(self, generated: Page, *, config: MkDocsConfig, files: Files) -> Rendered:
        """In a worker: what MkDocs makes of ``generated`` up to its HTML (``on_pre_page``,
        ``read_source``, every plugin's ``on_page_markdown``), converted."""
        config._current_page = generated
        try:
            page = config.plugins.on_pre_page(generated, config=config, files=files)
            page.read_source(config)
            assert page.markdown is not None
            source = config.plugins.on_page_markdown(
                page.markdown, page=page, config=config, files=files
            )
            return self.convert(page, source, config, files)
        finally:
            config._current_page = None

    def stop(self) -> None:
        """Stops the workers, if any, once every page is converted (the process making the
        pages' folders may go on while MkDocs writes them: either makes a folder the other
        has made)."""
        if self.ahead is not None:
            self.ahead.stop()

    def close(self) -> None:
        """Stops every process this converter started; the next build starts afresh."""
        if self.ahead is not None:
            self.ahead.stop()
            self.ahead.close()
        self.ahead = None
        self._started = False


def forkable() -> bool:
    """Whether this system forks processes safely: it has ``fork``, and is not macOS (whose
    system libraries may fail in a forked child)."""
    return "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"


def jobs_for(jobs: int | None) -> int:
    """How many processes may convert pages: ``jobs`` if given, else the cores the build may
    run on (at most `MOST_JOBS`); one where workers cannot be forked safely (see `forkable`,
    or another thread runs in the build: a child forked then may wait forever on a lock the
    thread held)."""
    if not forkable() or threading.active_count() > 1:
        return 1
    if jobs is not None:
        return jobs
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this system
        cores = os.cpu_count() or 1
    return max(1, min(cores, MOST_JOBS))


class GeneratedPage(Page):
    """A page of the plugin's section, rendered by its build's `SharedMarkdown`."""

    def __init__(self, file: File, config: MkDocsConfig, converter: SharedMarkdown) -> None:
        super().__init__(None, file, config)
        self.converter = converter

    def render(self, config: MkDocsConfig, files: Files) -> None:
        """What ``Page.render`` does, with the shared converter for a new one, or the HTML a
        worker made of the same Markdown."""
        if self.markdown is None:
            raise RuntimeError("`markdown` field hasn't been set (via `read_source`)")
        rendered = self.converter.converted_ahead(self, config, files)
        if rendered is not None:
            for record in rendered.records:
                logging.getLogger(record.name).handle(record)
        else:
            rendered = self.converter.convert(self, self.markdown, config, files)
        extension = self.converter.extension
        extension.placed, extension.tables = rendered.placed, rendered.tables
        self.content = rendered.content
        self.toc = get_toc(rendered.toc_tokens)
        self._title_from_render = rendered.title
        self.present_anchor_ids = rendered.anchors
        if rendered.links_to_anchors is not None:
            self.links_to_anchors = {
                files.src_uris[uri]: found for uri, found in rendered.links_to_anchors.items()
            }


#: What forked workers do: set in the build just before they are forked, the pages and what
#: to make of each.
_WORK: tuple[Sequence[Page], Callable[[Page], Any]] | None = None


class Ahead:
    """Worker processes making something of a build's generated pages from the last one
    backwards (converting them, see `SharedMarkdown`; putting them through the theme, see
    ``site/theming.py``), while the build does the same from the first one forwards.

    The list is shared out by two numbers in shared memory, under one lock: ``front``, the
    first page the build has not yet taken for itself, and ``back``, the first page a worker
    has taken. A worker takes the pages ``[max(front, back - size), back)`` at a time while
    any are left between them, and writes what it made of them to a file of its own (a
    pipe would stall it until the build reads, and the build reads only once it reaches the
    workers' pages). The build takes each page it reaches below ``back`` for itself; the
    first time it reaches one at or above ``back``, where the workers' pages begin, no page
    is left to take: it waits for the workers to finish the pages they have (one chunk at
    most) and reads their files as it goes on.
    """

    def __init__(
        self,
        index: dict[str, int],
        folder: Path,
        lock: Any,
        front: Any,
        back: Any,
        workers: Sequence[multiprocessing.process.BaseProcess],
        maker: multiprocessing.process.BaseProcess | None,
        done: str,
    ) -> None:
        #: Each page's place in the list, by its ``src_uri``.
        self.index = index
        self.folder = folder
        self.lock, self.front, self.back = lock, front, back
        self.workers = workers
        #: The process making the folders the generated pages are written to, if any.
        self.maker = maker
        #: What the workers do to a page, as the build's debug log says it.
        self.done = done
        #: Once the workers are done: the first place of each file they wrote, its last
        #: place (excluded) and its path, in order.
        self.made: list[tuple[int, int, Path]] | None = None
        #: The file last read, and what it holds.
        self.read: tuple[int, list[tuple[Any, list[logging.LogRecord]] | None]] = (-1, [])
        #: How many pages the build took as the workers made them (the caller counts them,
        #: as only it knows whether what a worker made is still right).
        self.taken = 0
        self.pages = len(index)
        self._removal = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)

    @classmethod
    def start(
        cls,
        pages: Sequence[Page],
        make: Callable[[Page], Any],
        workers: int,
        *,
        folders: Sequence[str] = (),
        done: str,
    ) -> Ahead:
        """Forks ``workers`` processes, each making ``make(page)`` of the pages it takes
        (what it returns must pickle), and one more making ``folders``, if any."""
        global _WORK
        context = multiprocessing.get_context("fork")
        folder = Path(tempfile.mkdtemp(prefix="migdocs-pages-"))
        lock = context.Lock()
        front, back = context.RawValue("q", 0), context.RawValue("q", len(pages))
        size = max(4, min(32, len(pages) // (16 * (workers + 1))))
        _WORK = (pages, make)
        started: list[multiprocessing.process.BaseProcess] = []
        maker = None
        try:
            for _ in range(workers):
                worker = context.Process(
                    target=_work_ahead, args=(folder, lock, front, back, size), daemon=True
                )
                worker.start()
                started.append(worker)
            if folders:
                maker = context.Process(target=_make_folders, args=(folders,), daemon=True)
                maker.start()
        except OSError:  # the workers started so far stop at once, their files removed
            front.value = back.value
            _ended(started)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            _WORK = None  # the workers have their copy
        index = {page.file.src_uri: place for place, page in enumerate(pages)}
        return cls(index, folder, lock, front, back, started, maker, done)

    def take(self, page: Page) -> tuple[Any, list[logging.LogRecord]] | None:
        """What a worker made of ``page``, and what it logged meanwhile; ``None`` when the
        build is to make it itself: no worker took it (none will now), or the worker failed."""
        place = self.index.get(page.file.src_uri)
        if place is None:
            return None
        if self.made is None:
            if not self.lock.acquire(timeout=LOCK_WAIT):  # a worker killed holding it
                self.made = []
                return None
            try:
                if place < self.back.value:
                    self.front.value = max(self.front.value, place + 1)
                    return None
                self.front.value = self.back.value  # none left to take
            finally:
                self.lock.release()
            self._finish()
        assert self.made is not None
        found = bisect.bisect_right(self.made, place, key=lambda made: made[0]) - 1
        if found < 0 or place >= self.made[found][1]:
            return None  # a worker died before writing it
        start, _, path = self.made[found]
        if self.read[0] != start:
            try:
                self.read = (start, pickle.loads(path.read_bytes()))
            except Exception as error:
                _LOG.debug(f"migdocs: {path} unreadable ({error!r}): making its pages")
                return None
        return self.read[1][place - start]

    def _finish(self) -> None:
        """Waits for the workers, and notes the files they wrote."""
        _ended(self.workers)
        made = []
        for path in self.folder.glob("*-*.pickle"):
            start, stop = path.stem.split("-")
            made.append((int(start), int(stop), path))
        self.made = sorted(made)

    def stop(self) -> None:
        """Stops the workers (a build that failed may leave them working) and removes their
        files."""
        if self.lock.acquire(timeout=LOCK_WAIT):
            self.front.value = self.back.value
            self.lock.release()
        _ended(self.workers)
        if self._removal.alive:
            self._removal()
            _LOG.debug(
                f"migdocs: {self.taken} of {self.pages} generated pages {self.done} by "
                f"{len(self.workers)} worker process(es)"
            )

    def close(self) -> None:
        """Waits for the process making the pages' folders (done long before)."""
        if self.maker is not None:
            _ended([self.maker])


def _ended(processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """Waits for ``processes`` to end, each for `LOCK_WAIT` at most, then kills it: a worker
    stuck in a plugin's hook costs the build its pages, not the build itself."""
    for process in processes:
        process.join(timeout=LOCK_WAIT)
        if process.is_alive():
            process.kill()
            process.join()


class _Kept(logging.Handler):
    """A worker's log, kept to be logged by the build: each record with its message made."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        made = logging.makeLogRecord(record.__dict__)
        made.msg, made.args, made.exc_info = self.format(record), None, None
        self.records.append(made)


_KEPT: _Kept | None = None


def _keep_log() -> _Kept:
    """In a worker: what is logged goes to one `_Kept`, not to the build's handlers."""
    global _KEPT
    if _KEPT is None:
        _KEPT = _Kept()
        for logger in logging.root.manager.loggerDict.values():
            if isinstance(logger, logging.Logger):
                logger.handlers = []
                logger.propagate = True
        logging.root.handlers = [_KEPT]
    return _KEPT


def _make_folders(folders: list[str]) -> None:
    """In a process of its own: the folders the generated pages are written to, made while
    the pages are converted (MkDocs makes each as it writes its page: where the file system
    makes them slowly, a millisecond each, that is the build's time)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for folder in folders:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            return  # MkDocs will say why as it writes the page


def _work_ahead(folder: Path, lock: Any, front: Any, back: Any, size: int) -> None:
    """In a worker: takes pages from the back of the list, ``size`` at a time, while any are
    left, and writes what it made of them and what it logged meanwhile (``None`` for a page
    that failed: the build will make it, and fail, itself) to ``folder``, a file a chunk."""
    assert _WORK is not None
    pages, make = _WORK
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the build stops, then stops its workers
    kept = _keep_log()
    while True:
        with lock:
            stop = back.value
            start = max(front.value, stop - size)
            if start >= stop:
                return
            back.value = start
        made: list[tuple[Any, list[logging.LogRecord]] | None] = []
        for page in pages[start:stop]:
            kept.records = []
            try:
                made.append((make(page), kept.records))
            except Exception:
                made.append(None)
        part = folder / f"{start}-{stop}.part"
        try:
            part.write_bytes(pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL))
            part.rename(folder / f"{start}-{stop}.pickle")
        except Exception:  # a full disk, something a plugin put in a page that cannot be
            return  # sent: the build makes what is left itself
