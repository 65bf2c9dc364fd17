"""``python -m migdocs``."""

from __future__ import annotations

import sys

from migdocs.cli import main

if __name__ == "__main__":
    sys.exit(main())
