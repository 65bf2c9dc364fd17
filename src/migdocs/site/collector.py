"""The garbage collector during a build: paused while the plugin loads the history and makes
its pages, then kept off what they made until the build ends.

Loading a long history makes millions of objects that live as long as the build: the
catalog, every script's statements, the checks' findings, the schema, the pages and their
fragments. CPython's cyclic collector runs a full pass over everything alive each time the
objects that survived its younger passes grow by a quarter; while they grow from nothing to
millions, it reads them all again and again, for none of them is garbage (6 s of the 17 s
that loading 10,000 migrations took, and next to no garbage found). So the collector is
paused while they are made (`pause`); once they are made it is resumed with them frozen
(``gc.freeze``: its passes over MkDocs' pages then leave them out), and when the build ends,
well or not, they are handed back to it (`resume`). What little cyclic garbage loading
leaves (60,000 objects at 10,000 migrations) is collected then.
"""

from __future__ import annotations

import gc


class Collector:
    """The collector's state across one build: pause, freeze, resume (each at most once)."""

    def __init__(self) -> None:
        #: Whether the collector ran before `pause` (a caller may have turned it off).
        self.was_enabled = False
        self.paused = False
        self.frozen = False

    def pause(self) -> None:
        """Stops the collector's automatic passes."""
        self.resume()  # a build that ended without telling us
        self.was_enabled = gc.isenabled()
        gc.disable()
        self.paused = True

    def freeze(self) -> None:
        """Keeps what is alive now out of the collector's passes, and restarts them."""
        if not self.paused:
            return
        gc.freeze()
        self.frozen = True
        self._restart()

    def resume(self) -> None:
        """Gives the collector back everything, as it was before `pause`."""
        if self.frozen:
            self.frozen = False
            gc.unfreeze()
        self._restart()

    def _restart(self) -> None:
        if self.paused:
            self.paused = False
            if self.was_enabled:
                gc.enable()
