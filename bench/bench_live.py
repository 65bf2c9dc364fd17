"""The live snapshot against `pg_dump --schema-only` of the same database, in one run.

For each size N, a database of N tables is built on an embedded PostgreSQL 18 (each table:
serial primary key, a unique varchar, a text, a timestamptz with a default, a foreign key to
the previous table, and a two-column index — about ten objects a table). Then, best of
three each:

- migdocs: a new connection and a full `read_snapshot`, in-process (what `audit` does for
  each live database);
- pg_dump: `pg_dump --schema-only -f /dev/null` of the same database, from the same wheel.

Usage: python -m bench.bench_live [N ...]   (default 1000 10000)

Prints a Markdown table and writes bench/results/live.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from migdocs.pg import ScratchServer, read_snapshot
from migdocs.pg.server import _embedded_bin_dir

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = 3


def populate(server: ScratchServer, url: str, count: int) -> None:
    with server.connect(url) as conn:
        for number in range(count):
            parent = f", parent_id int REFERENCES t{number - 1} (id)" if number else ""
            conn.execute(
                f"CREATE TABLE t{number} (id serial PRIMARY KEY, code varchar(64) NOT NULL "
                f"UNIQUE, note text, created_at timestamptz NOT NULL DEFAULT now(){parent})"
            )
            conn.execute(f"CREATE INDEX t{number}_note_idx ON t{number} (note, created_at)")
        conn.execute("ANALYZE")


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1000, 10000]
    pg_dump = _embedded_bin_dir() / "pg_dump"
    rows = []
    print("| tables | objects | migdocs snapshot | pg_dump --schema-only | ratio |")
    print("|---|---|---|---|---|")
    with ScratchServer.embedded() as server:
        run_as = server._cluster.run_as if server._cluster is not None else {}
        for size in sizes:
            url = server.create_database()
            populate(server, url, size)
            ours = []
            objects = 0
            for _ in range(RUNS):
                start = time.perf_counter()
                with server.connect(url) as conn:
                    objects = len(read_snapshot(conn))
                ours.append(time.perf_counter() - start)
            theirs = []
            for _ in range(RUNS):
                start = time.perf_counter()
                subprocess.run(
                    [str(pg_dump), "--schema-only", "-f", "/dev/null", "-d", server.url(url)],
                    check=True,
                    capture_output=True,
                    **run_as,
                )
                theirs.append(time.perf_counter() - start)
            server.drop_database(url)
            best, floor = min(ours), min(theirs)
            rows.append({"tables": size, "objects": objects, "migdocs": best, "pg_dump": floor})
            print(
                f"| {size:,} | {objects:,} | {best:.2f} s | {floor:.2f} s | {best / floor:.2f}× |"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "live.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
